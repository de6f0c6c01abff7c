import roles from '../../infra/roles.json';

/**
 * Which of the deployment's role assignments grants an action: the app names it when Azure refuses
 * one, so the operator knows what to grant where. Read from infra/roles.json, the file the Bicep
 * deploys the roles from (one source: the advice cannot drift from what `azd up` assigns).
 */
interface RoleDefinition {
  roleName: string;
  actions?: string[];
  notActions?: string[];
  dataActions?: string[];
  notDataActions?: string[];
}

interface Assignment {
  name: string;
  principal: string;
  role: string;
  scope: string;
}

const definitions: Record<string, RoleDefinition> = { ...roles.builtInRoles, ...roles.customRoles };
const assignments: Assignment[] = roles.roleAssignments;

/** Azure's action patterns: `*` matches any run of characters, case-insensitively. */
export function actionPatternMatches(pattern: string, action: string): boolean {
  const expression = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\/]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${expression}$`, 'i').test(action);
}

function grants(definition: RoleDefinition, action: string): boolean {
  const allowed = (list?: string[]): boolean => (list ?? []).some((pattern) => actionPatternMatches(pattern, action));
  return (allowed(definition.actions) && !allowed(definition.notActions)) || (allowed(definition.dataActions) && !allowed(definition.notDataActions));
}

/** The resource type each scope of roles.json stands for, to pick the assignment an action belongs on. */
const SCOPE_TYPES: Record<string, RegExp> = {
  vault: /^Microsoft\.KeyVault\//i,
  challengeContainer: /^Microsoft\.Storage\//i,
  stateContainer: /^Microsoft\.Storage\//i,
  gateway: /^Microsoft\.Network\/applicationGateways\//i,
  gatewayLinkedResource: /^Microsoft\.(Network\/(publicIPAddresses|virtualNetworks|ApplicationGatewayWebApplicationFirewallPolicies)|ManagedIdentity\/userAssignedIdentities)\//i,
  resourceGroup: /^Microsoft\.Network\/locations\//i,
};

/** Readable names of the scopes, for messages. */
const SCOPE_NAMES: Record<string, string> = {
  vault: 'the Key Vault (KeyVaultBaseUrl)',
  challengeContainer: 'the challenge container (BlobContainerUrl)',
  stateContainer: 'the state container (StateContainerUrl)',
  gateway: 'the Application Gateway',
  gatewayLinkedResource: 'the resource the gateway references',
  resourceGroup: "the gateway's resource group",
};

/** Scopes assigned once per resource (roles.json `forEach`): the advice names the one refused, when Azure said which. */
const PER_RESOURCE_SCOPES = new Set(['gatewayLinkedResource']);

export interface RoleAdvice {
  roleName: string;
  scope: string;
  assignment: string;
}

/**
 * The role (and where) that the deployment assigns to `principal` for `action`, if any does.
 * `resourceId`: the resource Azure refused it on; named in the scope of a per-resource assignment
 * (the gateway linker: one on each subnet, public IP, identity and WAF policy the gateway references).
 * `scopeKind`: the roles.json scope of the resource called, where the caller knows it and Azure's
 * answer does not say (Storage's 403: the challenge or the state container).
 */
export function roleFor(action: string, principal = 'app', resourceId?: string, scopeKind?: string): RoleAdvice | undefined {
  const candidates = assignments.filter((a) => a.principal === principal && definitions[a.role] && grants(definitions[a.role], action));
  const best = (scopeKind ? candidates.find((a) => a.scope === scopeKind) : undefined) ?? candidates.find((a) => SCOPE_TYPES[a.scope]?.test(action)) ?? candidates[0];
  if (!best) return undefined;
  const name = SCOPE_NAMES[best.scope] ?? best.scope;
  const scope = PER_RESOURCE_SCOPES.has(best.scope) && resourceId ? `${name}: ${resourceId}` : name;
  return { roleName: definitions[best.role].roleName, scope, assignment: best.name };
}

/**
 * The action a 403 names. Key Vault: "Action: '...'"; Resource Manager: "...perform action '...'
 * over scope '...'", and for a linked check "...has permission to perform action 'A' on scope
 * '...'; however, it does not have permission to perform action(s) 'B' on the linked scope(s)":
 * the refused one is the last named.
 */
export function deniedAction(message: string): string | undefined {
  const named = [...message.matchAll(/action(?:\(s\))?:? '([^']+)'/gi)].map((m) => m[1]);
  return named.length ? named[named.length - 1].split(',')[0].trim() : undefined;
}

/**
 * The resource a 403 refused the action on: for a linked check the first linked scope (the one of
 * the action `deniedAction` reads: "...action(s) 'B1,B2' on the linked scope(s) 'S1,S2'
 * (respectively)"), else the scope of "...perform action 'A' over scope 'S'".
 */
export function deniedScope(message: string): string | undefined {
  const linked = /on the linked scope\(s\) '([^']+)'/i.exec(message);
  if (linked) return linked[1].split(',')[0].trim();
  return /over scope '([^']+)'/i.exec(message)?.[1];
}

/** What to grant, in words, for a refused action (on `resourceId` when Azure named it); undefined when the deployment assigns no role for it. */
export function grantAdvice(action: string, principal = 'app', resourceId?: string, scopeKind?: string): string | undefined {
  const role = roleFor(action, principal, resourceId, scopeKind);
  if (!role) return undefined;
  const who = principal === 'app' ? "the function app's identity" : "the gateway's identity";
  return `Grant ${who} the role '${role.roleName}' on ${role.scope} (assignment ${role.assignment} in infra/roles.json), then retry.`;
}

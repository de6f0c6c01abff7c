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
function matches(pattern: string, action: string): boolean {
  const expression = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\/]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${expression}$`, 'i').test(action);
}

function grants(definition: RoleDefinition, action: string): boolean {
  const allowed = (list?: string[]): boolean => (list ?? []).some((pattern) => matches(pattern, action));
  return (allowed(definition.actions) && !allowed(definition.notActions)) || (allowed(definition.dataActions) && !allowed(definition.notDataActions));
}

/** The resource type each scope of roles.json stands for, to pick the assignment an action belongs on. */
const SCOPE_TYPES: Record<string, RegExp> = {
  vault: /^Microsoft\.KeyVault\//i,
  challengeContainer: /^Microsoft\.Storage\//i,
  gateway: /^Microsoft\.Network\/applicationGateways\//i,
  publicIp: /^Microsoft\.Network\/publicIPAddresses\//i,
  virtualNetwork: /^Microsoft\.Network\/virtualNetworks\//i,
  gatewayIdentity: /^Microsoft\.ManagedIdentity\//i,
  resourceGroup: /^Microsoft\.Network\/locations\//i,
};

/** Readable names of the scopes, for messages. */
const SCOPE_NAMES: Record<string, string> = {
  vault: 'the Key Vault (KeyVaultBaseUrl)',
  challengeContainer: 'the challenge container (BlobContainerUrl)',
  gateway: 'the Application Gateway',
  publicIp: "the gateway's public IP address",
  virtualNetwork: "the gateway's virtual network",
  gatewayIdentity: "the gateway's user-assigned identity",
  resourceGroup: "the gateway's resource group",
};

export interface RoleAdvice {
  roleName: string;
  scope: string;
  assignment: string;
}

/** The role (and where) that the deployment assigns to `principal` for `action`, if any does. */
export function roleFor(action: string, principal = 'app'): RoleAdvice | undefined {
  const candidates = assignments.filter((a) => a.principal === principal && definitions[a.role] && grants(definitions[a.role], action));
  const best = candidates.find((a) => SCOPE_TYPES[a.scope]?.test(action)) ?? candidates[0];
  if (!best) return undefined;
  return { roleName: definitions[best.role].roleName, scope: SCOPE_NAMES[best.scope] ?? best.scope, assignment: best.name };
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

/** What to grant, in words, for a refused action; undefined when the deployment assigns no role for it. */
export function grantAdvice(action: string, principal = 'app'): string | undefined {
  const role = roleFor(action, principal);
  if (!role) return undefined;
  const who = principal === 'app' ? "the function app's identity" : "the gateway's identity";
  return `Grant ${who} the role '${role.roleName}' on ${role.scope} (assignment ${role.assignment} in infra/roles.json), then retry.`;
}

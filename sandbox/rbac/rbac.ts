import { Assignment, clonePermissions, decide, Decision, definitionsOf, PermissionKind, RoleAssignmentEntry, RoleDefinition, roleFile, RoleFile, roleGrants } from './model';
import { OPERATOR_ASSIGNMENTS, OPERATOR_OBJECT_ID, OPERATOR_ROLES } from './operator';

/**
 * The sandbox's role assignments, loaded from infra/roles.json with each scope kind mapped to the
 * sandbox's resource ids, plus the operator's (operator.ts). Emulators ask `check`; tests take one
 * action out of a role or remove one assignment, and put everything back with `restore`.
 */

/** The sandbox's resource ids for the scope kinds roles.json names (the Bicep symbols). */
export interface SandboxScopes {
  subscription: string;
  /** Resource group of the app's resources (main.bicep's target). */
  appResourceGroup: string;
  /** Resource group of the gateway (gatewayAccess.bicep's target). */
  gatewayResourceGroup: string;
  hostStorage: string;
  challengeAccount: string;
  challengeContainer: string;
  /** The private state container, in the challenge account (roles.json `stateContainer`). */
  stateContainer: string;
  vault: string;
  insights: string;
  scheduler: string;
  gateway: string;
  /**
   * Every resource a gateway PUT links (its subnets, public IPs, user-assigned identities and WAF
   * policies, in any resource group or subscription): the scopes of `gatewayLinkedAccess` on the
   * seeded gateway (src/domain/gatewayLinks.ts), one `onLinkedResource` assignment on each.
   */
  gatewayLinkedResources: string[];
  /** The Azure DNS zones the app writes `_acme-challenge` TXT record sets in (sandbox/emulators/dnsZones.ts): one `onDnsZone` assignment on each. */
  dnsZones: string[];
}

/**
 * The lists a roles.json `forEach` names (the Bicep parameter its loop runs over), each element
 * standing for the entry's scope kind: `applicationGatewayLinkedResourceIds` -> `gatewayLinkedResources`,
 * `dnsZoneResourceIds` -> `dnsZones`.
 */
const FOR_EACH: Record<string, (scopes: SandboxScopes) => string[]> = {
  applicationGatewayLinkedResourceIds: (scopes) => scopes.gatewayLinkedResources,
  dnsZoneResourceIds: (scopes) => scopes.dnsZones,
};

export interface Principal {
  /** `app`, `gateway` (roles.json principals) or `operator`. */
  key: string;
  objectId: string;
  clientId?: string;
}

export type RbacService = 'keyvault' | 'arm' | 'storage' | 'gateway';

export interface Denial {
  service: RbacService;
  /** Principal key, or undefined for an object id the sandbox does not know. */
  principal?: string;
  objectId: string;
  operation: string;
  kind: PermissionKind;
  scope: string;
  /** The error code the service answered with (ForbiddenByRbac, AuthorizationFailed, LinkedAuthorizationFailed, AuthorizationPermissionMismatch, or the gateway's listener error). */
  code: string;
}

/** Something a test may take away to see the app fail as it would on Azure. */
export type Grant =
  | { kind: 'action'; role: string; action: string; permission: PermissionKind }
  /** `scope`: the resource id of one assignment of a `forEach` entry (undefined for a single assignment). */
  | { kind: 'assignment'; name: string; principal: string; role: string; scopeKind: string; scope?: string };

export interface RbacOptions {
  scopes: SandboxScopes;
  principals: Principal[];
  /** Default true; false lets every authenticated call through (the sandbox before role enforcement). */
  enforce?: boolean;
  file?: RoleFile;
}

export class Rbac {
  readonly scopes: SandboxScopes;
  enforce: boolean;
  private readonly file: RoleFile;
  private readonly principals: Principal[];
  private readonly baseDefinitions: Map<string, RoleDefinition>;
  private readonly baseAssignments: Assignment[];
  private definitions: Map<string, RoleDefinition>;
  private current: Assignment[];
  private readonly denied: Denial[] = [];

  constructor(options: RbacOptions) {
    this.file = options.file ?? roleFile;
    this.scopes = options.scopes;
    this.enforce = options.enforce ?? true;
    this.principals = [...options.principals];
    if (!this.principals.some((p) => p.key === 'operator')) this.principals.push({ key: 'operator', objectId: OPERATOR_OBJECT_ID, clientId: OPERATOR_OBJECT_ID });
    this.baseDefinitions = definitionsOf(this.file);
    for (const role of OPERATOR_ROLES) if (!this.baseDefinitions.has(role.key)) this.baseDefinitions.set(role.key, role);
    this.baseAssignments = [
      ...this.file.roleAssignments.flatMap((entry) =>
        this.scopesOf(entry).map((scope) => ({ name: entry.name, principal: entry.principal, role: entry.role, scope, enforced: entry.enforcedInSandbox })),
      ),
      ...OPERATOR_ASSIGNMENTS.map((entry) => ({ name: entry.name, principal: 'operator', role: entry.role, scope: this.scopes[entry.scope], enforced: true })),
    ];
    this.definitions = cloneDefinitions(this.baseDefinitions);
    this.current = [...this.baseAssignments];
  }

  /** The resource id a roles.json scope kind stands for here (`resourceGroup` is the target group of the Bicep file). */
  resolveScope(kind: string, file = 'main.bicep'): string {
    if (kind === 'resourceGroup') return file.includes('gatewayAccess') ? this.scopes.gatewayResourceGroup : this.scopes.appResourceGroup;
    const scope = (this.scopes as unknown as Record<string, unknown>)[kind];
    if (typeof scope !== 'string') throw new Error(`roles.json names scope "${kind}", which the sandbox does not map to a resource`);
    return scope;
  }

  /** The resource ids of a roles.json entry's assignments: one, or one per element of its `forEach` list. */
  scopesOf(entry: RoleAssignmentEntry): string[] {
    if (!entry.forEach) return [this.resolveScope(entry.scope, entry.file)];
    const list = FOR_EACH[entry.forEach];
    if (!list) throw new Error(`roles.json entry ${entry.name} loops over "${entry.forEach}", which the sandbox does not map to a list of resources`);
    return [...list(this.scopes)];
  }

  principal(key: string): Principal {
    const principal = this.principals.find((p) => p.key === key);
    if (!principal) throw new Error(`no principal ${key}`);
    return principal;
  }

  principalOf(objectId: string | undefined): Principal | undefined {
    return objectId ? this.principals.find((p) => p.objectId.toLowerCase() === objectId.toLowerCase()) : undefined;
  }

  /** Does the principal with this object id hold the operation at the scope? (Unknown object ids hold nothing.) */
  check(objectId: string | undefined, operation: string, kind: PermissionKind, scope: string): Decision {
    if (!this.enforce) return { allowed: true };
    const principal = this.principalOf(objectId);
    if (!principal) return { allowed: false };
    return decide(this.definitions, this.current, principal.key, operation, kind, scope);
  }

  /** Records a refusal an emulator answered (tests read them with `denials()`). */
  recordDenial(denial: Omit<Denial, 'principal'>): void {
    this.denied.push({ ...denial, principal: this.principalOf(denial.objectId)?.key });
  }

  denials(): Denial[] {
    return [...this.denied];
  }

  clearDenials(): void {
    this.denied.length = 0;
  }

  /**
   * Takes one operation away from a role: removed from its (Data)Actions where listed as such, or,
   * where a wildcard grants it (`Microsoft.KeyVault/vaults/certificates/*`), subtracted with
   * Not(Data)Actions as Azure evaluates them. Returns a function that puts it back.
   */
  withoutAction(roleKey: string, operation: string): () => void {
    const role = this.definitions.get(roleKey);
    if (!role) throw new Error(`no role ${roleKey} (roles: ${[...this.definitions.keys()].join(', ')})`);
    const kind: PermissionKind | undefined = roleGrants(role, operation, 'action') ? 'action' : roleGrants(role, operation, 'dataAction') ? 'dataAction' : undefined;
    if (!kind) throw new Error(`role ${roleKey} does not grant ${operation}`);
    const list = kind === 'action' ? role.actions : role.dataActions;
    const index = list.findIndex((entry) => entry.toLowerCase() === operation.toLowerCase());
    if (index >= 0) {
      const [removed] = list.splice(index, 1);
      return () => {
        if (!list.includes(removed)) list.splice(Math.min(index, list.length), 0, removed);
      };
    }
    const subtract = kind === 'action' ? role.notActions : role.notDataActions;
    subtract.push(operation);
    return () => {
      const at = subtract.indexOf(operation);
      if (at >= 0) subtract.splice(at, 1);
    };
  }

  /**
   * Removes the role assignments of a roles.json entry by its name (the Bicep resource's symbolic
   * name): all of them (a `forEach` entry has one per resource), or only the one at `scope` (a
   * resource id, compared case-insensitively as ARM compares ids). Returns a function that puts them back.
   */
  removeAssignment(name: string, scope?: string): () => void {
    const named = this.current.filter((a) => a.name === name);
    if (named.length === 0) throw new Error(`no role assignment ${name} (assignments: ${[...new Set(this.current.map((a) => a.name))].join(', ')})`);
    const removed = scope === undefined ? named : named.filter((a) => a.scope.toLowerCase() === scope.toLowerCase());
    if (removed.length === 0) throw new Error(`no role assignment ${name} at ${scope} (it is at: ${named.map((a) => a.scope).join(', ')})`);
    this.current = this.current.filter((a) => !removed.includes(a));
    return () => {
      for (const assignment of removed) if (!this.current.includes(assignment)) this.current.push(assignment);
    };
  }

  /** Every role and assignment as roles.json defines them again; denials are kept. */
  restore(): void {
    this.definitions = cloneDefinitions(this.baseDefinitions);
    this.current = [...this.baseAssignments];
  }

  assignments(): Assignment[] {
    return [...this.current];
  }

  definition(key: string): RoleDefinition | undefined {
    const role = this.definitions.get(key);
    return role && { ...role, ...clonePermissions(role) };
  }

  /**
   * What a test can take away from the app and the gateway one at a time: each action of the custom
   * roles, and each role assignment the sandbox enforces (roles.json `enforcedInSandbox`); a
   * `forEach` entry gives one grant per resource, with its resource id as `scope`.
   */
  grants(): Grant[] {
    const grants: Grant[] = [];
    for (const [key, role] of Object.entries(this.file.customRoles)) {
      for (const action of role.actions) grants.push({ kind: 'action', role: key, action, permission: 'action' });
      for (const action of role.dataActions) grants.push({ kind: 'action', role: key, action, permission: 'dataAction' });
    }
    for (const entry of this.file.roleAssignments.filter((a) => a.enforcedInSandbox)) {
      const grant = { kind: 'assignment', name: entry.name, principal: entry.principal, role: entry.role, scopeKind: entry.scope } as const;
      if (!entry.forEach) grants.push(grant);
      else for (const scope of this.scopesOf(entry)) grants.push({ ...grant, scope });
    }
    return grants;
  }
}

function cloneDefinitions(definitions: ReadonlyMap<string, RoleDefinition>): Map<string, RoleDefinition> {
  return new Map([...definitions].map(([key, role]) => [key, { ...role, ...clonePermissions(role) }]));
}

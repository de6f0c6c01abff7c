import roleFileJson from '../../infra/roles.json';

/**
 * Azure RBAC as the sandbox evaluates it, from infra/roles.json (the file the Bicep loads). Pure:
 * no I/O, no clock. The semantics, each from Microsoft Learn:
 *
 * - A role's effective permissions are Actions minus NotActions, and DataActions minus
 *   NotDataActions; NotActions "is not a deny": another role that grants the action still grants it
 *   ("Azure role definitions", NotActions / NotDataActions).
 * - Actions and DataActions are separate: `*` in Actions grants no data operation, so Owner cannot
 *   read a blob or a secret ("Azure role definitions", "Control and data actions").
 * - The wildcard `*` extends a permission to every operation string that matches it
 *   (`Microsoft.KeyVault/vaults/secrets/*`; a leading or middle `*` before `/read` matches any
 *   provider or resource type, as in Key Vault roles' `Microsoft.KeyVault/vaults/ * /read`); operation
 *   strings compare case-insensitively (resource provider operation names are case-insensitive, and
 *   built-in roles mix `Microsoft.Insights/Register/Action` with `.../register/action`).
 * - A role assigned at a scope applies to that scope and to every scope below it ("Understand scope
 *   for Azure RBAC": management group, subscription, resource group, resource; Key Vault objects and
 *   blob containers are scopes below their vault and account).
 */
export type PermissionKind = 'action' | 'dataAction';

export interface Permissions {
  actions: string[];
  notActions: string[];
  dataActions: string[];
  notDataActions: string[];
}

export interface RoleDefinition extends Permissions {
  /** Key in roles.json (builtInRoles or customRoles), e.g. `keyVaultSecretsUser`, `gatewayOperator`. */
  key: string;
  roleName: string;
  /** GUID of a built-in role; undefined for the custom roles (Bicep derives theirs). */
  id?: string;
  custom: boolean;
}

export interface RoleAssignmentEntry {
  name: string;
  file: string;
  principal: string;
  role: string;
  scope: string;
  condition?: string;
  /**
   * One assignment per element of this list (a Bicep `for` loop over a parameter): the scope kind
   * then names each element, e.g. `gatewayLinkedResource` for each of `applicationGatewayLinkedResourceIds`.
   */
  forEach?: string;
  why: string;
  enforcedInSandbox: boolean;
}

export interface RoleFile {
  builtInRoles: Record<string, Omit<RoleDefinition, 'key' | 'custom'> & { source: string; permissionsUnverified?: boolean }>;
  customRoles: Record<string, Omit<RoleDefinition, 'key' | 'custom' | 'id'> & { description: string; source: string }>;
  principals: Record<string, string>;
  roleAssignments: RoleAssignmentEntry[];
}

/** A role assignment with its scope resolved to a resource id. */
export interface Assignment {
  name: string;
  /** Principal key, e.g. `app`, `gateway`, `operator`. */
  principal: string;
  role: string;
  /** Resource id the role is assigned at, e.g. `/subscriptions/…/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv`. */
  scope: string;
  enforced: boolean;
}

export interface Decision {
  allowed: boolean;
  /** The assignment that grants the permission, when one does. */
  grantedBy?: Assignment;
}

export const roleFile = roleFileJson as unknown as RoleFile;

/** Every role definition of the file, built-in and custom, by key. */
export function definitionsOf(file: RoleFile): Map<string, RoleDefinition> {
  const definitions = new Map<string, RoleDefinition>();
  for (const [key, role] of Object.entries(file.builtInRoles)) definitions.set(key, { ...clonePermissions(role), key, roleName: role.roleName, id: role.id, custom: false });
  for (const [key, role] of Object.entries(file.customRoles)) definitions.set(key, { ...clonePermissions(role), key, roleName: role.roleName, custom: true });
  return definitions;
}

export function clonePermissions(permissions: Permissions): Permissions {
  return {
    actions: [...permissions.actions],
    notActions: [...permissions.notActions],
    dataActions: [...permissions.dataActions],
    notDataActions: [...permissions.notDataActions],
  };
}

const patternCache = new Map<string, RegExp>();

/** Whether an Actions/DataActions entry (with `*` wildcards) covers an operation, case-insensitively. */
export function operationMatches(pattern: string, operation: string): boolean {
  let regex = patternCache.get(pattern);
  if (!regex) {
    const body = pattern
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*');
    regex = new RegExp(`^${body}$`, 'i');
    patternCache.set(pattern, regex);
  }
  return regex.test(operation);
}

/** Whether one role grants the operation: allowed by its (Data)Actions and not removed by its Not(Data)Actions. */
export function roleGrants(role: Permissions, operation: string, kind: PermissionKind): boolean {
  const [allow, remove] = kind === 'action' ? [role.actions, role.notActions] : [role.dataActions, role.notDataActions];
  return allow.some((pattern) => operationMatches(pattern, operation)) && !remove.some((pattern) => operationMatches(pattern, operation));
}

const normalise = (scope: string): string => scope.toLowerCase().replace(/\/+$/, '');

/** Whether an assignment at `assignedAt` applies to `scope`: the same scope or one below it (`/` is the root). */
export function scopeCovers(assignedAt: string, scope: string): boolean {
  const parent = normalise(assignedAt);
  const child = normalise(scope);
  return parent === '' || child === parent || child.startsWith(`${parent}/`);
}

/** Does `principal` hold `operation` (an action or a data action) at `scope`? */
export function decide(
  definitions: ReadonlyMap<string, RoleDefinition>,
  assignments: readonly Assignment[],
  principal: string,
  operation: string,
  kind: PermissionKind,
  scope: string,
): Decision {
  for (const assignment of assignments) {
    if (assignment.principal !== principal || !scopeCovers(assignment.scope, scope)) continue;
    const role = definitions.get(assignment.role);
    if (role && roleGrants(role, operation, kind)) return { allowed: true, grantedBy: assignment };
  }
  return { allowed: false };
}

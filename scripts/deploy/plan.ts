import roles from '../../infra/roles.json';
import { gatewayLinkedAccess, parseResourceId } from '../../src/domain/gatewayLinks';
import { actionPatternMatches } from '../../src/domain/permissions';

/**
 * The deployment plan, pure: what infra/main.bicep is given (the parameters the preprovision hook
 * derives from the gateway) and what it creates, assigns and leaves. The hook runs the first half;
 * test/infra renders landing zones with the second half and checks the rights against the role
 * definitions. The render mirrors main.bicep's expressions, which test/infra pins in the Bicep text
 * (no Bicep compiler runs here).
 */

/** The resource types a gateway PUT links and linkedResourceAccess.bicep can assign on (lower case). */
export const LINKABLE_TYPES = [
  'microsoft.network/virtualnetworks/subnets',
  'microsoft.network/publicipaddresses',
  'microsoft.managedidentity/userassignedidentities',
  'microsoft.network/applicationgatewaywebapplicationfirewallpolicies',
];

export class PlanError extends Error {}

/** main.bicep's stateContainerName default: the private container for claims, locks and the gateway writer's inbox. */
export const STATE_CONTAINER_NAME = 'appgw-certbot-state';

export interface GatewayView {
  id?: string;
  location?: string;
  identity?: { userAssignedIdentities?: Record<string, unknown> };
  properties?: Record<string, unknown>;
}

/** Resource group id (`/subscriptions/{s}/resourceGroups/{g}`) of a resource id, lower-cased for comparison. */
export function groupOf(id: string): string {
  const group = /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+$/i.exec(id);
  if (group) return id;
  const parsed = parseResourceId(id);
  if (!parsed) throw new PlanError(`"${id}" is not an Azure resource id (/subscriptions/…/resourceGroups/…/providers/…)`);
  return `/subscriptions/${parsed.subscriptionId}/resourceGroups/${parsed.resourceGroup}`;
}

const sameId = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

/** A resource id of the given type, or a PlanError naming the setting. */
export function requireResourceId(setting: string, value: string | undefined, type: string): string {
  const parsed = value ? parseResourceId(value) : undefined;
  if (!value || !parsed) throw new PlanError(`${setting} must be a resource id (/subscriptions/…/resourceGroups/…/providers/${type}/…); got ${value ? `"${value}"` : 'nothing'}.`);
  if (parsed.type.toLowerCase() !== type.toLowerCase()) throw new PlanError(`${setting} must name a ${type}; "${value}" is a ${parsed.type}.`);
  return value;
}

/** Every resource a PUT of this gateway links to, each once, in the gateway's order. */
export function linkedResourceIds(gateway: GatewayView): string[] {
  const ids: string[] = [];
  for (const { scope } of gatewayLinkedAccess(gateway)) {
    const parsed = parseResourceId(scope);
    if (!parsed || !LINKABLE_TYPES.includes(parsed.type.toLowerCase())) throw new PlanError(`The gateway references ${scope}, which the deployment cannot grant the linked access check on.`);
    if (!ids.some((id) => sameId(id, scope))) ids.push(scope);
  }
  return ids;
}

/** The identity the gateway reads Key Vault with: the one named (it must be the gateway's), or its only user-assigned identity. */
export function gatewayIdentityId(gateway: GatewayView, named?: string): string {
  const identities = Object.keys(gateway.identity?.userAssignedIdentities ?? {});
  if (named) {
    if (!identities.some((id) => sameId(id, named))) throw new PlanError(`APPGW_IDENTITY_ID ${named} is not one of the gateway's identities (${identities.join(', ') || 'none'}).`);
    return named;
  }
  if (identities.length === 1) return identities[0];
  if (identities.length === 0) throw new PlanError('The gateway has no user-assigned identity: Key Vault certificates need one (Learn, "TLS termination with Key Vault certificates"). Add one to the gateway first.');
  throw new PlanError(`The gateway has ${identities.length} user-assigned identities; set APPGW_IDENTITY_ID to the one that reads Key Vault (${identities.join(', ')}).`);
}

export interface DeploymentParameters {
  environmentName: string;
  /** The subscription azd deploys to (the app's). */
  subscriptionId: string;
  location: string;
  resourceGroupName: string;
  applicationGatewayId: string;
  applicationGatewayLinkedResourceIds: string[];
  applicationGatewayIdentityId: string;
  existingKeyVaultId?: string;
  existingChallengeStorageAccountId?: string;
  challengeContainerName: string;
  /** The private state container beside it (main.bicep's stateContainerName; default appgw-certbot-state). */
  stateContainerName?: string;
  useDurableTaskScheduler?: boolean;
  /** The Azure DNS zones the app answers DNS-01 challenges in (main.bicep's dnsZoneResourceIds, split; none by default). */
  dnsZoneResourceIds?: string[];
}

/**
 * The app's group must be its own: `azd down` deletes the groups the deployment created, whole, and
 * declaring a group that already exists makes it "created" (azure-dev, createdResourceGroupsFromDeployment).
 * So it may hold nothing passed in as existing, and if it exists it must be this environment's.
 */
export function dedicatedGroupProblem(parameters: DeploymentParameters, existingGroupTags?: Record<string, string> | null): string | undefined {
  const appGroup = `/subscriptions/${parameters.subscriptionId}/resourceGroups/${parameters.resourceGroupName}`;
  const referenced = [
    parameters.applicationGatewayId,
    ...parameters.applicationGatewayLinkedResourceIds,
    parameters.applicationGatewayIdentityId,
    parameters.existingKeyVaultId,
    parameters.existingChallengeStorageAccountId,
    ...(parameters.dnsZoneResourceIds ?? []),
  ].filter((id): id is string => !!id);
  const inside = referenced.find((id) => sameId(groupOf(id), appGroup));
  if (inside) return `The app's resource group ${parameters.resourceGroupName} holds ${inside}, which was passed in as existing: \`azd down\` deletes that group whole. Choose another AZURE_APP_RESOURCE_GROUP (a new, dedicated group).`;
  if (existingGroupTags !== undefined && existingGroupTags !== null && existingGroupTags['azd-env-name'] !== parameters.environmentName) {
    return `The resource group ${parameters.resourceGroupName} already exists and was not created by environment ${parameters.environmentName} (its azd-env-name tag is ${existingGroupTags['azd-env-name'] ? `"${existingGroupTags['azd-env-name']}"` : 'missing'}): \`azd down\` would delete it whole. Choose a new group name.`;
  }
  return undefined;
}

export interface RenderedAssignment {
  /** The roles.json entry (the Bicep symbol; onLinkedResource for each linked resource, onDnsZone for each zone). */
  name: string;
  principal: 'app' | 'gateway';
  role: string;
  /** Resource id it is assigned at. */
  scope: string;
  /** Inside the app's group (removed with it) or outside (removed by the predown hook). */
  external: boolean;
}

export interface RenderedDeployment {
  /** Resource groups the deployment creates: what `azd down` deletes. */
  createdResourceGroups: string[];
  /** Resources the deployment creates (outside role assignments and definitions). */
  createdResources: string[];
  assignments: RenderedAssignment[];
  /** Custom role definitions with their assignable scopes. */
  roleDefinitions: { role: string; assignableScopes: string[] }[];
}

/**
 * What main.bicep deploys for these parameters, resolved to resource ids (names that carry the
 * deployment's uniqueString token show `<token>`). Mirrors main.bicep and its modules.
 */
export function renderDeployment(parameters: DeploymentParameters): RenderedDeployment {
  const appGroup = `/subscriptions/${parameters.subscriptionId}/resourceGroups/${parameters.resourceGroupName}`;
  const token = '<token>';
  const createdResources = [
    `${appGroup}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-${token}`,
    `${appGroup}/providers/Microsoft.Storage/storageAccounts/st${token}`,
    `${appGroup}/providers/Microsoft.Storage/storageAccounts/st${token}/blobServices/default/containers/app-package`,
    `${appGroup}/providers/Microsoft.OperationalInsights/workspaces/log-${token}`,
    `${appGroup}/providers/Microsoft.Insights/components/appi-${token}`,
    `${appGroup}/providers/Microsoft.Web/serverfarms/plan-${token}`,
    `${appGroup}/providers/Microsoft.Web/sites/func-${token}`,
  ];
  if (parameters.useDurableTaskScheduler) createdResources.push(`${appGroup}/providers/Microsoft.DurableTask/schedulers/dts-${token}`);
  const vault = parameters.existingKeyVaultId || `${appGroup}/providers/Microsoft.KeyVault/vaults/kv-${token}`;
  if (!parameters.existingKeyVaultId) createdResources.push(vault);
  const account = parameters.existingChallengeStorageAccountId || `${appGroup}/providers/Microsoft.Storage/storageAccounts/stc${token}`;
  if (!parameters.existingChallengeStorageAccountId) createdResources.push(account);
  const challengeContainer = `${account}/blobServices/default/containers/${parameters.challengeContainerName}`;
  const stateContainer = `${account}/blobServices/default/containers/${parameters.stateContainerName ?? STATE_CONTAINER_NAME}`;
  // Both containers are created wherever the account is (challengeStorage.bicep): the public
  // challenge container and the private state container.
  createdResources.push(challengeContainer, stateContainer);

  const gatewayGroup = groupOf(parameters.applicationGatewayId);
  const dnsZones = parameters.dnsZoneResourceIds ?? [];
  const scopes: Record<string, string[]> = {
    hostStorage: [`${appGroup}/providers/Microsoft.Storage/storageAccounts/st${token}`],
    insights: [`${appGroup}/providers/Microsoft.Insights/components/appi-${token}`],
    scheduler: parameters.useDurableTaskScheduler ? [`${appGroup}/providers/Microsoft.DurableTask/schedulers/dts-${token}`] : [],
    challengeContainer: [challengeContainer],
    stateContainer: [stateContainer],
    vault: [vault],
    gateway: [parameters.applicationGatewayId],
    gatewayLinkedResource: parameters.applicationGatewayLinkedResourceIds,
    resourceGroup: [gatewayGroup],
    dnsZone: dnsZones,
  };
  const assignments: RenderedAssignment[] = [];
  for (const entry of roles.roleAssignments) {
    const at = scopes[entry.scope];
    if (!at) throw new PlanError(`roles.json assignment ${entry.name} has scope ${entry.scope}, which the plan does not resolve`);
    for (const scope of at) {
      assignments.push({ name: entry.name, principal: entry.principal as 'app' | 'gateway', role: entry.role, scope, external: !sameId(groupOf(scope), appGroup) });
    }
  }
  const linkedGroups = unique(parameters.applicationGatewayLinkedResourceIds.map(groupOf));
  const zoneGroups = unique(dnsZones.map(groupOf));
  return {
    createdResourceGroups: [appGroup],
    createdResources,
    assignments,
    roleDefinitions: [
      { role: 'gatewayOperator', assignableScopes: [gatewayGroup] },
      { role: 'gatewayLinker', assignableScopes: unique([gatewayGroup, ...linkedGroups]) },
      { role: 'gatewayOperationReader', assignableScopes: [gatewayGroup] },
      // Defined with or without zones (gatewayAccess.bicep): then assignable only in the gateway's group.
      { role: 'dnsChallengeWriter', assignableScopes: unique([gatewayGroup, ...zoneGroups]) },
    ],
  };
}

function unique(ids: string[]): string[] {
  return ids.filter((id, index) => ids.findIndex((other) => sameId(other, id)) === index);
}

/** The previous deployment of this environment, as azd keeps its outputs and the hook's values. */
export interface PreviousDeployment {
  gatewayId?: string;
  externalAssignments: string[];
  linkedAssignments: string[];
  /** DNS_ZONE_ROLE_ASSIGNMENT_IDS: the DNS challenge writer on each zone (absent before zones were supported). */
  dnsZoneAssignments?: string[];
  definitions: string[];
}

/** The resource a role assignment id is on (`{scope}/providers/Microsoft.Authorization/roleAssignments/{guid}`). */
export function assignmentScope(id: string): string {
  return id.replace(/\/providers\/Microsoft\.Authorization\/roleAssignments\/[^/]+$/i, '');
}

/**
 * What the previous deployment assigned that this one will not: incremental deployments never
 * delete, a role assignment left on a resource the gateway no longer links, or on a DNS zone no
 * longer listed, keeps a right nobody needs, and a custom role cannot lose an assignable scope that still holds assignments
 * (RoleScopeBeingRemovedContainsAssignments). When the gateway moved to another group, the custom
 * roles are new ones, so the old roles and everything assigned with them go.
 */
export function staleRoleObjects(previous: PreviousDeployment, parameters: DeploymentParameters): { assignments: string[]; definitions: string[] } {
  const rendered = renderDeployment(parameters);
  const kept = new Set(rendered.assignments.filter((a) => a.external).map((a) => a.scope.toLowerCase()));
  const moved = !!previous.gatewayId && groupOf(previous.gatewayId).toLowerCase() !== groupOf(parameters.applicationGatewayId).toLowerCase();
  const customRoleScopes = new Set(rendered.assignments.filter((a) => a.external && a.role in roles.customRoles).map((a) => a.scope.toLowerCase()));
  const assignments = [...previous.externalAssignments, ...previous.linkedAssignments, ...(previous.dnsZoneAssignments ?? [])].filter((id) => {
    const scope = assignmentScope(id).toLowerCase();
    if (!kept.has(scope)) return true;
    // After a move, assignments of the old custom roles are replaced by the new roles' (same scopes, new names).
    return moved && (customRoleScopes.has(scope) || previous.linkedAssignments.includes(id));
  });
  return { assignments, definitions: moved ? [...previous.definitions] : [] };
}

/**
 * Stand-ins for actions Resource Manager checks but may not list in its operations catalog:
 * Azure refuses a whole custom role naming an action the catalog lacks (InvalidActionOrNotAction;
 * MicrosoftDocs/azure-docs#39280), and Learn's networking operations list does not show the WAF
 * policy join that LinkedAuthorizationFailed answers name. The wildcard matches the policy's listed
 * actions (attachWafPolicyToAgc, detachWafPolicyFromAgc), so the role is accepted, and covers the
 * join when ARM checks it; it grants no read, write or delete of the policy.
 */
export const CATALOG_STAND_INS: Record<string, string> = {
  'Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies/join/action': 'Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies/*/action',
};

/** Whether an action pattern (with `*`) matches at least one catalog operation, case-insensitively. */
function inCatalog(pattern: string, catalog: ReadonlySet<string>): boolean {
  return [...catalog].some((operation) => actionPatternMatches(pattern, operation));
}

/**
 * The custom role's actions as this tenant's operations catalog accepts them: each listed action
 * kept, a known stand-in for one the catalog lacks, or a PlanError naming what cannot be granted.
 */
export function actionsForCatalog(actions: string[], catalog: ReadonlySet<string>): { actions: string[]; substituted: { action: string; standIn: string }[] } {
  const substituted: { action: string; standIn: string }[] = [];
  const resolved = actions.map((action) => {
    if (inCatalog(action, catalog)) return action;
    const standIn = CATALOG_STAND_INS[action];
    if (standIn && inCatalog(standIn, catalog)) {
      substituted.push({ action, standIn });
      return standIn;
    }
    throw new PlanError(`Resource Manager's operations catalog has no ${action}, so a custom role naming it would be refused. Report this to appgw-certbot with the output of \`az provider operation show --namespace ${action.split('/')[0]}\`.`);
  });
  return { actions: resolved, substituted };
}

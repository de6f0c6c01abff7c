import type { EmulatorReply, EmulatorRequest } from './httpsServer';

/**
 * The Resource Manager calls the azd hooks make besides the gateway (scripts/deploy/preprovision.ts,
 * predown.ts), served by the ARM emulator (arm.ts mounts `serveArmResources`):
 *
 * - GET /subscriptions/{s}/resourcegroups/{g} (Resource Groups - Get, azure-rest-api-specs
 *   resources.json; the body's shape as Azure/bicep-types-az generates it for
 *   Microsoft.Resources/resourceGroups: id, name, type, location, managedBy, tags,
 *   properties.provisioningState) for every group the seeded landing zone uses and the groups
 *   passed in as existing; names compare case-insensitively (Learn, "Resource naming and case
 *   sensitivity": resource group names are case-insensitive). Any other group answers 404
 *   {"error":{"code":"ResourceGroupNotFound","message":"Resource group '{g}' could not be found."}}
 *   (the service's body as Azure/azure-powershell#14556 prints it; azure-cli#20316 and a
 *   cloud-custodian recording show the same code and wording). `tags` is left out when a group has
 *   none, as the REST body omits an unset property.
 * - GET /subscriptions/{s}/providers/Microsoft.KeyVault/deletedVaults (Vaults - List Deleted,
 *   azure-rest-api-specs keyvault.json, DeletedVaultListResult {value, nextLink}): 200 with an empty
 *   list, as the sandbox's Key Vault stand-in keeps no vault-level soft delete.
 * - GET /providers/Microsoft.Authorization/providerOperations/{namespace}[?$expand=resourceTypes]
 *   (ProviderOperationsMetadata_Get, azure-rest-api-specs authorization-ProviderOperationsCalls.json
 *   2022-04-01: {id, name, type, displayName, resourceTypes: [{name, displayName, operations}],
 *   operations}, each operation {name, displayName, description, isDataAction}) for
 *   Microsoft.Network and Microsoft.ManagedIdentity, holding the operations Learn lists ("Azure
 *   permissions for Networking", "Azure permissions for Identity") for the resource types the
 *   deployment names. `$expand` defaults to resourceTypes (the spec's default); another value
 *   leaves the resource types out (unverified). Namespaces the emulator holds no catalog for answer 404
 *   InvalidResourceNamespace "The resource namespace '{namespace}' is invalid." (ARM's answer to an
 *   unknown namespace in a resource path, Azure/AzureStack-Tools#243, aci-connector-k8s#13; what
 *   providerOperations answers for one is unverified).
 *
 * Who may call them is the RBAC authorizer's (sandbox/rbac/arm.ts): a group needs
 * Microsoft.Resources/subscriptions/resourceGroups/read on it, the deleted-vault list
 * Microsoft.KeyVault/deletedVaults/read on the subscription, and the operations catalog any
 * authenticated caller may read.
 */
export interface ArmResourceGroup {
  subscriptionId: string;
  name: string;
  location: string;
  tags?: Record<string, string>;
}

interface CatalogOperation {
  name: string;
  /** Learn's description of the operation ("Azure permissions for …"). */
  description: string;
}

interface CatalogResourceType {
  name: string;
  displayName: string;
  operations: CatalogOperation[];
}

interface Catalog {
  name: string;
  displayName: string;
  /** Operations of the provider itself (…/register/action). */
  operations: CatalogOperation[];
  resourceTypes: CatalogResourceType[];
}

const op = (name: string, description: string): CatalogOperation => ({ name, description });

/**
 * The operations catalog, by namespace: Learn's lists, for the resource types the deployment's
 * roles name or the gateway references. Learn's Microsoft.Network list has read, write, delete,
 * attachWafPolicyToAgc/action and detachWafPolicyFromAgc/action for
 * ApplicationGatewayWebApplicationFirewallPolicies and no join/action, although linked access
 * checks on a gateway PUT name that join (Learn, Application Gateway infrastructure configuration,
 * "Permissions"): the catalog here leaves it out, as Learn's list does, so the preprovision hook
 * must use its stand-in (scripts/deploy/plan.ts CATALOG_STAND_INS). Resource type display names are
 * in the service's style (unverified); operation display names are Learn's descriptions (the
 * service's are shorter, e.g. "Get Application Gateway", and not on Learn).
 */
const CATALOGS: Catalog[] = [
  {
    name: 'Microsoft.Network',
    displayName: 'Microsoft Network',
    operations: [op('Microsoft.Network/register/action', 'Registers the subscription'), op('Microsoft.Network/unregister/action', 'Unregisters the subscription')],
    resourceTypes: [
      {
        name: 'applicationGateways',
        displayName: 'Application Gateway',
        operations: [
          op('Microsoft.Network/applicationGateways/read', 'Gets an application gateway'),
          op('Microsoft.Network/applicationGateways/write', 'Creates an application gateway or updates an application gateway'),
          op('Microsoft.Network/applicationGateways/delete', 'Deletes an application gateway'),
          op('Microsoft.Network/applicationGateways/backendhealth/action', 'Gets an application gateway backend health'),
        ],
      },
      {
        name: 'ApplicationGatewayWebApplicationFirewallPolicies',
        displayName: 'Application Gateway WAF policy',
        // No join/action: Learn's list has none (see above).
        operations: [
          op('Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies/read', 'Gets an Application Gateway WAF policy'),
          op('Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies/write', 'Creates an Application Gateway WAF policy or updates an Application Gateway WAF policy'),
          op('Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies/delete', 'Deletes an Application Gateway WAF policy'),
          op('Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies/attachWafPolicyToAgc/action', 'Attaches Web application firewall policy to application gateway for containers'),
          op('Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies/detachWafPolicyFromAgc/action', 'Detaches Web application firewall policy from application gateway for containers'),
        ],
      },
      {
        // Azure DNS (sandbox/emulators/dnsZones.ts): the zone and the record types the emulator writes, Learn's list for Microsoft.Network/dnszones.
        name: 'dnszones',
        displayName: 'DNS Zone',
        operations: [
          op('Microsoft.Network/dnszones/read', 'Get the DNS zone, in JSON format. The zone properties include tags, etag, numberOfRecordSets, and maxNumberOfRecordSets. Note that this command does not retrieve the record sets contained within the zone.'),
          op('Microsoft.Network/dnszones/write', 'Create or update a DNS zone within a resource group.  Used to update the tags on a DNS zone resource. Note that this command can not be used to create or update record sets within the zone.'),
          op('Microsoft.Network/dnszones/delete', 'Delete the DNS zone, in JSON format. The zone properties include tags, etag, numberOfRecordSets, and maxNumberOfRecordSets.'),
          op('Microsoft.Network/dnszones/all/read', 'Gets DNS record sets across types'),
          op('Microsoft.Network/dnszones/recordsets/read', 'Gets DNS record sets across types'),
          op('Microsoft.Network/dnszones/A/read', "Get the record set of type 'A', in JSON format. The record set contains a list of records as well as the TTL, tags, and etag."),
          op('Microsoft.Network/dnszones/A/write', "Create or update a record set of type 'A' within a DNS zone. The records specified will replace the current records in the record set."),
          op('Microsoft.Network/dnszones/A/delete', "Remove the record set of a given name and type 'A' from a DNS zone."),
          op('Microsoft.Network/dnszones/AAAA/read', "Get the record set of type 'AAAA', in JSON format. The record set contains a list of records as well as the TTL, tags, and etag."),
          op('Microsoft.Network/dnszones/AAAA/write', "Create or update a record set of type 'AAAA' within a DNS zone. The records specified will replace the current records in the record set."),
          op('Microsoft.Network/dnszones/AAAA/delete', "Remove the record set of a given name and type 'AAAA' from a DNS zone."),
          op('Microsoft.Network/dnszones/CAA/read', "Get the record set of type 'CAA', in JSON format. The record set contains the TTL, tags, and etag."),
          op('Microsoft.Network/dnszones/CAA/write', "Create or update a record set of type 'CAA' within a DNS zone. The records specified will replace the current records in the record set."),
          op('Microsoft.Network/dnszones/CAA/delete', "Remove the record set of a given name and type 'CAA' from a DNS zone."),
          op('Microsoft.Network/dnszones/CNAME/read', "Get the record set of type 'CNAME', in JSON format. The record set contains the TTL, tags, and etag."),
          op('Microsoft.Network/dnszones/CNAME/write', "Create or update a record set of type 'CNAME' within a DNS zone. The records specified will replace the current records in the record set."),
          op('Microsoft.Network/dnszones/CNAME/delete', "Remove the record set of a given name and type 'CNAME' from a DNS zone."),
          op('Microsoft.Network/dnszones/TXT/read', "Get the record set of type 'TXT', in JSON format. The record set contains a list of records as well as the TTL, tags, and etag."),
          op('Microsoft.Network/dnszones/TXT/write', "Create or update a record set of type 'TXT' within a DNS zone. The records specified will replace the current records in the record set."),
          op('Microsoft.Network/dnszones/TXT/delete', "Remove the record set of a given name and type 'TXT' from a DNS zone."),
        ],
      },
      {
        name: 'locations/operations',
        displayName: 'Operation',
        operations: [op('Microsoft.Network/locations/operations/read', 'Gets operation resource that represents status of an asynchronous operation')],
      },
      {
        name: 'publicIPAddresses',
        displayName: 'Public IP Address',
        operations: [
          op('Microsoft.Network/publicIPAddresses/read', 'Gets a public IP address definition.'),
          op('Microsoft.Network/publicIPAddresses/write', 'Creates a public IP address or updates an existing public IP address.'),
          op('Microsoft.Network/publicIPAddresses/delete', 'Deletes a public IP address.'),
          op('Microsoft.Network/publicIPAddresses/join/action', 'Joins a public IP address. Not Alertable.'),
        ],
      },
      {
        name: 'virtualNetworks',
        displayName: 'Virtual Network',
        operations: [
          op('Microsoft.Network/virtualNetworks/read', 'Get the virtual network definition'),
          op('Microsoft.Network/virtualNetworks/write', 'Creates a virtual network or updates an existing virtual network'),
          op('Microsoft.Network/virtualNetworks/delete', 'Deletes a virtual network'),
          op('Microsoft.Network/virtualNetworks/join/action', 'Joins a virtual network. Not Alertable.'),
        ],
      },
      {
        name: 'virtualNetworks/subnets',
        displayName: 'Virtual Network Subnet',
        operations: [
          op('Microsoft.Network/virtualNetworks/subnets/read', 'Gets a virtual network subnet definition'),
          op('Microsoft.Network/virtualNetworks/subnets/write', 'Creates a virtual network subnet or updates an existing virtual network subnet'),
          op('Microsoft.Network/virtualNetworks/subnets/delete', 'Deletes a virtual network subnet'),
          op('Microsoft.Network/virtualNetworks/subnets/join/action', 'Joins a virtual network. Not Alertable.'),
        ],
      },
    ],
  },
  {
    name: 'Microsoft.ManagedIdentity',
    displayName: 'Managed Identity',
    operations: [op('Microsoft.ManagedIdentity/register/action', 'Registers the subscription for the managed identity resource provider')],
    resourceTypes: [
      {
        name: 'userAssignedIdentities',
        displayName: 'User Assigned Identity',
        operations: [
          op('Microsoft.ManagedIdentity/userAssignedIdentities/read', 'Gets an existing user assigned identity'),
          op('Microsoft.ManagedIdentity/userAssignedIdentities/write', 'Creates a new user assigned identity or updates the tags associated with an existing user assigned identity'),
          op('Microsoft.ManagedIdentity/userAssignedIdentities/delete', 'Deletes an existing user assigned identity'),
          op('Microsoft.ManagedIdentity/userAssignedIdentities/assign/action', 'RBAC action for assigning an existing user assigned identity to a resource'),
        ],
      },
    ],
  },
];

/** Every operation name in the emulator's catalog of a namespace (tests). */
export function catalogOperations(namespace: string): string[] {
  const catalog = CATALOGS.find((c) => c.name.toLowerCase() === namespace.toLowerCase());
  return catalog ? [...catalog.operations, ...catalog.resourceTypes.flatMap((type) => type.operations)].map((o) => o.name) : [];
}

const armError = (status: number, code: string, message: string): EmulatorReply => ({ status, body: { error: { code, message } } });

const operationBody = (operation: CatalogOperation): Record<string, unknown> => ({
  name: operation.name,
  displayName: operation.description,
  description: operation.description,
  isDataAction: false,
});

export const RESOURCE_GROUP_PATH = /^\/subscriptions\/([^/]+)\/resourcegroups\/([^/]+)$/i;
export const PROVIDER_OPERATIONS_PATH = /^\/providers\/Microsoft\.Authorization\/providerOperations\/([^/]+)$/i;
const DELETED_VAULTS_PATH = /^\/subscriptions\/([^/]+)\/providers\/Microsoft\.KeyVault\/deletedVaults$/i;

export interface ArmResources {
  /** The answer to a request for a resource group, the deleted-vault list or the operations catalog; undefined for other requests. */
  serve(request: EmulatorRequest): EmulatorReply | undefined;
  /** Whether the resource group exists (subscription and name compare case-insensitively). */
  groupExists(subscriptionId: string, name: string): boolean;
}

export function armResources(groups: ArmResourceGroup[]): ArmResources {
  const find = (subscriptionId: string, name: string): ArmResourceGroup | undefined =>
    groups.find((g) => g.subscriptionId.toLowerCase() === subscriptionId.toLowerCase() && g.name.toLowerCase() === name.toLowerCase());
  return {
    groupExists: (subscriptionId, name) => !!find(subscriptionId, name),
    serve(request) {
      if (request.method !== 'GET') return undefined;
      const path = request.url.pathname.replace(/\/+$/, '');
      const groupPath = RESOURCE_GROUP_PATH.exec(path);
      if (groupPath) {
        const group = find(decodeURIComponent(groupPath[1]), decodeURIComponent(groupPath[2]));
        if (!group) return armError(404, 'ResourceGroupNotFound', `Resource group '${decodeURIComponent(groupPath[2])}' could not be found.`);
        return {
          status: 200,
          body: {
            id: `/subscriptions/${group.subscriptionId}/resourceGroups/${group.name}`,
            name: group.name,
            type: 'Microsoft.Resources/resourceGroups',
            location: group.location,
            ...(group.tags && Object.keys(group.tags).length > 0 ? { tags: group.tags } : {}),
            properties: { provisioningState: 'Succeeded' },
          },
        };
      }
      if (DELETED_VAULTS_PATH.test(path)) return { status: 200, body: { value: [] } };
      const operations = PROVIDER_OPERATIONS_PATH.exec(path);
      if (operations) {
        const namespace = decodeURIComponent(operations[1]);
        const catalog = CATALOGS.find((c) => c.name.toLowerCase() === namespace.toLowerCase());
        if (!catalog) return armError(404, 'InvalidResourceNamespace', `The resource namespace '${namespace}' is invalid.`);
        const expand = (request.url.searchParams.get('$expand') ?? 'resourceTypes').toLowerCase() === 'resourcetypes';
        return {
          status: 200,
          body: {
            id: `/providers/Microsoft.Authorization/providerOperations/${catalog.name}`,
            name: catalog.name,
            type: 'Microsoft.Authorization/providerOperations',
            displayName: catalog.displayName,
            ...(expand
              ? { resourceTypes: catalog.resourceTypes.map((type) => ({ name: type.name, displayName: type.displayName, operations: type.operations.map(operationBody) })) }
              : {}),
            operations: catalog.operations.map(operationBody),
          },
        };
      }
      return undefined;
    },
  };
}

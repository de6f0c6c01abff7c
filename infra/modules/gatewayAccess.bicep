// Least privilege on the Application Gateway, deployed into the gateway's resource group: the
// custom roles (their actions, each with its reason, come from ../roles.json, the file the sandbox
// enforces and test/infra checks), the gateway operator role on the gateway itself, and the one
// read Resource Manager authorizes at resource-group level. linkedResourceAccess.bicep assigns
// the linker role on what the gateway references, dnsZoneAccess.bicep the DNS challenge writer role
// on each Azure DNS zone.
// Actions: https://learn.microsoft.com/azure/role-based-access-control/permissions/networking
targetScope = 'resourceGroup'

@description('Principal id of the function app identity.')
param principalId string
param gatewayName string
@description('Suffix that makes the custom roles\' names unique in the tenant (role names are tenant-wide).')
param roleNameSuffix string
@description('Resource group ids (/subscriptions/…/resourceGroups/…) holding what the gateway links to: where the linker role may be assigned.')
param linkedResourceGroupIds array
@description('The linker role\'s actions as the operations catalog accepts them (the preprovision hook checks; empty: as roles.json lists them).')
param gatewayLinkerActions array = []
@description('Resource group ids (/subscriptions/…/resourceGroups/…, lower case) holding the Azure DNS zones the app answers DNS-01 challenges in: where the DNS challenge writer role may be assigned.')
param dnsZoneGroupIds array = []

resource gateway 'Microsoft.Network/applicationGateways@2024-05-01' existing = {
  name: gatewayName
}

var customRoles = loadJsonContent('../roles.json', '$.customRoles')

// A custom role's GUID and its display name are both unique across the tenant (Learn,
// custom-roles-bicep): the GUID is derived from this group and the suffix, the name carries the
// suffix, so two environments or subscriptions never collide. Creating one needs
// roleDefinitions/write on every assignable scope (Learn, custom-roles); the deployment's own
// group is always among them.
resource gatewayOperator 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(resourceGroup().id, roleNameSuffix, 'appgw-certbot-gateway-operator')
  properties: {
    roleName: '${customRoles.gatewayOperator.roleName} (${roleNameSuffix})'
    description: customRoles.gatewayOperator.description
    type: 'CustomRole'
    permissions: [
      {
        actions: customRoles.gatewayOperator.actions
        notActions: customRoles.gatewayOperator.notActions
      }
    ]
    assignableScopes: [resourceGroup().id]
  }
}

resource gatewayLinker 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(resourceGroup().id, roleNameSuffix, 'appgw-certbot-gateway-linker')
  properties: {
    roleName: '${customRoles.gatewayLinker.roleName} (${roleNameSuffix})'
    description: customRoles.gatewayLinker.description
    type: 'CustomRole'
    permissions: [
      {
        actions: empty(gatewayLinkerActions) ? customRoles.gatewayLinker.actions : gatewayLinkerActions
        notActions: customRoles.gatewayLinker.notActions
      }
    ]
    // Lower case like linkedResourceGroupIds (main.bicep): union() compares case-sensitively.
    assignableScopes: union([toLower(resourceGroup().id)], linkedResourceGroupIds)
  }
}

// The gateway PUT is a long-running operation the app follows at its Azure-AsyncOperation URL
// (/subscriptions/…/providers/Microsoft.Network/locations/…/operations/…), which is not under the
// gateway: "If you only have permission at the resource level, you can start the operation but you
// can't track its status", so this one read is granted on the gateway's resource group, in a role of
// its own (the operator role there would cover every gateway of the group).
// https://learn.microsoft.com/azure/azure-resource-manager/management/async-operations#permission-for-tracking-async-status
resource gatewayOperationReader 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(resourceGroup().id, roleNameSuffix, 'appgw-certbot-gateway-operation-reader')
  properties: {
    roleName: '${customRoles.gatewayOperationReader.roleName} (${roleNameSuffix})'
    description: customRoles.gatewayOperationReader.description
    type: 'CustomRole'
    permissions: [
      {
        actions: customRoles.gatewayOperationReader.actions
        notActions: customRoles.gatewayOperationReader.notActions
      }
    ]
    assignableScopes: [resourceGroup().id]
  }
}

// The _acme-challenge TXT record sets of DNS-01, in the zones dnsZoneAccess.bicep assigns it on
// (Learn, "How to protect DNS zones and records", custom roles: a role limited to one record type;
// DNS Zone Contributor would also write every other record type and delete the zone).
// https://learn.microsoft.com/azure/dns/dns-protect-zones-recordsets#custom-roles
// Defined even without zones (then assignable only here, and assigned nowhere): a definition grants
// nothing by itself, and defining it always keeps one GUID for it, so listing zones later, or none
// again, only changes its assignable scopes (the preprovision hook first removes the assignments
// on zones no longer listed), and roleDefinitionIds, which the azd down hooks delete, always holds it.
resource dnsChallengeWriter 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(resourceGroup().id, roleNameSuffix, 'appgw-certbot-dns-challenge-writer')
  properties: {
    roleName: '${customRoles.dnsChallengeWriter.roleName} (${roleNameSuffix})'
    description: customRoles.dnsChallengeWriter.description
    type: 'CustomRole'
    permissions: [
      {
        actions: customRoles.dnsChallengeWriter.actions
        notActions: customRoles.dnsChallengeWriter.notActions
      }
    ]
    // The deployment's own group first, like the linker's (lower case: union() compares case-sensitively).
    assignableScopes: union([toLower(resourceGroup().id)], dnsZoneGroupIds)
  }
}

// Assignments name a custom role by its subscription-level id in their own subscription (the
// documented form; the definition's `.id` here would be its resource-group form).
resource onGateway 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(gateway.id, principalId, gatewayOperator.id)
  scope: gateway
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', gatewayOperator.name)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

// No scope: the module's target, the gateway's resource group.
resource onGatewayResourceGroup 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(resourceGroup().id, principalId, gatewayOperationReader.id)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', gatewayOperationReader.name)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

output gatewayLinkerRoleGuid string = gatewayLinker.name
output dnsChallengeWriterRoleGuid string = dnsChallengeWriter.name
output roleDefinitionIds array = [
  subscriptionResourceId('Microsoft.Authorization/roleDefinitions', gatewayOperator.name)
  subscriptionResourceId('Microsoft.Authorization/roleDefinitions', gatewayLinker.name)
  subscriptionResourceId('Microsoft.Authorization/roleDefinitions', gatewayOperationReader.name)
  subscriptionResourceId('Microsoft.Authorization/roleDefinitions', dnsChallengeWriter.name)
]
output roleAssignmentIds array = [onGateway.id, onGatewayResourceGroup.id]

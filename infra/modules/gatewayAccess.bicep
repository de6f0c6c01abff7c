// Least privilege on the Application Gateway, deployed into the gateway's resource group: the
// custom roles (their actions, each with its reason, come from ../roles.json, the file the sandbox
// enforces and test/infra checks), the gateway operator role on the gateway itself, and the one
// read Resource Manager authorizes at resource-group level. linkedResourceAccess.bicep assigns
// the linker role on what the gateway references.
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
output roleDefinitionIds array = [
  subscriptionResourceId('Microsoft.Authorization/roleDefinitions', gatewayOperator.name)
  subscriptionResourceId('Microsoft.Authorization/roleDefinitions', gatewayLinker.name)
  subscriptionResourceId('Microsoft.Authorization/roleDefinitions', gatewayOperationReader.name)
]
output roleAssignmentIds array = [onGateway.id, onGatewayResourceGroup.id]

// Least privilege on the Application Gateway: a custom role with only what the app does, assigned
// on each resource it touches (deployed into the gateway's resource group). The roles' actions come
// from ../roles.json, the file the sandbox enforces (sandbox/rbac/) and test/infra checks.
// Actions: https://learn.microsoft.com/azure/role-based-access-control/permissions/networking
// A gateway PUT re-submits the whole gateway, so ARM also checks join/assign on what it references:
// https://learn.microsoft.com/azure/application-gateway/configuration-infrastructure#permissions
targetScope = 'resourceGroup'

@description('Principal id of the function app identity.')
param principalId string
param gatewayName string
param publicIpName string
@description('Name of the virtual network holding the gateway subnet.')
param virtualNetworkName string
@description('Name of the user-assigned identity the gateway uses to read Key Vault.')
param gatewayIdentityName string

resource gateway 'Microsoft.Network/applicationGateways@2024-05-01' existing = {
  name: gatewayName
}
resource publicIp 'Microsoft.Network/publicIPAddresses@2024-05-01' existing = {
  name: publicIpName
}
resource virtualNetwork 'Microsoft.Network/virtualNetworks@2024-05-01' existing = {
  name: virtualNetworkName
}
resource gatewayIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' existing = {
  name: gatewayIdentityName
}

var customRoles = loadJsonContent('../roles.json', '$.customRoles')
var roleName = guid(resourceGroup().id, 'appgw-certbot-gateway-operator')

resource gatewayOperator 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: roleName
  properties: {
    roleName: '${customRoles.gatewayOperator.roleName} (${resourceGroup().name})'
    description: customRoles.gatewayOperator.description
    type: 'CustomRole'
    permissions: [
      {
        actions: customRoles.gatewayOperator.actions
        notActions: customRoles.gatewayOperator.notActions
      }
    ]
    assignableScopes: [
      resourceGroup().id
    ]
  }
}

resource onGateway 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(gateway.id, principalId, gatewayOperator.id)
  scope: gateway
  properties: {
    roleDefinitionId: gatewayOperator.id
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

resource onPublicIp 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(publicIp.id, principalId, gatewayOperator.id)
  scope: publicIp
  properties: {
    roleDefinitionId: gatewayOperator.id
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

resource onVirtualNetwork 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(virtualNetwork.id, principalId, gatewayOperator.id)
  scope: virtualNetwork
  properties: {
    roleDefinitionId: gatewayOperator.id
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

resource onGatewayIdentity 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(gatewayIdentity.id, principalId, gatewayOperator.id)
  scope: gatewayIdentity
  properties: {
    roleDefinitionId: gatewayOperator.id
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

// The gateway PUT is a long-running operation the app follows at its Azure-AsyncOperation URL
// (/subscriptions/…/providers/Microsoft.Network/locations/…/operations/…), which is not under the
// gateway: "If you only have permission at the resource level, you can start the operation but you
// can't track its status", so this one read is granted on the gateway's resource group, in a role of
// its own (the operator role there would cover every gateway of the group).
// https://learn.microsoft.com/azure/azure-resource-manager/management/async-operations#permission-for-tracking-async-status
resource gatewayOperationReader 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(resourceGroup().id, 'appgw-certbot-gateway-operation-reader')
  properties: {
    roleName: '${customRoles.gatewayOperationReader.roleName} (${resourceGroup().name})'
    description: customRoles.gatewayOperationReader.description
    type: 'CustomRole'
    permissions: [
      {
        actions: customRoles.gatewayOperationReader.actions
        notActions: customRoles.gatewayOperationReader.notActions
      }
    ]
    assignableScopes: [
      resourceGroup().id
    ]
  }
}

// No scope: the module's target, the gateway's resource group.
resource onGatewayResourceGroup 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(resourceGroup().id, principalId, gatewayOperationReader.id)
  properties: {
    roleDefinitionId: gatewayOperationReader.id
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

output gatewayIdentityPrincipalId string = gatewayIdentity.properties.principalId

// Least privilege on the Application Gateway: a custom role with only what the app does, assigned
// on each resource it touches (deployed into the gateway's resource group).
// Actions: https://learn.microsoft.com/azure/role-based-access-control/permissions/networking
// A gateway PUT re-submits the whole gateway, so ARM also checks join/assign on what it references:
// https://learn.microsoft.com/azure/application-gateway/configuration-infrastructure#permissions-on-subnet
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

var roleName = guid(resourceGroup().id, 'appgw-certbot-gateway-operator')

resource gatewayOperator 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: roleName
  properties: {
    roleName: 'appgw-certbot gateway operator (${resourceGroup().name})'
    description: 'Read and update one Application Gateway, read its public IP, and the join/assign checks a gateway PUT makes.'
    type: 'CustomRole'
    permissions: [
      {
        actions: [
          'Microsoft.Network/applicationGateways/read'
          'Microsoft.Network/applicationGateways/write'
          'Microsoft.Network/publicIPAddresses/read'
          'Microsoft.Network/publicIPAddresses/join/action'
          'Microsoft.Network/virtualNetworks/subnets/join/action'
          'Microsoft.ManagedIdentity/userAssignedIdentities/assign/action'
        ]
        notActions: []
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

output gatewayIdentityPrincipalId string = gatewayIdentity.properties.principalId

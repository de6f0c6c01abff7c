// The gateway linker role on ONE resource a gateway PUT links to, deployed into that resource's
// resource group, wherever it is (hub-and-spoke: the VNet and public IPs in a hub subscription, the
// identity and WAF policies in groups of their own). main.bicep deploys one per id; the ids are what
// src/domain/gatewayLinks.ts finds in the gateway (the preprovision hook reads the gateway).
// Role assignments need a resource symbol as scope, so each linkable type has its own `existing`
// reference and a conditional assignment; exactly one applies (the hook refuses other types).
targetScope = 'resourceGroup'

@description('Resource id of a subnet, public IP, user-assigned identity or WAF policy the gateway references.')
param resourceId string
@description('Principal id of the function app identity.')
param principalId string
@description('GUID of the gateway linker role definition (a custom role is named by its id in the subscription it is assigned in).')
param roleDefinitionGuid string

var parts = split(resourceId, '/')
// /subscriptions/{s}/resourceGroups/{g}/providers/{namespace}/{type}/{name}[/subnets/{subnet}]
var type = toLower('${parts[6]}/${parts[7]}${length(parts) > 10 ? '/${parts[9]}' : ''}')
var roleDefinitionId = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleDefinitionGuid)
var assignmentName = guid(resourceId, principalId, roleDefinitionGuid)

resource publicIp 'Microsoft.Network/publicIPAddresses@2024-05-01' existing = {
  name: parts[8]
}
resource subnet 'Microsoft.Network/virtualNetworks/subnets@2024-05-01' existing = {
  name: '${parts[8]}/${last(parts)}'
}
resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' existing = {
  name: parts[8]
}
resource wafPolicy 'Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies@2024-05-01' existing = {
  name: parts[8]
}

resource onLinkedPublicIp 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (type == 'microsoft.network/publicipaddresses') {
  name: assignmentName
  scope: publicIp
  properties: {
    roleDefinitionId: roleDefinitionId
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

resource onLinkedSubnet 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (type == 'microsoft.network/virtualnetworks/subnets') {
  name: assignmentName
  scope: subnet
  properties: {
    roleDefinitionId: roleDefinitionId
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

resource onLinkedIdentity 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (type == 'microsoft.managedidentity/userassignedidentities') {
  name: assignmentName
  scope: identity
  properties: {
    roleDefinitionId: roleDefinitionId
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

resource onLinkedWafPolicy 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (type == 'microsoft.network/applicationgatewaywebapplicationfirewallpolicies') {
  name: assignmentName
  scope: wafPolicy
  properties: {
    roleDefinitionId: roleDefinitionId
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

// The assignment's id, whichever applied (an extension resource id is a pure string function).
output roleAssignmentId string = extensionResourceId(resourceId, 'Microsoft.Authorization/roleAssignments', assignmentName)

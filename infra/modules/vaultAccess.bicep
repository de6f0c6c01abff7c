// The app's and the gateway's rights on the Key Vault, deployed into the vault's own resource group
// (the app's group for a vault this template creates; any group or subscription for an existing
// one). Each assignment is on the vault only.
// Built-in roles: https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/security
targetScope = 'resourceGroup'

param vaultName string
@description('Principal id of the function app identity.')
param appPrincipalId string
@description('Principal id of the user-assigned identity the gateway reads its certificates with.')
param gatewayPrincipalId string

var roles = loadJsonContent('../roles.json', '$.builtInRoles')

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: vaultName
}

resource certificatesOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, appPrincipalId, roles.keyVaultCertificatesOfficer.id)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultCertificatesOfficer.id)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// The ACME account key is a secret the app creates on first use.
resource secretsOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, appPrincipalId, roles.keyVaultSecretsOfficer.id)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsOfficer.id)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// The gateway reads the certificates it serves through its own identity.
resource gatewayReadsSecrets 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, gatewayPrincipalId, roles.keyVaultSecretsUser.id)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser.id)
    principalId: gatewayPrincipalId
    principalType: 'ServicePrincipal'
  }
}

output roleAssignmentIds array = [certificatesOfficer.id, secretsOfficer.id, gatewayReadsSecrets.id]

// The HTTP-01 challenge container, the private state container beside it, and the app's right to
// write both, deployed into the storage
// account's resource group (the app's group for an account this template creates; any group or
// subscription for an existing one). The account's blob service is only referenced: declaring it
// would PUT an existing account's blob service properties back to defaults.
// An existing account must allow anonymous blob reads (allowBlobPublicAccess, false by default for
// new accounts since 2023); otherwise Storage refuses the container with 409 PublicAccessNotPermitted
// ("Public access is not permitted on this storage account."). The preprovision hook checks it first.
targetScope = 'resourceGroup'

param accountName string
param containerName string
@description('The private container for hostname claims, locks and the gateway writer\'s inbox.')
param stateContainerName string
@description('Principal id of the function app identity.')
param appPrincipalId string

var roles = loadJsonContent('../roles.json', '$.builtInRoles')

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: accountName
}

resource blobs 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' existing = {
  parent: account
  name: 'default'
}

// The gateway reads /.well-known/acme-challenge/* from here anonymously (blob level: no listing).
resource challengeContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobs
  name: containerName
  properties: { publicAccess: 'Blob' }
}

// Hostname claims, the ACME account lock and the gateway writer's inbox (hostnames, Key Vault secret
// ids, instance ids): their blob names are predictable, so they must not be in the public container.
// No anonymous access: Storage answers an anonymous request 404 ResourceNotFound, as for a missing
// container (Azure/azure-storage-cpp#397, by design).
resource stateContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobs
  name: stateContainerName
  properties: { publicAccess: 'None' }
}

resource challengeWriter 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(challengeContainer.id, appPrincipalId, roles.storageBlobDataContributor.id)
  scope: challengeContainer
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor.id)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource stateWriter 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(stateContainer.id, appPrincipalId, roles.storageBlobDataContributor.id)
  scope: stateContainer
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor.id)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

output roleAssignmentIds array = [challengeWriter.id, stateWriter.id]

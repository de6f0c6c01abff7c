// appgw-certbot: the Function App, its identity and storage, Key Vault and monitoring, with least
// privilege on an existing Application Gateway. Deploy with `azd up`; remove with `azd down`.
// Flex Consumption: https://learn.microsoft.com/azure/azure-functions/flex-consumption-how-to
// Identity-based host storage: https://learn.microsoft.com/azure/azure-functions/functions-reference#connecting-to-host-storage-with-an-identity
targetScope = 'resourceGroup'

@description('Name of the azd environment; names are derived from it.')
param environmentName string
param location string = resourceGroup().location
@allowed(['22', '20'])
param nodeVersion string = '22'

@description('ACME directory URL (Let\'s Encrypt production by default).')
param acmeEndpoint string = 'https://acme-v02.api.letsencrypt.org/directory'
param acmeAccountEmail string

@description('The existing Application Gateway and what its new rules route to.')
param applicationGatewayResourceGroup string
param applicationGatewayName string
param applicationGatewayHttpSettingsName string
param applicationGatewayBackendName string
param applicationGatewayPublicIpName string
param applicationGatewayVirtualNetworkName string
param applicationGatewayIdentityName string

@description('Leave empty to create a Key Vault; or the name of an existing one (RBAC mode) in this resource group.')
param existingKeyVaultName string = ''
@description('Leave empty to create the challenge storage account; or an existing one in this resource group.')
param existingChallengeStorageAccountName string = ''
param challengeContainerName string = 'acme-challenge'

@allowed(['RSA-2048', 'RSA-3072', 'RSA-4096', 'EC-P256', 'EC-P384'])
param certificateKeyType string = 'RSA-2048'
param maxHostnamesPerRequest int = 100
param maxParallelIssuances int = 10
@minValue(1)
@maxValue(365)
param renewBeforeDays int = 30
@description('When the renewal timer runs (NCRONTAB, UTC).')
param renewalSchedule string = '0 0 3 * * *'
@description('Optional Slack / Teams / JSON webhook for failures and overdue renewals.')
param failureWebhookUrl string = ''
param historyRetentionDays int = 30
@description('Durable Functions state: Azure Storage (default) or the Durable Task Scheduler.')
param useDurableTaskScheduler bool = false

var token = toLower(uniqueString(subscription().id, resourceGroup().id, environmentName))
var tags = { 'azd-env-name': environmentName }
var keyVaultName = empty(existingKeyVaultName) ? 'kv-${token}' : existingKeyVaultName
var challengeAccountName = empty(existingChallengeStorageAccountName) ? 'stc${token}' : existingChallengeStorageAccountName

// Built-in roles (their GUIDs and documented permissions) come from roles.json, the file the sandbox
// enforces and test/infra checks against these assignments:
// https://learn.microsoft.com/azure/role-based-access-control/built-in-roles
var roles = loadJsonContent('roles.json', '$.builtInRoles')

// Durable Task Scheduler (optional): https://learn.microsoft.com/azure/azure-functions/durable/durable-task-scheduler/develop-with-durable-task-scheduler
resource scheduler 'Microsoft.DurableTask/schedulers@2025-11-01' = if (useDurableTaskScheduler) {
  name: 'dts-${token}'
  location: location
  tags: tags
  properties: {
    ipAllowlist: ['0.0.0.0/0']
    sku: { name: 'Consumption' }
  }
}

resource taskHub 'Microsoft.DurableTask/schedulers/taskHubs@2025-11-01' = if (useDurableTaskScheduler) {
  parent: scheduler
  name: 'AppGwCertbotHub'
}

// host.json keeps Azure Storage; with the scheduler these app settings override its provider
// (AzureFunctionsJobHost__ overrides: https://learn.microsoft.com/azure/azure-functions/functions-host-json#override-hostjson-values).
var schedulerSettings = useDurableTaskScheduler
  ? [
      { name: 'AzureFunctionsJobHost__extensions__durableTask__storageProvider__type', value: 'azureManaged' }
      { name: 'AzureFunctionsJobHost__extensions__durableTask__storageProvider__connectionStringName', value: 'DURABLE_TASK_SCHEDULER_CONNECTION_STRING' }
      { name: 'DURABLE_TASK_SCHEDULER_CONNECTION_STRING', value: 'Endpoint=${scheduler!.properties.endpoint};Authentication=ManagedIdentity;ClientID=${appIdentity.properties.clientId}' }
    ]
  : []

resource appIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'id-${token}'
  location: location
  tags: tags
}

// Host storage (AzureWebJobsStorage, Durable Functions state, the deployment package): no shared
// keys, nothing public.
resource hostStorage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: 'st${token}'
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: { name: 'Standard_LRS' }
  properties: {
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
  }
}

resource hostBlobs 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: hostStorage
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: hostBlobs
  name: 'app-package'
  properties: { publicAccess: 'None' }
}

// The challenge storage: one container the gateway reads anonymously (blob level), nothing else public.
resource challengeStorage 'Microsoft.Storage/storageAccounts@2023-05-01' = if (empty(existingChallengeStorageAccountName)) {
  name: challengeAccountName
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: { name: 'Standard_LRS' }
  properties: {
    allowSharedKeyAccess: false
    allowBlobPublicAccess: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
  }
}

resource challengeAccount 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: challengeAccountName
}

resource challengeBlobs 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: challengeAccount
  name: 'default'
  dependsOn: [challengeStorage]
}

resource challengeContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: challengeBlobs
  name: challengeContainerName
  properties: { publicAccess: 'Blob' }
}

resource newVault 'Microsoft.KeyVault/vaults@2023-07-01' = if (empty(existingKeyVaultName)) {
  name: keyVaultName
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
  }
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource logs 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: 'log-${token}'
  location: location
  tags: tags
  properties: { sku: { name: 'PerGB2018' }, retentionInDays: 30 }
}

resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: 'appi-${token}'
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logs.id
    DisableLocalAuth: true
  }
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: 'plan-${token}'
  location: location
  tags: tags
  kind: 'functionapp'
  sku: { tier: 'FlexConsumption', name: 'FC1' }
  properties: { reserved: true }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: 'func-${token}'
  location: location
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${appIdentity.id}': {} }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${hostStorage.properties.primaryEndpoints.blob}${deploymentContainer.name}'
          authentication: { type: 'UserAssignedIdentity', userAssignedIdentityResourceId: appIdentity.id }
        }
      }
      runtime: { name: 'node', version: nodeVersion }
      scaleAndConcurrency: { maximumInstanceCount: 40, instanceMemoryMB: 2048 }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      appSettings: concat(schedulerSettings, [
        // Host storage through the identity (no keys).
        { name: 'AzureWebJobsStorage__accountName', value: hostStorage.name }
        { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
        { name: 'AzureWebJobsStorage__clientId', value: appIdentity.properties.clientId }
        { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: insights.properties.ConnectionString }
        { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', value: 'Authorization=AAD;ClientId=${appIdentity.properties.clientId}' }
        // The identity DefaultAzureCredential uses (src/azure/credential.ts).
        { name: 'AZURE_CLIENT_ID', value: appIdentity.properties.clientId }
        // The app's typed configuration (src/domain/config.ts).
        { name: 'AcmeEndpoint', value: acmeEndpoint }
        { name: 'AcmeAccountEmail', value: acmeAccountEmail }
        { name: 'TenantId', value: tenant().tenantId }
        { name: 'SubscriptionId', value: subscription().subscriptionId }
        { name: 'ApplicationGatewayResourceGroup', value: applicationGatewayResourceGroup }
        { name: 'ApplicationGatewayName', value: applicationGatewayName }
        { name: 'ApplicationGatewayHttpSettingsName', value: applicationGatewayHttpSettingsName }
        { name: 'ApplicationGatewayBackendName', value: applicationGatewayBackendName }
        { name: 'BlobContainerUrl', value: '${challengeAccount.properties.primaryEndpoints.blob}${challengeContainerName}' }
        { name: 'KeyVaultBaseUrl', value: vault.properties.vaultUri }
        { name: 'ArmEndpoint', value: environment().resourceManager }
        { name: 'DnsServers', value: '' }
        { name: 'CertificateKeyType', value: certificateKeyType }
        { name: 'AcmeAccountKeySecretName', value: 'acme-account-key' }
        { name: 'KeyVaultChallengeResourceVerification', value: 'true' }
        { name: 'Http01ValidationPort', value: '80' }
        { name: 'VerifyServedCertificate', value: 'true' }
        { name: 'GatewayHttpsPort', value: '443' }
        { name: 'ServedCertificateRecheckSeconds', value: '0,60,300' }
        { name: 'MaxHostnamesPerRequest', value: string(maxHostnamesPerRequest) }
        { name: 'MaxParallelIssuances', value: string(maxParallelIssuances) }
        { name: 'RenewBeforeDays', value: string(renewBeforeDays) }
        { name: 'RenewalSchedule', value: renewalSchedule }
        { name: 'RenewalJitterMinutes', value: '30' }
        // Seconds before the gateway writer reads the gateway again when it is busy, after a 412 or a 429 without Retry-After.
        { name: 'ApplicationGatewayBusyPollSeconds', value: '15' }
        { name: 'FailureWebhookUrl', value: failureWebhookUrl }
        { name: 'HistoryRetentionDays', value: string(historyRetentionDays) }
        { name: 'HistoryPurgeSchedule', value: '0 30 3 * * *' }
      ])
    }
  }
  dependsOn: [newVault, challengeContainer]
}

// --- role assignments: each on one resource -------------------------------------------------

resource hostBlobOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(hostStorage.id, appIdentity.id, roles.storageBlobDataOwner.id)
  scope: hostStorage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner.id)
    principalId: appIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource hostQueues 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(hostStorage.id, appIdentity.id, roles.storageQueueDataContributor.id)
  scope: hostStorage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataContributor.id)
    principalId: appIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource hostTables 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(hostStorage.id, appIdentity.id, roles.storageTableDataContributor.id)
  scope: hostStorage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataContributor.id)
    principalId: appIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource challengeWriter 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(challengeContainer.id, appIdentity.id, roles.storageBlobDataContributor.id)
  scope: challengeContainer
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor.id)
    principalId: appIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource certificatesOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, appIdentity.id, roles.keyVaultCertificatesOfficer.id)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultCertificatesOfficer.id)
    principalId: appIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
  dependsOn: [newVault]
}

// The ACME account key is a secret the app creates on first use.
resource secretsOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, appIdentity.id, roles.keyVaultSecretsOfficer.id)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsOfficer.id)
    principalId: appIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
  dependsOn: [newVault]
}

resource telemetryPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(insights.id, appIdentity.id, roles.monitoringMetricsPublisher.id)
  scope: insights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher.id)
    principalId: appIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource schedulerWorker 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (useDurableTaskScheduler) {
  name: guid(resourceGroup().id, 'dts', appIdentity.id, roles.durableTaskDataContributor.id)
  scope: scheduler
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.durableTaskDataContributor.id)
    principalId: appIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

module gatewayAccess 'modules/gatewayAccess.bicep' = {
  name: 'appgw-certbot-gateway-access'
  scope: resourceGroup(applicationGatewayResourceGroup)
  params: {
    principalId: appIdentity.properties.principalId
    gatewayName: applicationGatewayName
    publicIpName: applicationGatewayPublicIpName
    virtualNetworkName: applicationGatewayVirtualNetworkName
    gatewayIdentityName: applicationGatewayIdentityName
  }
}

// The gateway reads the certificates it serves through its own identity.
resource gatewayReadsSecrets 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, applicationGatewayIdentityName, roles.keyVaultSecretsUser.id)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser.id)
    principalId: gatewayAccess.outputs.gatewayIdentityPrincipalId
    principalType: 'ServicePrincipal'
  }
  dependsOn: [newVault]
}

output AZURE_FUNCTION_APP_NAME string = functionApp.name
output KEY_VAULT_URL string = vault.properties.vaultUri
output CHALLENGE_CONTAINER_URL string = '${challengeAccount.properties.primaryEndpoints.blob}${challengeContainerName}'

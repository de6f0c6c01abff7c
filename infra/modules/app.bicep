// appgw-certbot: what lives in the app's own, dedicated resource group (main.bicep creates it, and
// `azd down` deletes it with everything in it): the Function App, its identity and host storage,
// monitoring, and, unless existing ones are named, the Key Vault and the challenge storage account.
// Flex Consumption: https://learn.microsoft.com/azure/azure-functions/flex-consumption-how-to
// Identity-based host storage: https://learn.microsoft.com/azure/azure-functions/functions-reference#connecting-to-host-storage-with-an-identity
targetScope = 'resourceGroup'

param environmentName string
param location string
param token string
param nodeVersion string
param acmeEndpoint string
param acmeAccountEmail string

@description('Where the gateway is: the app\'s settings name it (the contract\'s SubscriptionId, ApplicationGatewayResourceGroup, ApplicationGatewayName).')
param gatewaySubscriptionId string
param gatewayResourceGroup string
param gatewayName string
param applicationGatewayHttpSettingsName string
param applicationGatewayBackendName string

@description('True: create the Key Vault here. False: keyVaultName is an existing vault elsewhere.')
param createKeyVault bool
param keyVaultName string
@allowed(['default', 'recover'])
param keyVaultCreateMode string
@description('True: create the challenge storage account here. False: an existing account elsewhere.')
param createChallengeAccount bool
param challengeAccountName string
param challengeContainerName string
param stateContainerName string

param certificateKeyType string
param maxHostnamesPerRequest int
param maxParallelIssuances int
param renewBeforeDays int
param renewalSchedule string
param failureWebhookUrl string
param notificationEvents string
param allowedHostnames string
param selfSignedFallback bool
param acmeRateLimits string
param historyRetentionDays int
param useDurableTaskScheduler bool
@allowed(['http-01', 'dns-01'])
param acmeChallengeType string
@description('Resource ids of the Azure DNS zones the app may write _acme-challenge TXT record sets in (main.bicep assigns it the DNS challenge writer role on each).')
param dnsZoneResourceIds array
@description('ACME profile of a request that names none (empty: none sent).')
param acmeProfile string
@description('External Account Binding: the CA\'s key id and the Key Vault secret holding its HMAC key (both or neither; empty: none).')
param acmeEabKeyId string
param acmeEabHmacKeySecretName string
@description('Issuer common name of the alternate chain to use (empty: the CA\'s default chain).')
param preferredChain string
@description('Client id of the API\'s Entra app registration: App Service Authentication in front of the API (empty: function keys).')
param appServiceAuthenticationClientId string
param appServiceAuthenticationTenantId string

var tags = { 'azd-env-name': environmentName }
// Endpoints built from names and the cloud's suffixes, so an existing vault or account in another
// group or subscription needs no cross-scope reference.
var keyVaultUrl = 'https://${keyVaultName}${environment().suffixes.keyvaultDns}/'
var challengeContainerUrl = 'https://${challengeAccountName}.blob.${environment().suffixes.storage}/${challengeContainerName}'
var stateContainerUrl = 'https://${challengeAccountName}.blob.${environment().suffixes.storage}/${stateContainerName}'

// Built-in roles (their GUIDs and documented permissions) come from roles.json, the file the sandbox
// enforces and test/infra checks against these assignments:
// https://learn.microsoft.com/azure/role-based-access-control/built-in-roles
var roles = loadJsonContent('../roles.json', '$.builtInRoles')

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

// The challenge storage account, when none is named: anonymous reads allowed at account level so
// the challenge container challengeStorage.bicep creates can be public (blob level); the state
// container beside it is private, like everything else.
resource challengeStorage 'Microsoft.Storage/storageAccounts@2023-05-01' = if (createChallengeAccount) {
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

// A vault name stays taken while a deleted vault holds it (soft delete, 90 days here): the
// preprovision hook finds such a vault of this environment and sets createMode 'recover', which
// brings its certificates back; 'default' fails on it with a conflict (Learn, key-vault-recovery).
resource newVault 'Microsoft.KeyVault/vaults@2023-07-01' = if (createKeyVault) {
  name: keyVaultName
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: { family: 'A', name: 'standard' }
    createMode: keyVaultCreateMode
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
  }
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
        // Stack traces name our TypeScript files and lines: the package carries the bundle's source map.
        { name: 'NODE_OPTIONS', value: '--enable-source-maps' }
        // The app's typed configuration (src/domain/config.ts).
        { name: 'AcmeEndpoint', value: acmeEndpoint }
        { name: 'AcmeAccountEmail', value: acmeAccountEmail }
        { name: 'TenantId', value: tenant().tenantId }
        { name: 'SubscriptionId', value: gatewaySubscriptionId }
        { name: 'ApplicationGatewayResourceGroup', value: gatewayResourceGroup }
        { name: 'ApplicationGatewayName', value: gatewayName }
        { name: 'ApplicationGatewayHttpSettingsName', value: applicationGatewayHttpSettingsName }
        { name: 'ApplicationGatewayBackendName', value: applicationGatewayBackendName }
        { name: 'BlobContainerUrl', value: challengeContainerUrl }
        // Private: hostname claims, locks and the gateway writer's inbox (challengeStorage.bicep).
        { name: 'StateContainerUrl', value: stateContainerUrl }
        { name: 'KeyVaultBaseUrl', value: keyVaultUrl }
        { name: 'ArmEndpoint', value: environment().resourceManager }
        { name: 'DnsServers', value: '' }
        // DNS-01: the default challenge type and the zones the app may write TXT record sets in, always
        // listed (left empty, the app would list every zone of SubscriptionId, a read on the subscription
        // that no role here grants; the preprovision hook refuses dns-01 without zones).
        // DnsAuthoritativePort is not set: 53, the zones' name servers' port; only the sandbox moves it.
        { name: 'AcmeChallengeType', value: acmeChallengeType }
        { name: 'DnsZoneResourceIds', value: join(dnsZoneResourceIds, ',') }
        { name: 'CertificateKeyType', value: certificateKeyType }
        { name: 'AcmeAccountKeySecretName', value: 'acme-account-key' }
        // Any ACME CA: the profile of a request that names none, External Account Binding (the HMAC
        // key is a secret in this vault, read with the app's Key Vault Secrets Officer role; never a
        // setting) and the preferred chain. Empty values mean none.
        { name: 'AcmeProfile', value: acmeProfile }
        { name: 'AcmeEabKeyId', value: acmeEabKeyId }
        { name: 'AcmeEabHmacKeySecretName', value: acmeEabHmacKeySecretName }
        { name: 'PreferredChain', value: preferredChain }
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
        { name: 'NotificationEvents', value: notificationEvents }
        // Which names the starters and renew-now accept (src/domain/allowList.ts); empty: any.
        { name: 'AllowedHostnames', value: allowedHostnames }
        // Opt-in self-signed stand-in for a new hostname whose issuance fails (src/domain/selfSignedFallback.ts).
        { name: 'SelfSignedFallback', value: selfSignedFallback ? 'true' : 'false' }
        // The CA's rate limits counted before each order (src/domain/rateLimits.ts); None for a CA without limits.
        { name: 'AcmeRateLimits', value: acmeRateLimits }
        { name: 'HistoryRetentionDays', value: string(historyRetentionDays) }
        { name: 'HistoryPurgeSchedule', value: '0 30 3 * * *' }
        // Who may call the API (src/http/authorisation.ts): function keys, or Entra ID through App Service
        // Authentication (authSettings below) with writes for the app role ApiWriterRole.
        { name: 'ApiAuthentication', value: empty(appServiceAuthenticationClientId) ? 'FunctionKey' : 'AppServiceAuthentication' }
        { name: 'ApiWriterRole', value: 'Certificates.Write' }
      ])
    }
  }
  dependsOn: [newVault, challengeStorage]
}

// App Service Authentication (Easy Auth) in front of the whole app when an app registration is named:
// https://learn.microsoft.com/azure/app-service/configure-authentication-provider-aad (authsettingsV2).
// Return401 rather than RedirectToLoginPage: the API's callers are scripts and the CLI with bearer
// tokens, for whom a redirect to a sign-in page is a confusing 302; the dashboard is excluded from
// the requirement (it holds no data) and signs a browser in itself through /.auth/login/aad. The
// issuer is the v2.0 one, so the registration issues v2 tokens (requestedAccessTokenVersion 2, see
// README; with a v2.0 issuer "only AAD v2 bearer tokens are accepted", MicrosoftDocs/azure-docs#76602);
// both audiences are allowed: the client id (a v2 token's aud) and api://<client id> (the
// Application ID URI). Without a client secret the browser sign-in uses the implicit ID token
// flow, so the registration enables ID tokens.
var authIssuer = '${environment().authentication.loginEndpoint}${appServiceAuthenticationTenantId}/v2.0'
resource authSettings 'Microsoft.Web/sites/config@2024-04-01' = if (!empty(appServiceAuthenticationClientId)) {
  parent: functionApp
  name: 'authsettingsV2'
  properties: {
    platform: { enabled: true }
    globalValidation: {
      requireAuthentication: true
      unauthenticatedClientAction: 'Return401'
      // An entry is its path only; children need a trailing /* (MicrosoftDocs/azure-docs#86514:
      // "use /myfolder/subfolder/*"): the page, its script and style sheet, the OpenAPI document.
      excludedPaths: ['/api/dashboard', '/api/dashboard/*', '/api/openapi.json']
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          clientId: appServiceAuthenticationClientId
          openIdIssuer: authIssuer
        }
        validation: {
          allowedAudiences: ['api://${appServiceAuthenticationClientId}', appServiceAuthenticationClientId]
        }
      }
    }
    login: { tokenStore: { enabled: false } }
  }
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

output appPrincipalId string = appIdentity.properties.principalId
output functionAppName string = functionApp.name
output keyVaultUrl string = keyVaultUrl
output challengeContainerUrl string = challengeContainerUrl

// appgw-certbot: free, automatically renewed certificates for an existing Application Gateway.
// `azd up` provisions this file and deploys dist-package/; `azd down` removes what it created.
//
// Subscription scope, so the app gets a resource group of its own that this template creates:
// azd (1.24.0 and later, azure.yaml requiredVersions) deletes on `azd down` exactly the resource
// groups the deployment created (azure-dev pkg/azapi/standard_deployments.go,
// createdResourceGroupsFromDeployment), never a group it only deployed into. Everything passed in as
// existing (gateway, VNet, public IPs, identities, WAF policies, Key Vault, challenge storage, DNS zones) is
// referenced by resource id, in any group or subscription, and stays; the role assignments and
// custom roles made on them are removed by the azd down hooks once that group is gone (scripts/deploy/predown.ts).
targetScope = 'subscription'

@minLength(1)
@maxLength(40)
@description('Name of the azd environment; names are derived from it.')
param environmentName string

// Regions with the Flex Consumption plan, as Microsoft's Flex Consumption azd templates list them;
// the live list: `az functionapp list-flexconsumption-locations` (Learn, flex-consumption-how-to).
@allowed([
  'australiaeast'
  'australiasoutheast'
  'brazilsouth'
  'canadacentral'
  'centralindia'
  'centralus'
  'eastasia'
  'eastus'
  'eastus2'
  'francecentral'
  'germanywestcentral'
  'italynorth'
  'japaneast'
  'koreacentral'
  'northcentralus'
  'northeurope'
  'norwayeast'
  'southafricanorth'
  'southcentralus'
  'southeastasia'
  'southindia'
  'spaincentral'
  'swedencentral'
  'uaenorth'
  'uksouth'
  'ukwest'
  'westcentralus'
  'westeurope'
  'westus'
  'westus2'
  'westus3'
])
@metadata({ azd: { type: 'location' } })
param location string

@minLength(1)
@maxLength(90)
@description('The app\'s own resource group, created by this template (the preprovision hook refuses an existing group this environment did not create: `azd down` deletes it whole).')
param resourceGroupName string = 'rg-${environmentName}'

@allowed(['22', '20'])
param nodeVersion string = '22'

@description('ACME directory URL (Let\'s Encrypt production by default).')
param acmeEndpoint string = 'https://acme-v02.api.letsencrypt.org/directory'
@minLength(3)
param acmeAccountEmail string

@minLength(90)
@description('Resource id of the existing Application Gateway v2: /subscriptions/…/resourceGroups/…/providers/Microsoft.Network/applicationGateways/….')
param applicationGatewayId string
@minLength(90)
@description('Resource ids, comma-separated, of everything a PUT of the gateway links to (its subnets, public IPs, user-assigned identities, WAF policies), in any group or subscription; the preprovision hook reads them from the gateway.')
param applicationGatewayLinkedResourceIds string
@minLength(90)
@description('Resource id of the user-assigned identity the gateway reads Key Vault with (one of its identities).')
param applicationGatewayIdentityId string
@description('The gateway linker role\'s actions, comma-separated, as the operations catalog accepts them (set by the preprovision hook; empty: as infra/roles.json lists them).')
param gatewayLinkerActions string = ''
param applicationGatewayHttpSettingsName string
param applicationGatewayBackendName string

@allowed(['http-01', 'dns-01'])
@description('How the app proves a name by default (a request may choose per name): http-01 through the gateway\'s challenge path rule, or dns-01 through TXT records in dnsZoneResourceIds (needed for wildcards).')
param acmeChallengeType string = 'http-01'
// Comma-separated like applicationGatewayLinkedResourceIds: azd passes a parameters-file string
// unchanged to an array parameter (azure-dev bicep_provider.go, armParameterFileValue), and
// main.parameters.json must stay valid JSON around the ${…} it substitutes.
@description('Resource ids, comma-separated, of the Azure DNS zones (public) the app answers DNS-01 challenges in, in any group or subscription: the app may read each and write its TXT record sets (the _acme-challenge ones it answers with), no other record type. Empty: none.')
param dnsZoneResourceIds string = ''

@description('ACME profile (draft-aaron-acme-profiles) ordered when a request names none, one the CA lists in its directory\'s meta.profiles (Let\'s Encrypt: classic, tlsserver, shortlived). Empty: none sent, the CA\'s default.')
param acmeProfile string = ''
@description('External Account Binding key id the CA gave (ZeroSSL, Google Trust Services, SSL.com...). Empty: no binding. Set with acmeEabHmacKeySecretName.')
param acmeEabKeyId string = ''
@description('Name of the Key Vault secret holding the CA\'s EAB HMAC key, stored there by the operator (never an app setting). Empty: no binding.')
param acmeEabHmacKeySecretName string = ''
@description('Issuer common name of the topmost certificate of the CA\'s alternate chain to use (Link rel="alternate"). Empty: the CA\'s default chain.')
param preferredChain string = ''

@description('Empty: create a Key Vault in the app\'s group. Or the resource id of an existing vault (RBAC mode), in any group or subscription; it is never deleted.')
param existingKeyVaultId string = ''
@allowed(['default', 'recover'])
@description('recover: bring back this environment\'s soft-deleted vault (the preprovision hook sets it when one holds the name).')
param keyVaultCreateMode string = 'default'
@description('Empty: create the challenge storage account in the app\'s group. Or the resource id of an existing account that allows anonymous blob reads.')
param existingChallengeStorageAccountId string = ''
param challengeContainerName string = 'acme-challenge'
@description('Private container, in the challenge storage account, for hostname claims, locks and the gateway writer\'s inbox (no anonymous access).')
param stateContainerName string = 'appgw-certbot-state'

@allowed(['RSA-2048', 'RSA-3072', 'RSA-4096', 'EC-P256', 'EC-P384'])
param certificateKeyType string = 'RSA-2048'
@minValue(1)
@maxValue(100)
param maxHostnamesPerRequest int = 100
@minValue(1)
param maxParallelIssuances int = 10
@minValue(1)
@maxValue(365)
param renewBeforeDays int = 30
@description('When the renewal timer runs (NCRONTAB, UTC).')
param renewalSchedule string = '0 0 3 * * *'
@description('Optional Slack / Teams / JSON webhook; it receives every event notificationEvents lists.')
param failureWebhookUrl string = ''
@description('Events posted to failureWebhookUrl, comma-separated from failure, overdue, issued, renewed (issued and renewed opt in to successes).')
param notificationEvents string = 'failure,overdue'
@description('The names the app may order certificates for: exact names and *.suffix patterns, comma-separated. Empty: any name (the app refuses every name only when the setting is absent, which a deployment never leaves it).')
param allowedHostnames string
@description('Opt-in: a new hostname whose issuance fails gets a self-signed certificate from Key Vault on its listener until issuance succeeds (never over a certificate it has).')
param selfSignedFallback bool = false
@description('The CA rate limits counted before each order (src/domain/rateLimits.ts): LetsEncrypt, None (a CA without limits, such as a private ACME CA), or overrides like CertificatesPerDomain=20/7d.')
param acmeRateLimits string = 'LetsEncrypt'
param historyRetentionDays int = 30
@description('Durable Functions state: Azure Storage (default) or the Durable Task Scheduler.')
param useDurableTaskScheduler bool = false
@description('API sign-in with Microsoft Entra ID through App Service Authentication: the client id of the API\'s app registration (with the app role Certificates.Write). Empty: function keys, as before. README, Authentication.')
param appServiceAuthenticationClientId string = ''
@description('The tenant of that app registration (default: this deployment\'s).')
param appServiceAuthenticationTenantId string = tenant().tenantId

// Unique per subscription and environment: resource names, and the custom roles' tenant-wide names.
var token = toLower(uniqueString(subscription().id, environmentName))
var tags = { 'azd-env-name': environmentName }

// /subscriptions/{0}/resourceGroups/{1}/providers/{2}/{3}/{4}: split(id, '/') indexes 2, 4, 8.
var gatewayParts = split(applicationGatewayId, '/')
var identityParts = split(applicationGatewayIdentityId, '/')
var vaultParts = split(existingKeyVaultId, '/')
var challengeParts = split(existingChallengeStorageAccountId, '/')
var createKeyVault = empty(existingKeyVaultId)
var createChallengeAccount = empty(existingChallengeStorageAccountId)
var keyVaultName = createKeyVault ? 'kv-${token}' : vaultParts[8]
var challengeAccountName = createChallengeAccount ? 'stc${token}' : challengeParts[8]
// Where the vault and the challenge account are: the app's group, or the existing one's. A module's
// scope cannot be a ternary between two scopes (BCP420), so the ternaries pick the arguments; ARM's
// if() evaluates only the branch taken, so an empty id is never indexed.
var vaultSubscriptionId = createKeyVault ? subscription().subscriptionId : vaultParts[2]
var vaultResourceGroup = createKeyVault ? resourceGroupName : vaultParts[4]
var challengeSubscriptionId = createChallengeAccount ? subscription().subscriptionId : challengeParts[2]
var challengeResourceGroup = createChallengeAccount ? resourceGroupName : challengeParts[4]
var linkedResourceIds = split(applicationGatewayLinkedResourceIds, ',')
// Lower case: union() compares case-sensitively, and ids read from a gateway mix spellings.
var linkedResourceGroupIds = union(map(linkedResourceIds, id => toLower('/subscriptions/${split(id, '/')[2]}/resourceGroups/${split(id, '/')[4]}')), [])
// The zones, blanks dropped (an empty parameter is no zone, not one empty id), and their groups.
var dnsZoneIds = filter(map(split(dnsZoneResourceIds, ','), id => trim(id)), id => !empty(id))
var dnsZoneGroupIds = union(map(dnsZoneIds, id => toLower('/subscriptions/${split(id, '/')[2]}/resourceGroups/${split(id, '/')[4]}')), [])

resource appGroup 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: resourceGroupName
  location: location
  tags: tags
}

module app 'modules/app.bicep' = {
  name: 'appgw-certbot-app'
  scope: appGroup
  params: {
    environmentName: environmentName
    location: location
    token: token
    nodeVersion: nodeVersion
    acmeEndpoint: acmeEndpoint
    acmeAccountEmail: acmeAccountEmail
    gatewaySubscriptionId: gatewayParts[2]
    gatewayResourceGroup: gatewayParts[4]
    gatewayName: gatewayParts[8]
    applicationGatewayHttpSettingsName: applicationGatewayHttpSettingsName
    applicationGatewayBackendName: applicationGatewayBackendName
    createKeyVault: createKeyVault
    keyVaultName: keyVaultName
    keyVaultCreateMode: keyVaultCreateMode
    createChallengeAccount: createChallengeAccount
    challengeAccountName: challengeAccountName
    challengeContainerName: challengeContainerName
    stateContainerName: stateContainerName
    certificateKeyType: certificateKeyType
    maxHostnamesPerRequest: maxHostnamesPerRequest
    maxParallelIssuances: maxParallelIssuances
    renewBeforeDays: renewBeforeDays
    renewalSchedule: renewalSchedule
    failureWebhookUrl: failureWebhookUrl
    notificationEvents: notificationEvents
    allowedHostnames: allowedHostnames
    selfSignedFallback: selfSignedFallback
    acmeRateLimits: acmeRateLimits
    historyRetentionDays: historyRetentionDays
    useDurableTaskScheduler: useDurableTaskScheduler
    appServiceAuthenticationClientId: appServiceAuthenticationClientId
    appServiceAuthenticationTenantId: appServiceAuthenticationTenantId
    acmeChallengeType: acmeChallengeType
    dnsZoneResourceIds: dnsZoneIds
    acmeProfile: acmeProfile
    acmeEabKeyId: acmeEabKeyId
    acmeEabHmacKeySecretName: acmeEabHmacKeySecretName
    preferredChain: preferredChain
  }
}

// The gateway's identity, wherever it lives: its principal gets Key Vault Secrets User.
resource gatewayIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' existing = {
  name: identityParts[8]
  scope: resourceGroup(identityParts[2], identityParts[4])
}

module vaultAccess 'modules/vaultAccess.bicep' = {
  name: 'appgw-certbot-vault-access-${token}'
  scope: resourceGroup(vaultSubscriptionId, vaultResourceGroup)
  params: {
    vaultName: keyVaultName
    appPrincipalId: app.outputs.appPrincipalId
    gatewayPrincipalId: gatewayIdentity.properties.principalId
  }
  dependsOn: [appGroup]
}

module challengeStorage 'modules/challengeStorage.bicep' = {
  name: 'appgw-certbot-challenge-${token}'
  scope: resourceGroup(challengeSubscriptionId, challengeResourceGroup)
  params: {
    accountName: challengeAccountName
    containerName: challengeContainerName
    stateContainerName: stateContainerName
    appPrincipalId: app.outputs.appPrincipalId
  }
  dependsOn: [appGroup]
}

module gatewayAccess 'modules/gatewayAccess.bicep' = {
  name: 'appgw-certbot-gateway-access-${token}'
  scope: resourceGroup(gatewayParts[2], gatewayParts[4])
  params: {
    principalId: app.outputs.appPrincipalId
    gatewayName: gatewayParts[8]
    // The gateway's group is in the name too: pointing an environment at a gateway in another group
    // creates new roles (new GUIDs), which may not reuse a name (names are tenant-wide).
    roleNameSuffix: '${environmentName}, ${token}, ${uniqueString(toLower(gatewayParts[2]), toLower(gatewayParts[4]))}'
    linkedResourceGroupIds: linkedResourceGroupIds
    gatewayLinkerActions: empty(gatewayLinkerActions) ? [] : split(gatewayLinkerActions, ',')
    dnsZoneGroupIds: dnsZoneGroupIds
  }
}

// One assignment per linked resource, in that resource's own group and subscription.
module linkedResourceAccess 'modules/linkedResourceAccess.bicep' = [
  for (id, index) in linkedResourceIds: {
    name: 'appgw-certbot-linked-${token}-${index}'
    scope: resourceGroup(split(id, '/')[2], split(id, '/')[4])
    params: {
      resourceId: id
      principalId: app.outputs.appPrincipalId
      roleDefinitionGuid: gatewayAccess.outputs.gatewayLinkerRoleGuid
    }
  }
]

// The DNS challenge writer role on each Azure DNS zone, in that zone's own group and subscription.
module dnsZoneAccess 'modules/dnsZoneAccess.bicep' = [
  for (id, index) in dnsZoneIds: {
    name: 'appgw-certbot-dns-zone-${token}-${index}'
    scope: resourceGroup(split(id, '/')[2], split(id, '/')[4])
    params: {
      zoneName: split(id, '/')[8]
      principalId: app.outputs.appPrincipalId
      roleDefinitionGuid: gatewayAccess.outputs.dnsChallengeWriterRoleGuid
    }
  }
]

output AZURE_RESOURCE_GROUP string = appGroup.name
output AZURE_FUNCTION_APP_NAME string = app.outputs.functionAppName
output KEY_VAULT_URL string = app.outputs.keyVaultUrl
output CHALLENGE_CONTAINER_URL string = app.outputs.challengeContainerUrl
// What lives outside the app's group and `azd down` would leave behind: the postdown hook removes
// these assignments, then these role definitions. (One output per module loop: a for-expression
// cannot sit inside concat, and a lambda cannot index a module collection.)
output EXTERNAL_ROLE_ASSIGNMENT_IDS array = concat(
  gatewayAccess.outputs.roleAssignmentIds,
  createKeyVault ? [] : vaultAccess.outputs.roleAssignmentIds,
  createChallengeAccount ? [] : challengeStorage.outputs.roleAssignmentIds
)
output LINKED_ROLE_ASSIGNMENT_IDS array = [for i in range(0, length(linkedResourceIds)): linkedResourceAccess[i].outputs.roleAssignmentId]
output DNS_ZONE_ROLE_ASSIGNMENT_IDS array = [for i in range(0, length(dnsZoneIds)): dnsZoneAccess[i].outputs.roleAssignmentId]
output CUSTOM_ROLE_DEFINITION_IDS array = gatewayAccess.outputs.roleDefinitionIds

// The DNS challenge writer role on ONE Azure DNS zone the app answers DNS-01 challenges in,
// deployed into that zone's resource group, wherever it is (DNS zones often live in a shared
// connectivity or DNS subscription). main.bicep deploys one per zone id; the preprovision hook has
// read each zone and refused one that is not a public zone.
// The assignment is on the zone, not its group, so the other zones of the group stay out of reach;
// the role (gatewayAccess.bicep) writes TXT record sets only: DNS Zone Contributor would also write
// every other record type and delete the zone (Learn, "How to protect DNS zones and records",
// custom roles: https://learn.microsoft.com/azure/dns/dns-protect-zones-recordsets#custom-roles).
targetScope = 'resourceGroup'

@description('Name of the Azure DNS zone (its apex domain, e.g. contoso.com), in this resource group.')
param zoneName string
@description('Principal id of the function app identity.')
param principalId string
@description('GUID of the DNS challenge writer role definition (a custom role is named by its id in the subscription it is assigned in).')
param roleDefinitionGuid string

resource dnsZone 'Microsoft.Network/dnsZones@2018-05-01' existing = {
  name: zoneName
}

resource onDnsZone 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(dnsZone.id, principalId, roleDefinitionGuid)
  scope: dnsZone
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleDefinitionGuid)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

output roleAssignmentId string = onDnsZone.id

import { definitionsOf, decide, roleFile, scopeCovers, type Assignment } from '../../sandbox/rbac/model';
import type { Arm, ArmReply } from '../../scripts/deploy/arm';
import { DeploymentParameters, GatewayView, PlanError, dedicatedGroupProblem, renderDeployment, staleRoleObjects } from '../../scripts/deploy/plan';
import { preprovision } from '../../scripts/deploy/preprovision';
import { cleanUp, noteCleanup } from '../../scripts/deploy/predown';
import { gatewayLinkedAccess } from '../../src/domain/gatewayLinks';

/**
 * The deployment rendered for three landing zones (no Bicep compiler runs here: the render is
 * scripts/deploy/plan.ts, whose expressions test/infra/infra.test.ts pins in the Bicep text). For
 * each: the preprovision hook reads the gateway from an inventory of what exists, every reference
 * resolves, and every action the app and the gateway's identity perform is granted by the role
 * definitions of infra/roles.json (built-in as Learn documents them, custom as we define them), as
 * the sandbox's RBAC model evaluates them. Then what `azd down` would delete.
 */
const APP_SUB = '11111111-1111-1111-1111-111111111111';
const HUB_SUB = '22222222-2222-2222-2222-222222222222';
const SEC_SUB = '33333333-3333-3333-3333-333333333333';
const rg = (sub: string, group: string): string => `/subscriptions/${sub}/resourceGroups/${group}`;
const net = (sub: string, group: string, type: string, name: string): string => `${rg(sub, group)}/providers/Microsoft.Network/${type}/${name}`;
const uai = (sub: string, group: string, name: string): string => `${rg(sub, group)}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`;

interface LandingZone {
  name: string;
  gateway: GatewayView & { id: string };
  /** Every other resource that exists before the deployment, by id, with the body ARM answers. */
  existing: Record<string, Record<string, unknown>>;
  env: Record<string, string>;
}

function gatewayBody(id: string, options: { sku: string; subnet: string; publicIps: string[]; privateFrontendSubnet?: string; identity: string; policy?: string; listenerPolicy?: string; pathPolicy?: string }): GatewayView & { id: string } {
  return {
    id,
    location: 'westeurope',
    identity: { userAssignedIdentities: { [options.identity]: {} } },
    properties: {
      sku: { name: options.sku, tier: options.sku, capacity: 2 },
      gatewayIPConfigurations: [{ name: 'gw-ip', properties: { subnet: { id: options.subnet } } }],
      frontendIPConfigurations: [
        ...options.publicIps.map((ip, i) => ({ name: `public-${i}`, properties: { publicIPAddress: { id: ip } } })),
        ...(options.privateFrontendSubnet ? [{ name: 'private', properties: { privateIPAddress: '10.1.0.10', privateIPAllocationMethod: 'Static', subnet: { id: options.privateFrontendSubnet } } }] : []),
      ],
      ...(options.policy ? { firewallPolicy: { id: options.policy } } : {}),
      httpListeners: [{ name: 'http', properties: { protocol: 'Http', ...(options.listenerPolicy ? { firewallPolicy: { id: options.listenerPolicy } } : {}) } }],
      urlPathMaps: [{ name: 'paths', properties: { pathRules: [{ name: 'acme', properties: { paths: ['/.well-known/acme-challenge/*'], ...(options.pathPolicy ? { firewallPolicy: { id: options.pathPolicy } } : {}) } }] } }],
    },
  };
}

const baseEnv = { AZURE_SUBSCRIPTION_ID: APP_SUB, AZURE_LOCATION: 'westeurope', APPGW_HTTP_SETTINGS_NAME: 'https-settings', APPGW_BACKEND_NAME: 'backend', AZURE_ALLOWED_HOSTNAMES: '*.contoso.com' };

const singleGroup: LandingZone = (() => {
  const gateway = gatewayBody(net(APP_SUB, 'rg-appgw', 'applicationGateways', 'appgw'), {
    sku: 'Standard_v2',
    subnet: `${net(APP_SUB, 'rg-appgw', 'virtualNetworks', 'vnet')}/subnets/appgw`,
    publicIps: [net(APP_SUB, 'rg-appgw', 'publicIPAddresses', 'appgw-pip')],
    identity: uai(APP_SUB, 'rg-appgw', 'appgw-identity'),
  });
  return {
    name: 'gateway, VNet and identity in one group',
    gateway,
    existing: inventory(gateway, {}),
    env: { ...baseEnv, AZURE_ENV_NAME: 'certbot-single', APPGW_ID: gateway.id },
  };
})();

const vaultId = `${rg(APP_SUB, 'rg-shared-security')}/providers/Microsoft.KeyVault/vaults/kv-shared`;
const accountId = `${rg(APP_SUB, 'rg-shared-storage')}/providers/Microsoft.Storage/storageAccounts/stchallenges`;
const hubSubnet = `${net(HUB_SUB, 'rg-hub-network', 'virtualNetworks', 'vnet-hub')}/subnets/appgw`;

/** Azure DNS zones: one in the hub (connectivity) subscription, one in a group of the app's subscription. */
const dnsZone = (sub: string, group: string, name: string): string => `${rg(sub, group)}/providers/Microsoft.Network/dnszones/${name}`;
const hubZone = dnsZone(HUB_SUB, 'rg-hub-dns', 'contoso.com');
const spokeZone = dnsZone(APP_SUB, 'rg-dns', 'fabrikam.com');
const publicZone = { properties: { zoneType: 'Public', nameServers: ['ns1-01.azure-dns.com.', 'ns2-01.azure-dns.net.', 'ns3-01.azure-dns.org.', 'ns4-01.azure-dns.info.'] } };

const hubAndSpoke: LandingZone = (() => {
  const gateway = gatewayBody(net(APP_SUB, 'rg-spoke-appgw', 'applicationGateways', 'appgw'), {
    sku: 'Standard_v2',
    subnet: hubSubnet,
    publicIps: [net(HUB_SUB, 'rg-hub-network', 'publicIPAddresses', 'appgw-pip-v4'), net(HUB_SUB, 'rg-hub-network', 'publicIPAddresses', 'appgw-pip-v6')],
    privateFrontendSubnet: hubSubnet,
    identity: uai(APP_SUB, 'rg-identities', 'appgw-identity'),
  });
  return {
    name: 'hub-and-spoke across groups and subscriptions, existing Key Vault and storage, DNS-01 in zones of two subscriptions',
    gateway,
    existing: inventory(gateway, { [vaultId]: { properties: { enableRbacAuthorization: true } }, [accountId]: { properties: { allowBlobPublicAccess: true } }, [hubZone]: publicZone, [spokeZone]: publicZone }),
    env: {
      ...baseEnv,
      AZURE_ENV_NAME: 'certbot-hub',
      APPGW_ID: gateway.id,
      EXISTING_KEY_VAULT_ID: vaultId,
      EXISTING_CHALLENGE_STORAGE_ACCOUNT_ID: accountId,
      ACME_CHALLENGE_TYPE: 'dns-01',
      AZURE_DNS_ZONE_RESOURCE_IDS: `${hubZone},${spokeZone}`,
    },
  };
})();

const policy = (name: string): string => net(SEC_SUB, 'rg-waf-policies', 'ApplicationGatewayWebApplicationFirewallPolicies', name);
const wafWithPolicy: LandingZone = (() => {
  const gateway = gatewayBody(net(APP_SUB, 'rg-appgw', 'applicationGateways', 'appgw-waf'), {
    sku: 'WAF_v2',
    subnet: hubSubnet,
    publicIps: [net(HUB_SUB, 'rg-hub-network', 'publicIPAddresses', 'appgw-waf-pip')],
    identity: uai(APP_SUB, 'rg-identities', 'appgw-identity'),
    policy: policy('waf-global'),
    listenerPolicy: policy('waf-site'),
    pathPolicy: policy('waf-path'),
  });
  return {
    name: 'WAF_v2 with policies (gateway, listener, path rule) in a third group and subscription',
    gateway,
    existing: inventory(gateway, {}),
    env: { ...baseEnv, AZURE_ENV_NAME: 'certbot-waf', APPGW_ID: gateway.id },
  };
})();

/** What exists: the gateway, everything it references, and the extras. */
function inventory(gateway: GatewayView & { id: string }, extra: Record<string, Record<string, unknown>>): Record<string, Record<string, unknown>> {
  const existing: Record<string, Record<string, unknown>> = { [gateway.id]: { ...gateway }, ...extra };
  for (const { scope } of gatewayLinkedAccess(gateway)) existing[scope] = { id: scope };
  return existing;
}

/** Resource Manager as the hooks see it, answering from a landing zone's inventory (ids compare case-insensitively, as ARM's do). */
/** The operations catalog as Resource Manager lists it: every action roles.json names, unless a test leaves one out. */
const FULL_CATALOG = [
  ...Object.values(roleFile.customRoles).flatMap((role) => role.actions),
  'Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies/read',
  'Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies/attachWafPolicyToAgc/action',
];

function catalogReply(path: string, catalog: string[]): ArmReply | undefined {
  const match = /^\/providers\/Microsoft\.Authorization\/providerOperations\/([^/?]+)\?\$expand=resourceTypes$/i.exec(path);
  if (!match) return undefined;
  const own = catalog.filter((operation) => operation.toLowerCase().startsWith(`${match[1].toLowerCase()}/`));
  // Provider-level operations at the top, the rest under their resource type (the shape of the REST answer).
  return { status: 200, body: { name: match[1], operations: own.filter((o) => o.split('/').length === 3).map((name) => ({ name })), resourceTypes: [{ name: 'all', operations: own.filter((o) => o.split('/').length > 3).map((name) => ({ name })) }] } };
}

function inventoryArm(zone: LandingZone, groups: Record<string, Record<string, string>> = {}, deletedVaultPages: Record<string, unknown>[][] = [[]], catalog: string[] = FULL_CATALOG): Arm & { deleted: string[] } {
  const deleted: string[] = [];
  const find = (path: string): Record<string, unknown> | undefined => Object.entries(zone.existing).find(([id]) => id.toLowerCase() === path.toLowerCase())?.[1];
  const notFound: ArmReply = { status: 404, body: { error: { code: 'ResourceNotFound', message: 'not found' } } };
  return {
    deleted,
    async get(path) {
      const operations = catalogReply(path, catalog);
      if (operations) return operations;
      const page = /\/providers\/Microsoft\.KeyVault\/deletedVaults(?:\?\$skiptoken=(\d+))?$/i.exec(path);
      if (page) {
        const index = Number(page[1] ?? 0);
        const nextLink = index + 1 < deletedVaultPages.length ? `https://management.azure.com/subscriptions/${APP_SUB}/providers/Microsoft.KeyVault/deletedVaults?api-version=2023-07-01&$skiptoken=${index + 1}` : undefined;
        return { status: 200, body: { value: deletedVaultPages[index], ...(nextLink ? { nextLink } : {}) } };
      }
      const group = Object.entries(groups).find(([id]) => id.toLowerCase() === path.toLowerCase());
      if (group) return { status: 200, body: { tags: group[1] } };
      const body = find(path);
      return body ? { status: 200, body } : notFound;
    },
    async delete(path) {
      deleted.push(path);
      return { status: 200, body: {} };
    },
  };
}

async function parametersFor(zone: LandingZone): Promise<DeploymentParameters> {
  const { values } = await preprovision(zone.env, inventoryArm(zone));
  return {
    environmentName: zone.env.AZURE_ENV_NAME,
    subscriptionId: APP_SUB,
    location: 'westeurope',
    resourceGroupName: values.AZURE_APP_RESOURCE_GROUP,
    applicationGatewayId: values.APPGW_ID,
    applicationGatewayLinkedResourceIds: values.APPGW_LINKED_RESOURCE_IDS.split(','),
    applicationGatewayIdentityId: values.APPGW_IDENTITY_ID,
    existingKeyVaultId: zone.env.EXISTING_KEY_VAULT_ID,
    existingChallengeStorageAccountId: zone.env.EXISTING_CHALLENGE_STORAGE_ACCOUNT_ID,
    challengeContainerName: 'acme-challenge',
    dnsZoneResourceIds: values.AZURE_DNS_ZONE_RESOURCE_IDS ? values.AZURE_DNS_ZONE_RESOURCE_IDS.split(',') : [],
  };
}

/** The zones a landing zone lists for DNS-01. */
const zonesOf = (zone: LandingZone): string[] => (zone.env.AZURE_DNS_ZONE_RESOURCE_IDS ?? '').split(',').filter(Boolean);

const definitions = definitionsOf(roleFile);

/** Every operation the app and the gateway's identity perform in Azure, with its scope, for this zone. */
function operationsOf(zone: LandingZone, vault: string, container: string, state: string): { principal: string; operation: string; kind: 'action' | 'dataAction'; scope: string }[] {
  const app = (operation: string, scope: string, kind: 'action' | 'dataAction' = 'action') => ({ principal: 'app', operation, kind, scope });
  const gatewayGroup = zone.gateway.id.replace(/\/providers\/.*$/, '');
  const publicIps = gatewayLinkedAccess(zone.gateway).filter((c) => /publicIPAddresses/i.test(c.scope));
  return [
    app('Microsoft.Network/applicationGateways/read', zone.gateway.id),
    app('Microsoft.Network/applicationGateways/write', zone.gateway.id),
    // The Azure-AsyncOperation poll: authorized at the gateway's resource group (Learn, async-operations).
    app('Microsoft.Network/locations/operations/read', gatewayGroup),
    ...publicIps.map((ip) => app('Microsoft.Network/publicIPAddresses/read', ip.scope)),
    ...gatewayLinkedAccess(zone.gateway).map((check) => app(check.action, check.scope)),
    app('Microsoft.KeyVault/vaults/certificates/create/action', `${vault}/certificates/www`, 'dataAction'),
    app('Microsoft.KeyVault/vaults/certificates/import/action', `${vault}/certificates/www`, 'dataAction'),
    app('Microsoft.KeyVault/vaults/secrets/setSecret/action', `${vault}/secrets/acme-account-key`, 'dataAction'),
    app('Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write', `${container}/blobs/.well-known/acme-challenge/token`, 'dataAction'),
    app('Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete', `${container}/blobs/.well-known/acme-challenge/token`, 'dataAction'),
    // Claims, locks and the gateway writer's inbox, in the private state container.
    app('Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read', `${state}/blobs/gateway-writer/appgw.json`, 'dataAction'),
    app('Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write', `${state}/blobs/locks/hostname-www`, 'dataAction'),
    { principal: 'gateway', operation: 'Microsoft.KeyVault/vaults/secrets/getSecret/action', kind: 'dataAction', scope: `${vault}/secrets/www` },
    // DNS-01 in each listed zone: its name servers, then the _acme-challenge TXT record set read (etag), written and deleted.
    ...zonesOf(zone).flatMap((dns) => [
      app('Microsoft.Network/dnsZones/read', dns),
      ...['read', 'write', 'delete'].map((verb) => app(`Microsoft.Network/dnsZones/TXT/${verb}`, `${dns}/TXT/_acme-challenge.www`)),
    ]),
  ];
}

function assignmentsOf(parameters: DeploymentParameters): Assignment[] {
  return renderDeployment(parameters).assignments.map((a, i) => ({ name: `${a.name}#${i}`, principal: a.principal, role: a.role, scope: a.scope, enforced: true }));
}

describe.each([singleGroup, hubAndSpoke, wafWithPolicy])('landing zone: $name', (zone) => {
  it('resolves every reference: what the deployment assigns on exists, or the deployment creates it', async () => {
    const parameters = await parametersFor(zone);
    const rendered = renderDeployment(parameters);
    const exists = (id: string): boolean => Object.keys(zone.existing).some((e) => e.toLowerCase() === id.toLowerCase()) || rendered.createdResources.includes(id) || rendered.createdResourceGroups.includes(id) || /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+$/.test(id);
    for (const assignment of rendered.assignments) expect({ assignment: assignment.name, scope: assignment.scope, exists: exists(assignment.scope) }).toMatchObject({ exists: true });
    // Every linked resource of the gateway gets its assignment, nothing else does.
    const linked = gatewayLinkedAccess(zone.gateway).map((c) => c.scope.toLowerCase());
    const onLinked = rendered.assignments.filter((a) => a.name === 'onLinkedResource').map((a) => a.scope.toLowerCase());
    expect([...new Set(onLinked)].sort()).toEqual([...new Set(linked)].sort());
    expect(onLinked.length).toBe(new Set(onLinked).size);
    // Every listed DNS zone gets the DNS challenge writer, on the zone itself, nothing else does.
    expect(rendered.assignments.filter((a) => a.name === 'onDnsZone').map((a) => ({ role: a.role, scope: a.scope, external: a.external }))).toEqual(
      zonesOf(zone).map((scope) => ({ role: 'dnsChallengeWriter', scope, external: true })),
    );
  });

  it('grants every action the app and the gateway perform, and every custom role is assignable where it is assigned', async () => {
    const parameters = await parametersFor(zone);
    const rendered = renderDeployment(parameters);
    const assignments = assignmentsOf(parameters);
    const vault = rendered.assignments.find((a) => a.name === 'certificatesOfficer')!.scope;
    const container = rendered.assignments.find((a) => a.name === 'challengeWriter')!.scope;
    const state = rendered.assignments.find((a) => a.name === 'stateWriter')!.scope;
    // Both containers are in the challenge account, the state one private beside the public one.
    expect(state).toBe(container.replace(/\/containers\/acme-challenge$/, '/containers/appgw-certbot-state'));
    const denied = operationsOf(zone, vault, container, state).filter((op) => !decide(definitions, assignments, op.principal, op.operation, op.kind, op.scope).allowed);
    expect(denied).toEqual([]);
    for (const assignment of rendered.assignments.filter((a) => a.role in roleFile.customRoles)) {
      const definition = rendered.roleDefinitions.find((d) => d.role === assignment.role)!;
      expect({ assignment: assignment.name, scope: assignment.scope, assignable: definition.assignableScopes.some((s) => scopeCovers(s, assignment.scope)) }).toMatchObject({ assignable: true });
    }
  });

  it('would be refused a gateway PUT if one linked resource were left out (the check bites)', async () => {
    const parameters = await parametersFor(zone);
    const [first, ...rest] = parameters.applicationGatewayLinkedResourceIds;
    const assignments = assignmentsOf({ ...parameters, applicationGatewayLinkedResourceIds: rest });
    const check = gatewayLinkedAccess(zone.gateway).find((c) => c.scope === first)!;
    expect(decide(definitions, assignments, 'app', check.action, 'action', check.scope).allowed).toBe(false);
  });
});

describe('what `azd down` deletes (azd >= 1.24: the resource groups the deployment created, and the Key Vaults in them)', () => {
  it('deletes only the dedicated group, which holds nothing passed in as existing; the predown hook removes the assignments and roles outside it', async () => {
    for (const zone of [singleGroup, hubAndSpoke, wafWithPolicy]) {
      const parameters = await parametersFor(zone);
      const rendered = renderDeployment(parameters);
      expect(rendered.createdResourceGroups).toEqual([`/subscriptions/${APP_SUB}/resourceGroups/rg-${zone.env.AZURE_ENV_NAME}`]);
      const deletedGroups = rendered.createdResourceGroups.map((g) => g.toLowerCase());
      const doomed = Object.keys(zone.existing).filter((id) => deletedGroups.some((g) => id.toLowerCase().startsWith(`${g}/`)));
      expect({ zone: zone.name, existingDeleted: doomed }).toEqual({ zone: zone.name, existingDeleted: [] });
      // --purge purges the soft-deleted vaults of the deleted groups: never an existing vault.
      const purged = rendered.createdResources.filter((id) => /Microsoft\.KeyVault\/vaults/i.test(id) && deletedGroups.some((g) => id.toLowerCase().startsWith(`${g}/`)));
      if (zone.env.EXISTING_KEY_VAULT_ID) expect(purged).toEqual([]);
      // The hooks delete every assignment made outside the group, then the custom roles, once the group is gone.
      const external = rendered.assignments.filter((a) => a.external);
      expect(external.length).toBeGreaterThanOrEqual(2 + parameters.applicationGatewayLinkedResourceIds.length);
      expect(external.filter((a) => a.name === 'onDnsZone')).toHaveLength(zonesOf(zone).length);
      // The outputs as main.bicep splits them: one list per module loop (linked resources, DNS zones), one for the rest.
      const idsOf = (list: typeof external): string[] => list.map((a) => `${a.scope}/providers/Microsoft.Authorization/roleAssignments/guid-${external.indexOf(a)}`);
      const linkedIds = idsOf(external.filter((a) => a.name === 'onLinkedResource'));
      const zoneIds = idsOf(external.filter((a) => a.name === 'onDnsZone'));
      const otherIds = idsOf(external.filter((a) => a.name !== 'onLinkedResource' && a.name !== 'onDnsZone'));
      const assignmentIds = [...otherIds, ...linkedIds, ...zoneIds];
      expect(assignmentIds).toHaveLength(external.length);
      // Every custom role main.bicep defines (gatewayAccess.bicep's roleDefinitionIds), the DNS one with or without zones.
      expect(rendered.roleDefinitions.map((d) => d.role)).toEqual(Object.keys(roleFile.customRoles));
      const roleIds = rendered.roleDefinitions.map((d) => `/subscriptions/${APP_SUB}/providers/Microsoft.Authorization/roleDefinitions/${d.role}`);
      const outputs = {
        AZURE_SUBSCRIPTION_ID: APP_SUB,
        AZURE_RESOURCE_GROUP: parameters.resourceGroupName,
        EXTERNAL_ROLE_ASSIGNMENT_IDS: JSON.stringify(otherIds),
        LINKED_ROLE_ASSIGNMENT_IDS: JSON.stringify(linkedIds),
        DNS_ZONE_ROLE_ASSIGNMENT_IDS: JSON.stringify(zoneIds),
        CUSTOM_ROLE_DEFINITION_IDS: JSON.stringify(roleIds),
      };
      const noted = noteCleanup(outputs)!;
      // Declined or preview: the group still answers, so nothing is removed.
      const stillThere = inventoryArm(zone, { [noted.appResourceGroupId]: { 'azd-env-name': zone.env.AZURE_ENV_NAME } });
      expect(await cleanUp(noted, stillThere)).toMatchObject({ groupGone: false, removed: [] });
      expect(stillThere.deleted).toEqual([]);
      const arm = inventoryArm(zone);
      const result = await cleanUp(noted, arm);
      expect(result).toMatchObject({ groupGone: true, left: [] });
      expect(arm.deleted).toEqual([...assignmentIds, ...roleIds]);
    }
  });

  it('refuses a group that is not the app\'s own: one holding the gateway or what it links, or an existing group of another environment', async () => {
    const parameters = await parametersFor(hubAndSpoke);
    expect(dedicatedGroupProblem({ ...parameters, resourceGroupName: 'rg-spoke-appgw' }, null)).toMatch(/holds .*applicationGateways\/appgw.*azd down/);
    expect(dedicatedGroupProblem({ ...parameters, resourceGroupName: 'rg-shared-security' }, null)).toMatch(/KeyVault\/vaults\/kv-shared/);
    expect(dedicatedGroupProblem(parameters, { owner: 'someone' })).toMatch(/already exists and was not created by environment certbot-hub/);
    expect(dedicatedGroupProblem(parameters, { 'azd-env-name': 'certbot-hub' })).toBeUndefined();
    expect(dedicatedGroupProblem(parameters, null)).toBeUndefined();
    // The hook stops before provisioning on an existing foreign group.
    const arm = inventoryArm(hubAndSpoke, { [`/subscriptions/${APP_SUB}/resourcegroups/rg-certbot-hub`]: { team: 'payments' } });
    await expect(preprovision(hubAndSpoke.env, arm)).rejects.toThrow(/already exists and was not created by environment/);
  });
});

describe('the preprovision hook refuses what could not work, before anything is created', () => {
  const run = (zone: LandingZone, env: Record<string, string>, existing?: Record<string, Record<string, unknown>>) =>
    preprovision({ ...zone.env, ...env }, inventoryArm({ ...zone, existing: { ...zone.existing, ...existing } }));

  it('an existing challenge account without anonymous blob reads (the default for new accounts)', async () => {
    await expect(run(hubAndSpoke, {}, { [accountId]: { properties: { allowBlobPublicAccess: false } } })).rejects.toThrow(/allowBlobPublicAccess is off.*PublicAccessNotPermitted/);
  });

  it('an existing Key Vault on access policies', async () => {
    await expect(run(hubAndSpoke, {}, { [vaultId]: { properties: { enableRbacAuthorization: false } } })).rejects.toThrow(/access policies/);
  });

  it('a v1 gateway, an unreadable gateway, a malformed id, and an ambiguous identity', async () => {
    await expect(run(singleGroup, {}, { [singleGroup.gateway.id]: { ...singleGroup.gateway, properties: { ...singleGroup.gateway.properties, sku: { tier: 'Standard' } } } })).rejects.toThrow(/needs a v2 gateway/);
    await expect(run(singleGroup, { APPGW_ID: net(APP_SUB, 'rg-appgw', 'applicationGateways', 'missing') })).rejects.toThrow(/Cannot read the gateway .*ResourceNotFound/);
    await expect(run(singleGroup, { APPGW_ID: 'appgw' })).rejects.toThrow(PlanError);
    const twoIdentities = { ...singleGroup.gateway, identity: { userAssignedIdentities: { [uai(APP_SUB, 'rg-a', 'one')]: {}, [uai(APP_SUB, 'rg-b', 'two')]: {} } } };
    await expect(run(singleGroup, {}, { [singleGroup.gateway.id]: twoIdentities })).rejects.toThrow(/set APPGW_IDENTITY_ID/);
    const chosen = await run(singleGroup, { APPGW_IDENTITY_ID: uai(APP_SUB, 'rg-b', 'two') }, { [singleGroup.gateway.id]: twoIdentities });
    expect(chosen.values.APPGW_IDENTITY_ID).toBe(uai(APP_SUB, 'rg-b', 'two'));
  });

  it('refuses an environment the earlier template deployed: provisioning it again would build a second app beside the first', async () => {
    await expect(run(singleGroup, { EXISTING_KEY_VAULT_NAME: 'kv-old' })).rejects.toThrow(/earlier template \(it sets EXISTING_KEY_VAULT_NAME\).*Moving from the earlier template/);
    await expect(run(singleGroup, { AZURE_FUNCTION_APP_NAME: 'func-old' })).rejects.toThrow(/earlier template/);
    // This template's own environment, provisioned again, is fine.
    await expect(run(singleGroup, { AZURE_FUNCTION_APP_NAME: 'func-new', CUSTOM_ROLE_DEFINITION_IDS: '[]' })).resolves.toBeDefined();
  });

  it('accepts the older settings (group and name) and derives the gateway id from them', async () => {
    const env = { ...singleGroup.env, APPGW_ID: '', APPGW_RESOURCE_GROUP: 'rg-appgw', APPGW_NAME: 'appgw' };
    const { values } = await preprovision(env, inventoryArm(singleGroup));
    expect(values.APPGW_ID).toBe(singleGroup.gateway.id);
  });
});

describe('a later provision of the same environment', () => {
  it('removes what the previous deployment granted on resources the gateway no longer links, and nothing else', async () => {
    const parameters = await parametersFor(wafWithPolicy);
    const linked = parameters.applicationGatewayLinkedResourceIds.map((id, i) => `${id}/providers/Microsoft.Authorization/roleAssignments/l${i}`);
    const external = [`${wafWithPolicy.gateway.id}/providers/Microsoft.Authorization/roleAssignments/g0`];
    const previous = { gatewayId: wafWithPolicy.gateway.id, externalAssignments: external, linkedAssignments: linked, definitions: ['/subscriptions/x/providers/Microsoft.Authorization/roleDefinitions/r'] };
    // The path rule's policy was detached from the gateway since.
    const now = { ...parameters, applicationGatewayLinkedResourceIds: parameters.applicationGatewayLinkedResourceIds.filter((id) => !id.endsWith('/waf-path')) };
    const stale = staleRoleObjects(previous, now);
    expect(stale.assignments).toEqual(linked.filter((id) => id.includes('/waf-path/')));
    expect(stale.definitions).toEqual([]);
    expect(staleRoleObjects(previous, parameters)).toEqual({ assignments: [], definitions: [] });
  });

  it('replaces the custom roles when the gateway moved to another group: the old roles and their assignments go', async () => {
    const parameters = await parametersFor(singleGroup);
    const oldGateway = net(APP_SUB, 'rg-old-appgw', 'applicationGateways', 'appgw');
    const previous = {
      gatewayId: oldGateway,
      externalAssignments: [`${oldGateway}/providers/Microsoft.Authorization/roleAssignments/a`],
      linkedAssignments: parameters.applicationGatewayLinkedResourceIds.map((id, i) => `${id}/providers/Microsoft.Authorization/roleAssignments/l${i}`),
      definitions: ['/subscriptions/x/providers/Microsoft.Authorization/roleDefinitions/old'],
    };
    const stale = staleRoleObjects(previous, parameters);
    expect(stale.assignments).toEqual([...previous.externalAssignments, ...previous.linkedAssignments]);
    expect(stale.definitions).toEqual(previous.definitions);
  });

  it('recovers the soft-deleted vault of this environment (found on any page of the list) instead of failing on its name', async () => {
    const ours = { properties: { vaultId: `/subscriptions/${APP_SUB}/resourceGroups/rg-certbot-single/providers/Microsoft.KeyVault/vaults/kv-abc`, tags: { 'azd-env-name': 'certbot-single' } } };
    const other = { properties: { vaultId: `/subscriptions/${APP_SUB}/resourceGroups/rg-other/providers/Microsoft.KeyVault/vaults/kv-x`, tags: { 'azd-env-name': 'other' } } };
    const recovered = await preprovision(singleGroup.env, inventoryArm(singleGroup, {}, [[other], [ours]]));
    expect(recovered.values.KEY_VAULT_CREATE_MODE).toBe('recover');
    const fresh = await preprovision(singleGroup.env, inventoryArm(singleGroup, {}, [[other]]));
    expect(fresh.values.KEY_VAULT_CREATE_MODE).toBe('default');
  });
});

describe('custom roles as the operations catalog accepts them', () => {
  it('keeps every action the catalog lists, and stands in the WAF policy join with the policy actions wildcard where it is not listed', async () => {
    const listed = await preprovision(wafWithPolicy.env, inventoryArm(wafWithPolicy));
    expect(listed.values.APPGW_LINKER_ACTIONS.split(',')).toEqual(roleFile.customRoles.gatewayLinker.actions);
    const withoutJoin = FULL_CATALOG.filter((action) => !/WebApplicationFirewallPolicies\/join/.test(action));
    const { values, summary } = await preprovision(wafWithPolicy.env, inventoryArm(wafWithPolicy, {}, [[]], withoutJoin));
    const actions = values.APPGW_LINKER_ACTIONS.split(',');
    expect(actions).toContain('Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies/*/action');
    expect(actions.filter((a) => /WebApplicationFirewallPolicies\/join/.test(a))).toEqual([]);
    expect(summary.join('\n')).toMatch(/lists no .*join\/action; the linker role grants .*\*\/action instead/);
    // The role with the stand-in still passes every linked check of the WAF gateway, and grants nothing on the policy itself.
    const parameters = await parametersFor(wafWithPolicy);
    const standInDefinitions = definitionsOf({ ...roleFile, customRoles: { ...roleFile.customRoles, gatewayLinker: { ...roleFile.customRoles.gatewayLinker, actions } } });
    const assignments = assignmentsOf(parameters);
    for (const check of gatewayLinkedAccess(wafWithPolicy.gateway)) expect(decide(standInDefinitions, assignments, 'app', check.action, 'action', check.scope).allowed).toBe(true);
    const wafPolicy = policy('waf-global');
    for (const verb of ['write', 'delete', 'read']) expect(decide(standInDefinitions, assignments, 'app', `Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies/${verb}`, 'action', wafPolicy).allowed).toBe(false);
  });

  it('refuses before anything is created when an action has no stand-in', async () => {
    const withoutAssign = FULL_CATALOG.filter((action) => !/userAssignedIdentities\/assign/.test(action));
    await expect(preprovision(singleGroup.env, inventoryArm(singleGroup, {}, [[]], withoutAssign))).rejects.toThrow(/catalog has no Microsoft\.ManagedIdentity\/userAssignedIdentities\/assign\/action/);
  });
});


describe('DNS-01 in Azure DNS zones (AZURE_DNS_ZONE_RESOURCE_IDS)', () => {
  const run = (env: Record<string, string>, existing: Record<string, Record<string, unknown>> = {}, catalog: string[] = FULL_CATALOG) =>
    preprovision({ ...hubAndSpoke.env, ...env }, inventoryArm({ ...hubAndSpoke, existing: { ...hubAndSpoke.existing, ...existing } }, {}, [[]], catalog));

  it('grants the TXT record sets of the listed zones only: no other record type, no zone write or delete, no zone left out, no list across the subscription', async () => {
    const parameters = await parametersFor(hubAndSpoke);
    const assignments = assignmentsOf(parameters);
    const allowed = (operation: string, scope: string): boolean => decide(definitions, assignments, 'app', operation, 'action', scope).allowed;
    for (const zone of [hubZone, spokeZone]) {
      expect(allowed('Microsoft.Network/dnsZones/TXT/write', `${zone}/TXT/_acme-challenge.www`)).toBe(true);
      for (const type of ['A', 'AAAA', 'CNAME', 'CAA', 'NS']) expect({ type, allowed: allowed(`Microsoft.Network/dnsZones/${type}/write`, `${zone}/${type}/www`) }).toEqual({ type, allowed: false });
      expect(allowed('Microsoft.Network/dnsZones/write', zone)).toBe(false);
      expect(allowed('Microsoft.Network/dnsZones/delete', zone)).toBe(false);
    }
    // Another zone of the same group: the assignment is on the zone, not the group.
    const neighbour = dnsZone(HUB_SUB, 'rg-hub-dns', 'litware.com');
    expect(allowed('Microsoft.Network/dnsZones/TXT/write', `${neighbour}/TXT/_acme-challenge.www`)).toBe(false);
    expect(allowed('Microsoft.Network/dnsZones/read', `/subscriptions/${APP_SUB}`)).toBe(false);
    // The check bites: with one zone left out, its TXT write is refused.
    const withoutHub = assignmentsOf({ ...parameters, dnsZoneResourceIds: [spokeZone] });
    expect(decide(definitions, withoutHub, 'app', 'Microsoft.Network/dnsZones/TXT/write', 'action', `${hubZone}/TXT/_acme-challenge.www`).allowed).toBe(false);
  });

  it('makes the DNS role assignable in every zone\'s group, and only in the gateway\'s group without zones', async () => {
    const withZones = renderDeployment(await parametersFor(hubAndSpoke));
    expect(withZones.roleDefinitions.find((d) => d.role === 'dnsChallengeWriter')!.assignableScopes).toEqual([rg(APP_SUB, 'rg-spoke-appgw'), rg(HUB_SUB, 'rg-hub-dns'), rg(APP_SUB, 'rg-dns')]);
    const without = renderDeployment(await parametersFor(singleGroup));
    expect(without.roleDefinitions.find((d) => d.role === 'dnsChallengeWriter')!.assignableScopes).toEqual([rg(APP_SUB, 'rg-appgw')]);
    expect(without.assignments.filter((a) => a.name === 'onDnsZone')).toEqual([]);
  });

  it('passes the zones on as read, comma-separated and each once, and says what it grants on each', async () => {
    const { values, summary } = await run({ AZURE_DNS_ZONE_RESOURCE_IDS: ` ${hubZone}\n${spokeZone}, ${hubZone.toUpperCase()} ` }, { [hubZone.toUpperCase()]: publicZone });
    expect(values.AZURE_DNS_ZONE_RESOURCE_IDS).toBe(`${hubZone},${spokeZone}`);
    for (const zone of [hubZone, spokeZone]) expect(summary).toContain(`grant dnsChallengeWriter to the app identity on ${zone}`);
    // None listed (HTTP-01): nothing to pass, nothing granted.
    const none = await run({ ACME_CHALLENGE_TYPE: '', AZURE_DNS_ZONE_RESOURCE_IDS: '' });
    expect(none.values.AZURE_DNS_ZONE_RESOURCE_IDS).toBe('');
    expect(none.summary.filter((line) => /dnsChallengeWriter/.test(line))).toEqual([]);
  });

  it('refuses, before anything is created, a zone it cannot read, a private zone, an id that is not a public zone\'s, a zone in the app\'s group, and dns-01 without zones', async () => {
    const missing = dnsZone(HUB_SUB, 'rg-hub-dns', 'missing.com');
    await expect(run({ AZURE_DNS_ZONE_RESOURCE_IDS: `${hubZone},${missing}` })).rejects.toThrow(
      new RegExp(`Cannot read the Azure DNS zone ${missing.replace(/[/.]/g, '\\$&')} \\(ResourceNotFound: not found\\)\\. Check AZURE_DNS_ZONE_RESOURCE_IDS`),
    );
    await expect(run({}, { [spokeZone]: { properties: { zoneType: 'Private' } } })).rejects.toThrow(/fabrikam\.com is a Private zone: the CA looks DNS-01 TXT records up on the internet/);
    const privateDns = `${rg(APP_SUB, 'rg-dns')}/providers/Microsoft.Network/privateDnsZones/internal.contoso.com`;
    await expect(run({ AZURE_DNS_ZONE_RESOURCE_IDS: privateDns }, { [privateDns]: {} })).rejects.toThrow(/privateDnsZones\/internal\.contoso\.com, a private DNS zone/);
    await expect(run({ AZURE_DNS_ZONE_RESOURCE_IDS: 'contoso.com' })).rejects.toThrow(/AZURE_DNS_ZONE_RESOURCE_IDS must be a resource id .*got "contoso\.com"/);
    await expect(run({ AZURE_DNS_ZONE_RESOURCE_IDS: vaultId })).rejects.toThrow(/must name a Microsoft\.Network\/dnszones; .* is a Microsoft\.KeyVault\/vaults/);
    const inAppGroup = dnsZone(APP_SUB, 'rg-certbot-hub', 'contoso.net');
    await expect(run({ AZURE_DNS_ZONE_RESOURCE_IDS: inAppGroup }, { [inAppGroup]: publicZone })).rejects.toThrow(/The app's resource group rg-certbot-hub holds .*dnszones\/contoso\.net, which was passed in as existing/);
    await expect(run({ AZURE_DNS_ZONE_RESOURCE_IDS: '' })).rejects.toThrow(/ACME_CHALLENGE_TYPE is dns-01 but AZURE_DNS_ZONE_RESOURCE_IDS lists no Azure DNS zone/);
    await expect(run({ ACME_CHALLENGE_TYPE: 'tls-alpn-01' })).rejects.toThrow(/ACME_CHALLENGE_TYPE must be http-01 or dns-01; got "tls-alpn-01"/);
    // A zone with no zoneType is public (the API's default); zones may be listed for per-request dns-01 with http-01 as the default.
    await expect(run({ ACME_CHALLENGE_TYPE: 'http-01' }, { [spokeZone]: { properties: {} } })).resolves.toBeDefined();
  });

  it("refuses when the operations catalog lacks one of the DNS role's actions (no stand-in: a role naming it would be refused whole)", async () => {
    const withoutTxtWrite = FULL_CATALOG.filter((action) => action !== 'Microsoft.Network/dnsZones/TXT/write');
    await expect(run({}, {}, withoutTxtWrite)).rejects.toThrow(/catalog has no Microsoft\.Network\/dnsZones\/TXT\/write/);
  });

  it('removes the assignment on a zone no longer listed, keeps the others, and replaces them all when the gateway moved', async () => {
    const parameters = await parametersFor(hubAndSpoke);
    const onZone = (zone: string, name: string): string => `${zone}/providers/Microsoft.Authorization/roleAssignments/${name}`;
    const previous = { gatewayId: hubAndSpoke.gateway.id, externalAssignments: [], linkedAssignments: [], dnsZoneAssignments: [onZone(hubZone, 'z0'), onZone(spokeZone, 'z1')], definitions: ['/subscriptions/x/providers/Microsoft.Authorization/roleDefinitions/r'] };
    expect(staleRoleObjects(previous, { ...parameters, dnsZoneResourceIds: [spokeZone] })).toEqual({ assignments: [onZone(hubZone, 'z0')], definitions: [] });
    expect(staleRoleObjects(previous, { ...parameters, dnsZoneResourceIds: [] })).toEqual({ assignments: previous.dnsZoneAssignments, definitions: [] });
    expect(staleRoleObjects(previous, parameters)).toEqual({ assignments: [], definitions: [] });
    // The hook reads them from the previous deployment's output and removes the stale one before provisioning.
    const arm = inventoryArm(hubAndSpoke);
    const { summary } = await preprovision(
      { ...hubAndSpoke.env, AZURE_DNS_ZONE_RESOURCE_IDS: spokeZone, CUSTOM_ROLE_DEFINITION_IDS: '[]', DNS_ZONE_ROLE_ASSIGNMENT_IDS: JSON.stringify(previous.dnsZoneAssignments) },
      arm,
    );
    expect(arm.deleted).toEqual([onZone(hubZone, 'z0')]);
    expect(summary).toContain(`removed, no longer needed: ${onZone(hubZone, 'z0')}`);
    // After a move the custom roles are new ones: the zone assignments of the old role go with it.
    const moved = { ...previous, gatewayId: net(APP_SUB, 'rg-old-appgw', 'applicationGateways', 'appgw') };
    expect(staleRoleObjects(moved, parameters)).toEqual({ assignments: previous.dnsZoneAssignments, definitions: previous.definitions });
  });
});

import https from 'node:https';
import type { AccessToken, TokenCredential } from '@azure/identity';
import { ApplicationGateway, NetworkManagementClient } from '@azure/arm-network';
import { ArmEmulator, seedGateway, startArmEmulator } from '../../sandbox/emulators/arm';
import { HUB_SUBSCRIPTION, LandingZone, SANDBOX_PUBLIC_IPV6 } from '../../sandbox/emulators/landingZones';
import { mintToken } from '../../sandbox/identity';
import { SANDBOX_TENANT, sandboxScopes } from '../../sandbox';
import { createSandboxCa, SandboxCa } from '../../sandbox/tls/ca';
import { gatewayLinkedAccess, IDENTITY_ASSIGN, PUBLIC_IP_JOIN, SUBNET_JOIN, WAF_POLICY_JOIN } from '../../src/domain/gatewayLinks';

/**
 * The landing zones the sandbox seeds (sandbox/emulators/landingZones.ts): where the gateway's
 * subnet, public IPs, identity and WAF policies live, what the ARM emulator serves of them, and the
 * WAF rules it keeps on a gateway PUT (armValidation.ts).
 */
const SUB = '00000000-0000-4000-8000-0000000000aa';
const RG = 'rg-gw';
const GW = 'gw';

class Operator implements TokenCredential {
  async getToken(scopes: string | string[]): Promise<AccessToken> {
    const { token, claims } = mintToken({ tenantId: SANDBOX_TENANT, resource: Array.isArray(scopes) ? scopes[0] : scopes, clientId: 'tests' });
    return { token, expiresOnTimestamp: claims.exp * 1000 };
  }
}

/** A GET of the ARM emulator as the hooks make it (fetch-like: status and JSON). */
function armGet(base: string, ca: SandboxCa, token: string, path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const request = https.request(new URL(path, base), { method: 'GET', ca: ca.certPem, headers: { authorization: `Bearer ${token}` } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown> }));
    });
    request.on('error', reject);
    request.end();
  });
}

const options = (ca: SandboxCa, landingZone: LandingZone): Parameters<typeof startArmEmulator>[0] => ({
  ca,
  subscriptionId: SUB,
  resourceGroup: RG,
  gatewayName: GW,
  location: 'westeurope',
  publicIp: '127.0.0.1',
  backendPoolName: 'pool',
  httpSettingsName: 'settings',
  challengeContainerUrl: 'https://127.0.0.1:1/acct/acme-challenge',
  operationDelayMs: 50,
  retryAfterSeconds: 1,
  landingZone,
});

describe('landing zones of the seeded gateway', () => {
  const ca = createSandboxCa();

  it('single-group keeps everything in the gateway\'s resource group, one IPv4 frontend, Standard_v2', () => {
    const { gateway, publicIps } = seedGateway(options(ca, 'single-group'));
    const group = `/subscriptions/${SUB}/resourceGroups/${RG}/`;
    expect(gateway.properties.sku.name).toBe('Standard_v2');
    expect(publicIps).toEqual([{ id: `${group}providers/Microsoft.Network/publicIPAddresses/gw-pip`, name: 'gw-pip', version: 'IPv4', ipAddress: '127.0.0.1' }]);
    expect(gatewayLinkedAccess(gateway).map((c) => c.scope.startsWith(group))).toEqual([true, true, true]);
  });

  it('hub-and-spoke puts the network in a hub subscription, the identity in its own group, and adds an IPv6 frontend', () => {
    const { gateway, publicIps } = seedGateway(options(ca, 'hub-and-spoke'));
    const hub = `/subscriptions/${HUB_SUBSCRIPTION}/resourceGroups/rg-hub-network/providers/Microsoft.Network`;
    expect(gatewayLinkedAccess(gateway)).toEqual([
      { action: SUBNET_JOIN, scope: `${hub}/virtualNetworks/vnet-hub/subnets/snet-appgw` },
      { action: PUBLIC_IP_JOIN, scope: `${hub}/publicIPAddresses/gw-pip` },
      { action: PUBLIC_IP_JOIN, scope: `${hub}/publicIPAddresses/gw-pip-v6` },
      { action: IDENTITY_ASSIGN, scope: `/subscriptions/${SUB}/resourceGroups/rg-identities/providers/Microsoft.ManagedIdentity/userAssignedIdentities/gw-identity` },
    ]);
    expect(publicIps.map((ip) => [ip.version, ip.ipAddress])).toEqual([['IPv4', '127.0.0.1'], ['IPv6', SANDBOX_PUBLIC_IPV6]]);
    // The seeded HTTP listener stays on the IPv4 frontend (the one the app's HTTPS listeners use).
    expect(gateway.properties.frontendIPConfigurations.map((f) => f.name)).toEqual(['appGwPublicFrontendIp', 'appGwPublicFrontendIpIPv6']);
    expect(gateway.properties.httpListeners[0].properties.frontendIPConfiguration?.id).toMatch(/\/appGwPublicFrontendIp$/);
  });

  it('waf-policy is a WAF_v2 gateway with a gateway and a listener WAF policy in a third group, and no inline configuration', () => {
    const { gateway } = seedGateway(options(ca, 'waf-policy'));
    const policies = `/subscriptions/${SUB}/resourceGroups/rg-waf-policies/providers/Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies`;
    expect(gateway.properties.sku.name).toBe('WAF_v2');
    expect(gateway.properties.webApplicationFirewallConfiguration).toBeUndefined();
    expect(gatewayLinkedAccess(gateway).filter((c) => c.action === WAF_POLICY_JOIN).map((c) => c.scope)).toEqual([`${policies}/waf-gw`, `${policies}/waf-gw-http-listener`]);
    // The sandbox assigns the gateway linker on each linked resource: subnet, two public IPs, two policies, the identity.
    expect(sandboxScopes(gateway, `/subscriptions/${SUB}`, 'app', 'account', 'vault').gatewayLinkedResources).toHaveLength(6);
    expect(() => seedGateway({ ...options(ca, 'waf-policy'), gatewaySku: 'Standard_v2' })).toThrow(/WAF_v2/);
    expect(() => seedGateway({ ...options(ca, 'waf-policy'), wafRuleSetVersion: '3.1' })).toThrow(/WAF policy/);
  });

  describe('served by the ARM emulator', () => {
    let arm: ArmEmulator;
    const client = (subscription: string): NetworkManagementClient =>
      new NetworkManagementClient(new Operator(), subscription, { endpoint: arm.url, tlsOptions: { ca: ca.certPem }, retryOptions: { maxRetries: 0 } } as object as ConstructorParameters<typeof NetworkManagementClient>[2]);
    const refusal = async (call: () => Promise<unknown>): Promise<{ statusCode?: number; code?: string; message: string }> => {
      try {
        await call();
      } catch (error) {
        return error as { statusCode?: number; code?: string; message: string };
      }
      throw new Error('the call was not refused');
    };

    beforeAll(async () => {
      arm = await startArmEmulator(options(ca, 'waf-policy'));
    });
    afterAll(async () => arm?.stop());

    it('serves each public IP in its own subscription, case-insensitively; others answer 404 ResourceGroupNotFound or ResourceNotFound as ARM does', async () => {
      const hub = client(HUB_SUBSCRIPTION);
      expect(await hub.publicIPAddresses.get('rg-hub-network', 'gw-pip')).toMatchObject({ ipAddress: '127.0.0.1', publicIPAddressVersion: 'IPv4' });
      expect(await hub.publicIPAddresses.get('RG-HUB-NETWORK', 'GW-PIP-V6')).toMatchObject({ ipAddress: SANDBOX_PUBLIC_IPV6, publicIPAddressVersion: 'IPv6' });
      // Looked up in the gateway's subscription (the app's old mistake), it is not there: that subscription has no such group.
      const wrongSubscription = await refusal(() => client(SUB).publicIPAddresses.get('rg-hub-network', 'gw-pip'));
      expect(wrongSubscription).toMatchObject({ statusCode: 404, code: 'ResourceGroupNotFound' });
      expect(wrongSubscription.message).toBe("Resource group 'rg-hub-network' could not be found.");
      // In a group that exists, a public IP that does not.
      const missing = await refusal(() => hub.publicIPAddresses.get('rg-hub-network', 'gw-pip-missing'));
      expect(missing).toMatchObject({ statusCode: 404, code: 'ResourceNotFound' });
      expect(missing.message).toBe(
        "The Resource 'Microsoft.Network/publicIPAddresses/gw-pip-missing' under resource group 'rg-hub-network' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix",
      );
    });

    it('serves the resource groups the landing zone uses (and those passed in), 404 ResourceGroupNotFound for others', async () => {
      const get = async (path: string): Promise<{ status: number; body: Record<string, unknown> }> => {
        const { token } = await new Operator().getToken('https://management.azure.com/.default');
        return armGet(arm.url, ca, token, path);
      };
      for (const [subscription, group] of [[SUB, RG], [HUB_SUBSCRIPTION, 'rg-hub-network'], [SUB, 'rg-identities'], [SUB, 'RG-WAF-POLICIES']]) {
        const reply = await get(`/subscriptions/${subscription}/resourcegroups/${group}?api-version=2021-04-01`);
        expect(reply).toMatchObject({ status: 200, body: { id: `/subscriptions/${subscription}/resourceGroups/${group.toLowerCase()}`, name: group.toLowerCase(), type: 'Microsoft.Resources/resourceGroups', location: 'westeurope', properties: { provisioningState: 'Succeeded' } } });
        expect(reply.body.tags).toBeUndefined();
      }
      expect(await get(`/subscriptions/${SUB}/resourcegroups/rg-nope?api-version=2021-04-01`)).toEqual({ status: 404, body: { error: { code: 'ResourceGroupNotFound', message: "Resource group 'rg-nope' could not be found." } } });
      const tagged = await startArmEmulator({ ...options(ca, 'single-group'), resourceGroups: [{ subscriptionId: SUB, name: 'rg-app', location: 'westeurope', tags: { 'azd-env-name': 'env' } }] });
      try {
        const { token } = await new Operator().getToken('https://management.azure.com/.default');
        expect(await armGet(tagged.url, ca, token, `/subscriptions/${SUB}/resourceGroups/rg-app?api-version=2021-04-01`)).toMatchObject({ status: 200, body: { name: 'rg-app', tags: { 'azd-env-name': 'env' } } });
        // single-group: the hub group is not there.
        expect(await armGet(tagged.url, ca, token, `/subscriptions/${HUB_SUBSCRIPTION}/resourceGroups/rg-hub-network?api-version=2021-04-01`)).toMatchObject({ status: 404 });
      } finally {
        await tagged.stop();
      }
    });

    it('lists no deleted vaults and serves the operations catalog Learn lists, without the WAF policy join', async () => {
      const { token } = await new Operator().getToken('https://management.azure.com/.default');
      expect(await armGet(arm.url, ca, token, `/subscriptions/${SUB}/providers/Microsoft.KeyVault/deletedVaults?api-version=2023-07-01`)).toEqual({ status: 200, body: { value: [] } });
      const network = await armGet(arm.url, ca, token, '/providers/Microsoft.Authorization/providerOperations/Microsoft.Network?api-version=2022-04-01&$expand=resourceTypes');
      expect(network).toMatchObject({ status: 200, body: { id: '/providers/Microsoft.Authorization/providerOperations/Microsoft.Network', name: 'Microsoft.Network', type: 'Microsoft.Authorization/providerOperations' } });
      const names = (body: Record<string, unknown>): string[] => {
        type Operation = { name: string; isDataAction: boolean };
        const { operations, resourceTypes } = body as { operations: Operation[]; resourceTypes: { name: string; operations: Operation[] }[] };
        return [...operations, ...resourceTypes.flatMap((type) => type.operations)].map((o) => o.name);
      };
      expect(names(network.body)).toEqual(expect.arrayContaining(['Microsoft.Network/applicationGateways/read', 'Microsoft.Network/applicationGateways/write', PUBLIC_IP_JOIN, SUBNET_JOIN, 'Microsoft.Network/locations/operations/read', 'Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies/attachWafPolicyToAgc/action']));
      expect(names(network.body)).not.toContain(WAF_POLICY_JOIN);
      const identity = await armGet(arm.url, ca, token, '/providers/Microsoft.Authorization/providerOperations/microsoft.managedidentity?api-version=2022-04-01&$expand=resourceTypes');
      expect(names(identity.body)).toEqual(expect.arrayContaining([IDENTITY_ASSIGN, 'Microsoft.ManagedIdentity/userAssignedIdentities/read']));
      expect(await armGet(arm.url, ca, token, '/providers/Microsoft.Authorization/providerOperations/Microsoft.Nope?api-version=2022-04-01')).toMatchObject({ status: 404, body: { error: { code: 'InvalidResourceNamespace' } } });
    });

    it('keeps the WAF rules on a PUT: a policy stays, only WAF_v2 takes one, WAF_v2 needs a policy or a configuration', async () => {
      const network = client(SUB);
      const put = (gateway: ApplicationGateway): Promise<ApplicationGateway> => network.applicationGateways.beginCreateOrUpdateAndWait(RG, GW, gateway, { updateIntervalInMs: 20 });
      const read = (): Promise<ApplicationGateway> => network.applicationGateways.get(RG, GW);
      const policy = (await read()).firewallPolicy?.id ?? '';

      const removed = await refusal(async () => put({ ...(await read()), firewallPolicy: undefined, webApplicationFirewallConfiguration: { enabled: true, firewallMode: 'Prevention', ruleSetType: 'OWASP', ruleSetVersion: '3.2' } }));
      expect(removed).toMatchObject({ statusCode: 400, code: 'ApplicationGatewayFirewallPolicyCannotBeRemoved' });
      expect(removed.message).toBe(`Firewall policy ${policy} cannot be removed from Application Gateway, changing from one firewall policy to another is permitted.`);

      const unconfigured = await refusal(async () => put({ ...(await read()), firewallPolicy: undefined }));
      expect(unconfigured).toMatchObject({ statusCode: 400, code: 'ApplicationGatewayFirewallNotConfiguredForSelectedSku' });
      expect(unconfigured.message).toBe(`Application Gateway ${arm.gatewayId} with the selected SKU tier WAF_v2 must have a valid WAF policy or configuration`);

      const standard = await refusal(async () => put({ ...(await read()), sku: { name: 'Standard_v2', tier: 'Standard_v2', capacity: 1 } }));
      expect(standard).toMatchObject({ statusCode: 400, code: 'ApplicationGatewayFirewallPolicyNotSupportedForSku' });

      // Changing to another policy is permitted.
      const other = policy.replace(/waf-gw$/, 'waf-gw-2');
      expect((await put({ ...(await read()), firewallPolicy: { id: other } })).firewallPolicy?.id).toBe(other);
    });
  });
});

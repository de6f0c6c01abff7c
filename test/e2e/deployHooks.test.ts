import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AccessToken, TokenCredential } from '@azure/identity';
import roles from '../../infra/roles.json';
import { SANDBOX_ENVIRONMENT_NAME, SANDBOX_SUBSCRIPTION, SANDBOX_TENANT, Sandbox, seededLinkedResources, startSandbox } from '../../sandbox';
import type { LandingZone } from '../../sandbox/emulators/landingZones';
import { mintToken } from '../../sandbox/identity';
import { OPERATOR_OBJECT_ID } from '../../sandbox/rbac';
import { Arm, armClient } from '../../scripts/deploy/arm';
import { CATALOG_STAND_INS, PlanError } from '../../scripts/deploy/plan';
import { preprovision, PreprovisionResult } from '../../scripts/deploy/preprovision';
import { WAF_POLICY_JOIN } from '../../src/domain/gatewayLinks';
import { sandboxFetch } from '../support/sandboxFetch';

/**
 * The preprovision hook over its real HTTP path (scripts/deploy/arm.ts `armClient`: token,
 * api-version, fetch, JSON, paging) against the ARM stand-in, RBAC enforced, in two landing zones:
 * the parameters it derives from the seeded gateway, the operations catalog's missing WAF policy
 * join granted through its stand-in, the Azure DNS zones read for DNS-01, and the refusals a
 * deployer meets (a gateway or DNS zone that is not there, a resource group that is not the
 * environment's, no right to read the gateway).
 */

/** A deployer signed in with `azd auth login`, as the sandbox knows them (the operator holds Owner on the subscription). */
class Deployer implements TokenCredential {
  constructor(private readonly objectId = OPERATOR_OBJECT_ID) {}
  async getToken(scopes: string | string[]): Promise<AccessToken> {
    const { token, claims } = mintToken({ tenantId: SANDBOX_TENANT, resource: Array.isArray(scopes) ? scopes[0] : scopes, clientId: this.objectId });
    return { token, expiresOnTimestamp: claims.exp * 1000 };
  }
}

/** The stand-in runs on a local address; its tokens are Azure Resource Manager's (what the global cloud's endpoint asks for). */
const ARM_SCOPE = 'https://management.azure.com/.default';

const refusal = async (run: Promise<PreprovisionResult>): Promise<PlanError> => {
  try {
    await run;
  } catch (error) {
    if (error instanceof PlanError) return error;
    throw error;
  }
  throw new Error('the hook did not refuse');
};

describe.each<LandingZone>(['hub-and-spoke', 'waf-policy'])('the preprovision hook against the ARM stand-in (%s)', (landingZone) => {
  let sandbox: Sandbox;
  let stateDir: string;
  let arm: Arm;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), `e2e-hooks-${landingZone}-`));
    sandbox = await startSandbox({ stateDir, withHost: false, landingZone });
    arm = armClient(sandbox.endpoints.armUrl, new Deployer(), { scope: ARM_SCOPE, fetch: sandboxFetch(sandbox.ca.certPem) });
    env = { AZURE_ENV_NAME: 'certbot-e2e', AZURE_SUBSCRIPTION_ID: SANDBOX_SUBSCRIPTION, AZURE_LOCATION: 'westeurope', APPGW_ID: sandbox.arm.gatewayId, AZURE_ALLOWED_HOSTNAMES: 'www.contoso.example,*.contoso.example' };
  });
  afterAll(async () => {
    await sandbox?.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('derives the parameters from the seeded gateway and grants the WAF policy join through its stand-in', async () => {
    const { values, summary } = await preprovision(env, arm);
    expect(values.APPGW_ID).toBe(sandbox.arm.gatewayId);
    expect(values.APPGW_LINKED_RESOURCE_IDS.split(',')).toEqual(seededLinkedResources({ landingZone }));
    expect(values.APPGW_IDENTITY_ID).toBe(Object.keys(sandbox.arm.readGateway().identity?.userAssignedIdentities ?? {})[0]);
    expect(values.APPGW_IDENTITY_ID).toMatch(/\/resourceGroups\/rg-identities\/providers\/Microsoft\.ManagedIdentity\/userAssignedIdentities\//);
    // The stand-in's catalog, like Learn's list, has no WAF policy join: the role grants the policy's */action instead.
    const standIn = CATALOG_STAND_INS[WAF_POLICY_JOIN];
    expect(values.APPGW_LINKER_ACTIONS.split(',')).toEqual(roles.customRoles.gatewayLinker.actions.map((action) => (action === WAF_POLICY_JOIN ? standIn : action)));
    expect(values.APPGW_LINKER_ACTIONS).toContain('Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies/*/action');
    expect(summary).toContain(`the operations catalog lists no ${WAF_POLICY_JOIN}; the linker role grants ${standIn} instead, which covers it`);
    // No group of that name exists, and no soft-deleted vault of this environment.
    expect(values.AZURE_APP_RESOURCE_GROUP).toBe('rg-certbot-e2e');
    expect(values.KEY_VAULT_CREATE_MODE).toBe('default');
    expect(sandbox.rbac.denials()).toEqual([]);
  });

  it("accepts the environment's own resource group (a later provision) and refuses one another environment or nobody created", async () => {
    // The sandbox's app group carries azd-env-name as main.bicep tags it.
    const again = await preprovision({ ...env, AZURE_ENV_NAME: SANDBOX_ENVIRONMENT_NAME }, arm);
    expect(again.values.AZURE_APP_RESOURCE_GROUP).toBe(`rg-${SANDBOX_ENVIRONMENT_NAME}`);
    const other = await refusal(preprovision({ ...env, AZURE_APP_RESOURCE_GROUP: `rg-${SANDBOX_ENVIRONMENT_NAME}` }, arm));
    expect(other.message).toMatch(new RegExp(`already exists and was not created by environment certbot-e2e \\(its azd-env-name tag is "${SANDBOX_ENVIRONMENT_NAME}"\\)`));
    // The landing zone's own groups: azd down would delete what the gateway needs.
    const identities = await refusal(preprovision({ ...env, AZURE_APP_RESOURCE_GROUP: 'rg-identities' }, arm));
    expect(identities.message).toMatch(/The app's resource group rg-identities holds .*userAssignedIdentities\/.*passed in as existing/);
    const gatewayGroup = await refusal(preprovision({ ...env, AZURE_APP_RESOURCE_GROUP: 'RG-APPGW-SANDBOX' }, arm));
    expect(gatewayGroup.message).toMatch(/holds .*applicationGateways\/appgw-sandbox/);
    if (landingZone === 'waf-policy') {
      const policies = await refusal(preprovision({ ...env, AZURE_APP_RESOURCE_GROUP: 'rg-waf-policies' }, arm));
      expect(policies.message).toMatch(/holds .*ApplicationGatewayWebApplicationFirewallPolicies\//);
    }
  });

  it('reads each Azure DNS zone as the deployer: the seeded public zones pass, one that is not there is refused with ARM\'s answer', async () => {
    const zones = sandbox.dnsZones.zones.map((zone) => zone.id);
    expect(zones.length).toBeGreaterThanOrEqual(3);
    // Separated by white space too, as the app reads DnsZoneResourceIds; passed on comma-separated, as main.bicep splits them.
    const { values, summary } = await preprovision({ ...env, ACME_CHALLENGE_TYPE: 'dns-01', AZURE_DNS_ZONE_RESOURCE_IDS: zones.join(' ') }, arm);
    expect(values.AZURE_DNS_ZONE_RESOURCE_IDS).toBe(zones.join(','));
    for (const zone of zones) expect(summary).toContain(`grant dnsChallengeWriter to the app identity on ${zone}`);
    expect(sandbox.rbac.denials()).toEqual([]);
    const missing = zones[0].replace(/[^/]+$/, 'missing.example');
    expect((await refusal(preprovision({ ...env, AZURE_DNS_ZONE_RESOURCE_IDS: `${zones[1]},${missing}` }, arm))).message).toMatch(
      /^Cannot read the Azure DNS zone .*\/dnszones\/missing\.example \(ResourceNotFound: The Resource 'Microsoft\.Network\/dnszones\/missing\.example' under resource group 'rg-dns' was not found/,
    );
    const inMissingGroup = zones[0].replace(/\/resourceGroups\/[^/]+\//, '/resourceGroups/rg-gone/');
    expect((await refusal(preprovision({ ...env, AZURE_DNS_ZONE_RESOURCE_IDS: inMissingGroup }, arm))).message).toMatch(/^Cannot read the Azure DNS zone .* \(ResourceGroupNotFound: Resource group 'rg-gone' could not be found\.\)/);
    // dns-01 with no zone to write in is refused before ARM is asked anything about zones.
    expect((await refusal(preprovision({ ...env, ACME_CHALLENGE_TYPE: 'dns-01' }, arm))).message).toMatch(/ACME_CHALLENGE_TYPE is dns-01 but AZURE_DNS_ZONE_RESOURCE_IDS lists no Azure DNS zone/);
  });

  it('asks the deployer to choose AllowedHostnames (unset would mean any name) and refuses a list the app would refuse', async () => {
    const unset = { ...env };
    delete unset.AZURE_ALLOWED_HOSTNAMES;
    expect((await refusal(preprovision(unset, arm))).message).toMatch(/^AZURE_ALLOWED_HOSTNAMES is not set\. .*azd env set AZURE_ALLOWED_HOSTNAMES ''/);
    expect((await refusal(preprovision({ ...env, AZURE_ALLOWED_HOSTNAMES: 'www.contoso.example, https://bad' }, arm))).message).toMatch(/^AZURE_ALLOWED_HOSTNAMES: Setting AllowedHostnames lists "https:\/\/bad"/);
    // Explicitly empty: any name, the deployer's choice.
    await expect(preprovision({ ...env, AZURE_ALLOWED_HOSTNAMES: '' }, arm)).resolves.toBeDefined();
  });

  it("names ARM's answer when the gateway cannot be read", async () => {
    const missing = sandbox.arm.gatewayId.replace(/appgw-sandbox$/, 'appgw-missing');
    expect((await refusal(preprovision({ ...env, APPGW_ID: missing }, arm))).message).toMatch(
      new RegExp(`Cannot read the gateway ${missing} \\(ResourceNotFound: The Resource 'Microsoft.Network/applicationGateways/appgw-missing' under resource group 'rg-appgw-sandbox' was not found`),
    );
    const inMissingGroup = sandbox.arm.gatewayId.replace(/rg-appgw-sandbox/, 'rg-gone');
    expect((await refusal(preprovision({ ...env, APPGW_ID: inMissingGroup }, arm))).message).toMatch(/\(ResourceGroupNotFound: Resource group 'rg-gone' could not be found\.\)/);
    // A deployer without a role on the gateway: ARM refuses before the resource provider answers.
    const stranger = armClient(sandbox.endpoints.armUrl, new Deployer('someone-else'), { scope: ARM_SCOPE, fetch: sandboxFetch(sandbox.ca.certPem) });
    expect((await refusal(preprovision(env, stranger))).message).toMatch(
      /\(AuthorizationFailed: The client 'someone-else' with object id 'someone-else' does not have authorization to perform action 'Microsoft\.Network\/applicationGateways\/read'/,
    );
    // A token for the stand-in's own address is not one for Azure Resource Manager.
    const wrongAudience = armClient(sandbox.endpoints.armUrl, new Deployer(), { fetch: sandboxFetch(sandbox.ca.certPem) });
    await expect(preprovision(env, wrongAudience)).rejects.toThrow(/AuthenticationFailed/);
  });
});

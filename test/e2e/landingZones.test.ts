import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Sandbox, startSandbox } from '../../sandbox';
import { SANDBOX_PUBLIC_IPV6, type LandingZone } from '../../sandbox/emulators/landingZones';
import { WAF_POLICY_JOIN } from '../../src/domain/gatewayLinks';
import roles from '../../infra/roles.json';
import { failureRecord, issueOne, pollToEnd, post } from '../support/sandboxClient';
import { scaledGateway } from '../support/scaledGateway';

/**
 * Issuance in the landing zones of issue #19 (sandbox/emulators/landingZones.ts), with the roles
 * of infra/roles.json enforced: the network in a hub subscription, the identity in its own group,
 * an IPv6 frontend beside the IPv4 one, and (waf-policy) WAF policies in a third group, each
 * reached only through the gateway linker assigned on it.
 */
describe.each<LandingZone>(['hub-and-spoke', 'waf-policy'])('the %s landing zone', (landingZone) => {
  let sandbox: Sandbox;
  let stateDir: string;
  let issued = 0;

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), `e2e-${landingZone}-`));
    sandbox = await startSandbox(scaledGateway({ stateDir, landingZone, settings: { ServedCertificateRecheckSeconds: '0,1' } }));
  }, 120_000);
  afterAll(async () => {
    await sandbox?.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  const issue = (): ReturnType<typeof issueOne> => issueOne(sandbox, `zone${issued++}.${landingZone}.example`);


  it('issues and binds a certificate with exactly the roles the infra assigns, nothing refused', async () => {
    sandbox.counters.reset();
    expect(await issue()).toMatchObject({ runtimeStatus: 'Completed' });
    expect(sandbox.rbac.denials()).toEqual([]);
    // The bound frontend's public IP was read, in the hub subscription, not the gateway's.
    expect(sandbox.counters.get('arm', 'publicIPAddresses.get')).toBeGreaterThanOrEqual(1);
    expect(sandbox.rbac.scopes.gatewayLinkedResources.filter((id) => /publicIPAddresses/i.test(id)).every((id) => !id.includes(sandbox.settings.SubscriptionId))).toBe(true);
  });

  it("refuses, before ordering, a hostname whose AAAA record names the dual-stack gateway's IPv6 frontend, which the app does not bind", async () => {
    const hostname = `dualstack.${landingZone}.example`;
    await sandbox.pebble.dns.addAAAA(hostname, SANDBOX_PUBLIC_IPV6);
    const started = await post(sandbox, 'AddCertificateFunctions_HttpStart', { hostnames: [{ hostname }] });
    const { final } = await pollToEnd(String(started.body.statusQueryGetUri), undefined, 120_000);
    const record = failureRecord(final.output);
    expect({ status: final.runtimeStatus, code: record.code }).toEqual({ status: 'Failed', code: 'HostnameNotResolvingToApplicationGateway' });
    expect(`${record.message} ${record.detail}`).toMatch(/2001:db8::a.*HTTPS frontend.*remove records naming the other/);
  });

  if (landingZone === 'waf-policy') {
    it("fails without the linker on the gateway's WAF policy alone, naming it; completes once it is back", async () => {
      const policy = String((sandbox.arm.readGateway().properties.firewallPolicy as { id?: string } | undefined)?.id);
      expect(sandbox.rbac.scopes.gatewayLinkedResources).toContain(policy);
      const putBack = sandbox.rbac.removeAssignment('onLinkedResource', policy);
      sandbox.rbac.clearDenials();
      const failed = await issue();
      expect(failed).toMatchObject({ runtimeStatus: 'Failed', code: 'ApplicationGatewayPermissionDenied' });
      expect(failed.text).toContain(`'${roles.customRoles.gatewayLinker.roleName}' on the resource the gateway references: ${policy}`);
      expect(sandbox.rbac.denials()).toEqual([expect.objectContaining({ service: 'arm', principal: 'app', operation: WAF_POLICY_JOIN, scope: policy, code: 'LinkedAuthorizationFailed' })]);

      putBack();
      sandbox.rbac.clearDenials();
      expect(await issue()).toMatchObject({ runtimeStatus: 'Completed' });
      expect(sandbox.rbac.denials()).toEqual([]);
    }, 240_000);
  }
});

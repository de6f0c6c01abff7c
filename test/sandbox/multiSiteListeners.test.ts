import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { X509Certificate } from 'node:crypto';
import { ApplicationGateway, NetworkManagementClient } from '@azure/arm-network';
import { CertificateClient } from '@azure/keyvault-certificates';
import { Sandbox, SANDBOX_SUBSCRIPTION, startSandbox } from '../../sandbox';
import { toPkcs12 } from '../../sandbox/keyvault/crypto';
import { fetchServedCertificate } from '../../sandbox/tlsCheck';
import { validateGateway } from '../../sandbox/emulators/armValidation';
import { listenerFor } from '../../sandbox/emulators/gatewayDataPlane';
import { GatewayResource, hostNameMatches } from '../../sandbox/emulators/gatewayModel';
import { withHttpsSite } from '../support/gatewaySites';
import { SandboxCredential } from '../support/sandboxClient';

/**
 * Multi-site listeners in the Application Gateway stand-ins: the host name rules of Learn's
 * "Application Gateway multiple site hosting" (wildcards, up to 5 names, hostName vs hostNames)
 * refused on a PUT through @azure/arm-network, and the data plane choosing a listener by SNI/Host
 * with wildcard matching in rule priority order.
 */
const RG = 'rg-appgw-sandbox';
const GW = 'appgw-sandbox';

describe('wildcard host names: matching (Learn, "Wildcard host names in listener")', () => {
  it.each([
    ['*.contoso.example', 'www.contoso.example', true],
    ['*.contoso.example', 'SHOP.Contoso.Example', true],
    // Learn: *.contoso.com "can match with ... customer1.b2b.contoso.com": * spans dots.
    ['*.contoso.example', 'a.b.contoso.example', true],
    ['*.contoso.example', 'contoso.example', false],
    ['*.contoso.example', 'www.contoso.example.evil', false],
    ['*.contoso.example', 'www_1.contoso.example', false],
    ['www.contoso.example', 'WWW.CONTOSO.EXAMPLE', true],
    ['www.contoso.example', 'shop.contoso.example', false],
    ['w??.contoso.example', 'web.contoso.example', true],
    ['w??.contoso.example', 'we.contoso.example', false],
    // Stricter readings (unverified): ? matches no dot, * at least one character.
    ['w??.contoso.example', 'w.b.contoso.example', false],
    ['contoso*.example', 'contoso.example', false],
    ['contoso*.example', 'contoso-eu.example', true],
    ['*.contoso.*', 'www.contoso.example', true],
  ])('%s against %s: %s', (pattern, hostname, expected) => {
    expect(hostNameMatches(pattern, hostname)).toBe(expected);
  });
});

describe('listener choice: first rule by priority whose listener matches (Learn, multiple-site-overview, configuration-listeners)', () => {
  const id = 'https://x/gw';
  function gateway(sku: string, listeners: [string, string[], number | undefined][], extra: { name: string; hostNames: string[] }[] = []): GatewayResource {
    const all = [...listeners.map(([name, hostNames]) => ({ name, hostNames })), ...extra];
    return {
      id,
      name: 'gw',
      type: 'Microsoft.Network/applicationGateways',
      location: 'westeurope',
      properties: {
        sku: { name: sku, tier: sku },
        frontendIPConfigurations: [{ id: `${id}/frontendIPConfigurations/ip`, name: 'ip', properties: {} }],
        frontendPorts: [{ id: `${id}/frontendPorts/p443`, name: 'p443', properties: { port: 443 } }],
        backendAddressPools: [],
        backendHttpSettingsCollection: [],
        httpListeners: all.map(({ name, hostNames }) => ({
          id: `${id}/httpListeners/${name}`,
          name,
          properties: { protocol: 'Https', frontendPort: { id: `${id}/frontendPorts/p443` }, ...(hostNames.length ? { hostNames } : {}) },
        })),
        requestRoutingRules: listeners.map(([name, , priority]) => ({
          name: `${name}-rule`,
          properties: { ruleType: 'Basic', ...(priority === undefined ? {} : { priority }), httpListener: { id: `${id}/httpListeners/${name}` } },
        })),
      },
    };
  }
  const chosen = (g: GatewayResource, hostname: string): string | undefined => listenerFor(g, 443, hostname)?.name;

  it('on v2, rule priority decides between a wildcard and an exact listener', () => {
    expect(chosen(gateway('Standard_v2', [['wild', ['*.contoso.example'], 10], ['shop', ['shop.contoso.example'], 20]]), 'shop.contoso.example')).toBe('wild');
    expect(chosen(gateway('Standard_v2', [['wild', ['*.contoso.example'], 20], ['shop', ['shop.contoso.example'], 10]]), 'shop.contoso.example')).toBe('shop');
    expect(chosen(gateway('Standard_v2', [['wild', ['*.contoso.example'], 20], ['shop', ['shop.contoso.example'], 10]]), 'www.contoso.example')).toBe('wild');
  });

  it('on v2 with priorities, a basic listener whose rule comes first takes every name; last, only what no multi-site listener matched', () => {
    expect(chosen(gateway('WAF_v2', [['basic', [], 1], ['shop', ['shop.contoso.example'], 2]]), 'shop.contoso.example')).toBe('basic');
    const last = gateway('WAF_v2', [['shop', ['shop.contoso.example'], 1], ['basic', [], 2]]);
    expect(chosen(last, 'shop.contoso.example')).toBe('shop');
    expect(chosen(last, 'other.example')).toBe('basic');
  });

  it('without priorities: v2 takes multi-site before basic, v1 the order of the rules', () => {
    expect(chosen(gateway('Standard_v2', [['basic', [], undefined], ['shop', ['shop.contoso.example'], undefined]]), 'shop.contoso.example')).toBe('shop');
    expect(chosen(gateway('Standard_Medium', [['basic', [], undefined], ['shop', ['shop.contoso.example'], undefined]]), 'shop.contoso.example')).toBe('basic');
  });

  it('any of up to five names selects the listener; a listener no rule uses serves nothing; a name no listener matches gets none', () => {
    const g = gateway('Standard_v2', [['five', ['a.example', 'b.example', 'c.example', 'd.example', '*.e.example'], 5]], [{ name: 'idle', hostNames: ['idle.example'] }]);
    for (const name of ['a.example', 'D.EXAMPLE', 'x.e.example']) expect(chosen(g, name)).toBe('five');
    expect(chosen(g, 'idle.example')).toBeUndefined();
    expect(chosen(g, 'e.example')).toBeUndefined();
  });
});

describe('multi-site listeners through @azure/arm-network and the data plane', () => {
  let sandbox: Sandbox;
  let stateDir: string;
  let network: NetworkManagementClient;
  let certificates: CertificateClient;
  const credential = new SandboxCredential();

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'appgw-multisite-'));
    sandbox = await startSandbox({ stateDir, withHost: false, armOperationDelayMs: 300, armRetryAfterSeconds: 1 });
    const tlsOptions = { ca: sandbox.ca.certPem };
    network = new NetworkManagementClient(credential, SANDBOX_SUBSCRIPTION, { tlsOptions, endpoint: sandbox.endpoints.armUrl });
    certificates = new CertificateClient(sandbox.endpoints.keyVaultUrl, credential, { tlsOptions, disableChallengeResourceVerification: true });
  });
  afterAll(async () => {
    await sandbox?.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  const read = (): Promise<ApplicationGateway> => network.applicationGateways.get(RG, GW);
  const put = (gateway: ApplicationGateway) => network.applicationGateways.beginCreateOrUpdateAndWait(RG, GW, gateway, { updateIntervalInMs: 100 });
  const child = (gateway: ApplicationGateway, collection: string, name: string) => ({ id: `${gateway.id}/${collection}/${name}` });
  const secret = (name: string): string => `${sandbox.endpoints.keyVaultUrl}/secrets/${name}`;

  /** The gateway plus one HTTPS listener on 443 (`names` in hostNames, or `hostName`) with its certificate and a basic rule. */
  function withSite(gateway: ApplicationGateway, name: string, names: { hostNames?: string[]; hostName?: string }, priority: number, port = 'port_443'): ApplicationGateway {
    return withHttpsSite(gateway, { name, keyVaultSecretId: secret(name), ...names, priority, port });
  }

  describe('refused on PUT (400, nothing applied)', () => {
    const wild = (hostNames: string[]) => (g: ApplicationGateway) => withSite(g, 'refused', { hostNames }, 9000);
    const cases: [string, (g: ApplicationGateway) => ApplicationGateway, string][] = [
      ['a sixth host name on a listener', wild(['a.example', 'b.example', 'c.example', 'd.example', 'e.example', 'f.example']), 'ApplicationGatewayHttpListenerHostNamesLimitExceeded'],
      ['a wildcard in hostName', (g) => withSite(g, 'refused', { hostName: '*.contoso.example' }, 9000), 'ApplicationGatewayHttpListenerHostNameCannotHaveWildcard'],
      ['a ? in hostName', (g) => withSite(g, 'refused', { hostName: 'w?w.contoso.example' }, 9000), 'ApplicationGatewayHttpListenerHostNameCannotHaveWildcard'],
      ['hostName and hostNames together', (g) => withSite(g, 'refused', { hostName: 'www.contoso.example', hostNames: ['shop.contoso.example'] }, 9000), 'ApplicationGatewayHttpListenerHostNameAndHostNamesBothSpecified'],
      ['an underscore', wild(['my_site.contoso.example']), 'ApplicationGatewayHttpListenerHostNameInvalid'],
      ['a regular expression', wild(['(www|shop).contoso.example']), 'ApplicationGatewayHttpListenerHostNameInvalid'],
      ['an empty component', wild(['www..contoso.example']), 'ApplicationGatewayHttpListenerHostNameInvalid'],
      ['a trailing dot', wild(['www.contoso.example.']), 'ApplicationGatewayHttpListenerHostNameInvalid'],
      ['two asterisks in one component', wild(['*a*.contoso.example']), 'ApplicationGatewayHttpListenerHostNameInvalidWildcard'],
      ['three asterisks (*.contoso.*.*.com)', wild(['*.contoso.*.*.com']), 'ApplicationGatewayHttpListenerHostNameInvalidWildcard'],
      ['five wildcard characters (????.contoso.*)', wild(['????.contoso.*']), 'ApplicationGatewayHttpListenerHostNameInvalidWildcard'],
      ['*?', wild(['*?.contoso.example']), 'ApplicationGatewayHttpListenerHostNameInvalidWildcard'],
      ['?*', wild(['?*.contoso.example']), 'ApplicationGatewayHttpListenerHostNameInvalidWildcard'],
      ['**', wild(['**.contoso.example']), 'ApplicationGatewayHttpListenerHostNameInvalidWildcard'],
      ['the same name twice in one listener', wild(['www.contoso.example', 'WWW.contoso.example']), 'ApplicationGatewayHttpListenerHostNamesDuplicate'],
      ['a hostNames entry another listener on the port has', (g) => withSite(withSite(g, 'one', { hostNames: ['*.contoso.example'] }, 9001), 'two', { hostNames: ['www.fabrikam.example', '*.CONTOSO.example'] }, 9002), 'ApplicationGatewayHttpListenersUsingSameFrontendPortHostNameAndFrontendIpConfig'],
      ['a second basic listener on a frontend IP and port', (g) => withSite(withSite(g, 'one', {}, 9001), 'two', {}, 9002), 'ApplicationGatewayHttpListenersUsingSameFrontendPort'],
      ['hostNames on a v1 SKU', (g) => ({ ...wild(['*.contoso.example'])(g), sku: { name: 'Standard_Medium', tier: 'Standard', capacity: 2 } }), 'ApplicationGatewayHttpListenerHostNamesNotSupportedForSku'],
      ['a redirect to a wildcard listener', (g) => {
        const copy = wild(['*.contoso.example'])(g);
        copy.redirectConfigurations = [{ name: 'to-wild', redirectType: 'Permanent', targetListener: child(copy, 'httpListeners', 'refused-https') }];
        return copy;
      }, 'ApplicationGatewayRedirectConfigurationTargetListenerHasWildcardOrMultipleHostNames'],
    ];

    it.each(cases)('refuses %s with its code', async (_what, change, code) => {
      const before = await read();
      const accepted = sandbox.counters.get('arm', 'applicationGateways.put.accepted');
      await expect(put(change(before))).rejects.toMatchObject({ statusCode: 400, code });
      expect(sandbox.counters.get('arm', 'applicationGateways.put.accepted')).toBe(accepted);
      expect((await read()).etag).toBe(before.etag);
    });

    it('accepts what Learn gives as valid: *.contoso-*.com, *.contoso.*, ????.contoso.com, w??.contoso*.edu.*, component1*.component2*.component3', () => {
      const base = sandbox.arm.readGateway();
      const valid = ['*.contoso-*.com', '*.contoso.*', '????.contoso.com', 'w??.contoso*.edu.*', 'component1*.component2*.component3'];
      const gatewayWith = (hostNames: string[]): GatewayResource => {
        const copy: GatewayResource = JSON.parse(JSON.stringify(base));
        copy.properties.httpListeners[0].properties.hostNames = hostNames;
        return copy;
      };
      expect(validateGateway(gatewayWith(valid))).toBeUndefined();
    });
  });

  describe('accepted through the SDK and served by SNI', () => {
    /** Imports a certificate for `names` as `name`; returns its serial. */
    async function certificateFor(name: string, names: string[]): Promise<string> {
      const leaf = sandbox.ca.issueServerCert(names);
      const cert = new X509Certificate(leaf.certPem);
      await certificates.importCertificate(name, toPkcs12(leaf.keyPem, [cert.raw]));
      return cert.serialNumber;
    }
    const served = async (hostname: string) => {
      await sandbox.dataPlane.settled();
      return fetchServedCertificate(sandbox.dataPlane.httpsPort, hostname, sandbox.ca.certPem);
    };

    it('a wildcard listener serves its certificate for the names it covers and not for the apex; priority decides against an exact listener', async () => {
      const wildSerial = await certificateFor('wild-contoso', ['*.contoso.example']);
      const shopSerial = await certificateFor('shop-contoso', ['shop.contoso.example']);
      const saved = await put(withSite(withSite(await read(), 'wild-contoso', { hostNames: ['*.contoso.example'] }, 300), 'shop-contoso', { hostName: 'shop.contoso.example' }, 400));
      expect(saved.httpListeners?.find((l) => l.name === 'wild-contoso-https')?.hostNames).toEqual(['*.contoso.example']);

      for (const name of ['www.contoso.example', 'WWW.Contoso.Example']) {
        const answer = await served(name);
        expect(answer).toMatchObject({ serialNumber: wildSerial, authorized: true });
      }
      // The wildcard rule (300) comes before the exact one (400): it takes shop too.
      expect((await served('shop.contoso.example')).serialNumber).toBe(wildSerial);
      await expect(served('contoso.example')).rejects.toThrow();
      // Learn: * also matches customer1.b2b.contoso.com. The gateway serves the wildcard certificate,
      // which a TLS client refuses for a name two labels down.
      expect(await served('a.b.contoso.example')).toMatchObject({ serialNumber: wildSerial, authorized: false });

      // The exact listener's rule first (200): shop gets its own certificate, the rest still the wildcard.
      const reordered = await read();
      reordered.requestRoutingRules!.find((r) => r.name === 'shop-contoso-rule')!.priority = 200;
      await put(reordered);
      expect(await served('shop.contoso.example')).toMatchObject({ serialNumber: shopSerial, authorized: true });
      expect((await served('www.contoso.example')).serialNumber).toBe(wildSerial);
    });

    it('a listener with five host names (a SAN certificate) serves each of them', async () => {
      const names = ['one.fabrikam.example', 'two.fabrikam.example', 'three.fabrikam.example', 'four.fabrikam.example', 'five.fabrikam.example'];
      const serial = await certificateFor('fabrikam-san', names);
      const saved = await put(withSite(await read(), 'fabrikam-san', { hostNames: names }, 500));
      expect(saved.httpListeners?.find((l) => l.name === 'fabrikam-san-https')?.hostNames).toEqual(names);
      for (const name of names) expect(await served(name)).toMatchObject({ serialNumber: serial, authorized: true });
      await expect(served('six.fabrikam.example')).rejects.toThrow();
    });
  });
});

import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { X509Certificate } from 'node:crypto';
import { ApplicationGateway, NetworkManagementClient } from '@azure/arm-network';
import { CertificateClient } from '@azure/keyvault-certificates';
import { Sandbox, SANDBOX_SUBSCRIPTION, startSandbox } from '../../sandbox';
import { toPkcs12 } from '../../sandbox/keyvault/crypto';
import { fetchServedCertificate } from '../../sandbox/tlsCheck';
import { seedGateway } from '../../sandbox/emulators/arm';
import { checkLimits, limitsFor } from '../../sandbox/emulators/gatewayLimits';
import { GatewayResource } from '../../sandbox/emulators/gatewayModel';
import { withHttpsSite as withSite } from '../support/gatewaySites';
import { SandboxCredential } from '../support/sandboxClient';

/**
 * The Application Gateway stand-ins as strict as the service: the ARM emulator's long-running PUT
 * (timing, Retry-After, cancel by a newer PUT, etags and If-Match, 429), the v2 limits, an
 * out-of-band writer, and the data plane's Key Vault refresh rules. Driven through
 * @azure/arm-network and @azure/keyvault-certificates, or plain HTTPS with a token for the wire.
 */
const OPERATION_DELAY_MS = 800;
const RG = 'rg-appgw-sandbox';
const GW = 'appgw-sandbox';
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Wire {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown>;
}

describe('Application Gateway stand-ins (ARM emulator and data plane)', () => {
  let sandbox: Sandbox;
  let stateDir: string;
  let network: NetworkManagementClient;
  let certificates: CertificateClient;
  const credential = new SandboxCredential();

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'appgw-'));
    sandbox = await startSandbox({ stateDir, withHost: false, armOperationDelayMs: OPERATION_DELAY_MS, armRetryAfterSeconds: 1 });
    const tlsOptions = { ca: sandbox.ca.certPem };
    network = new NetworkManagementClient(credential, SANDBOX_SUBSCRIPTION, { tlsOptions, endpoint: sandbox.endpoints.armUrl });
    certificates = new CertificateClient(sandbox.endpoints.keyVaultUrl, credential, { tlsOptions, disableChallengeResourceVerification: true });
  });
  afterAll(async () => {
    await sandbox?.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });
  afterEach(() => sandbox.faults.clear());

  const gatewayUrl = (): string => `${sandbox.arm.gatewayId}?api-version=2024-05-01`;

  /** A plain HTTPS request to the ARM emulator with a token from the sandbox identity. */
  async function wire(method: string, pathOrUrl: string, body?: unknown, headers: Record<string, string> = {}): Promise<Wire> {
    const url = new URL(pathOrUrl, sandbox.endpoints.armUrl);
    const { token } = await credential.getToken('https://management.azure.com/.default');
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const request = https.request(
        url,
        {
          method,
          ca: sandbox.ca.certPem,
          headers: { authorization: `Bearer ${token}`, ...(payload ? { 'content-type': 'application/json' } : {}), ...headers },
        },
        (response) => {
          let text = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (text += chunk));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} }));
        },
      );
      request.on('error', reject);
      request.end(payload);
    });
  }

  const readWire = async (): Promise<GatewayResource> => (await wire('GET', gatewayUrl())).body as unknown as GatewayResource;
  const withTags = (gateway: GatewayResource, tags: Record<string, string>): GatewayResource => ({ ...gateway, tags: { ...(gateway.tags ?? {}), ...tags } });
  const arm = (name: string): number => sandbox.counters.get('arm', name);

  /** Polls an Azure-AsyncOperation URL until it leaves InProgress (at the pace its Retry-After asks, capped for the test). */
  async function untilDone(operationUrl: string): Promise<Wire> {
    for (;;) {
      const answer = await wire('GET', operationUrl);
      if (answer.body.status !== 'InProgress') return answer;
      await sleep(Math.min(Number(answer.headers['retry-after'] ?? 1) * 1000, 250));
    }
  }

  const read = (): Promise<ApplicationGateway> => network.applicationGateways.get(RG, GW);
  const child = (gateway: ApplicationGateway, collection: string, name: string) => ({ id: `${gateway.id}/${collection}/${name}` });
  const put = (gateway: ApplicationGateway) => network.applicationGateways.beginCreateOrUpdateAndWait(RG, GW, gateway, { updateIntervalInMs: 100 });

  /** The gateway plus one HTTPS site: SSL certificate from Key Vault, listener on 443, basic rule (test/support/gatewaySites.ts). */
  const withHttpsSite = (gateway: ApplicationGateway, name: string, hostname: string, keyVaultSecretId: string, priority: number): ApplicationGateway =>
    withSite(gateway, { name, keyVaultSecretId, hostName: hostname, priority });

  describe('PUT applicationGateways is a long-running operation', () => {
    it('answers 200 Updating with Azure-AsyncOperation, Retry-After and a new etag; the operation is InProgress until the delay has passed', async () => {
      const before = await readWire();
      const started = Date.now();
      const answer = await wire('PUT', gatewayUrl(), withTags(before, { step: 'lro' }));

      expect(answer.status).toBe(200);
      expect(answer.headers['azure-asyncoperation']).toMatch(/\/providers\/Microsoft\.Network\/locations\/westeurope\/operations\/[0-9a-f-]{36}\?api-version=2024-05-01$/);
      expect(answer.headers['azure-asyncnotification']).toBe('Enabled');
      expect(answer.headers['retry-after']).toBe('1');
      expect(answer.body).toMatchObject({ etag: expect.stringMatching(/^W\/"[0-9a-f-]{36}"$/), properties: { provisioningState: 'Updating' } });
      expect(answer.body.etag).not.toBe(before.etag);
      // GET shows the new configuration while it is being applied; the data plane still runs the old one.
      const during = await readWire();
      expect(during).toMatchObject({ etag: answer.body.etag, tags: { step: 'lro' }, properties: { provisioningState: 'Updating' } });
      expect(sandbox.arm.getGateway().tags?.step).toBeUndefined();
      const polled = await wire('GET', String(answer.headers['azure-asyncoperation']));
      expect(polled).toMatchObject({ status: 200, body: { status: 'InProgress' }, headers: { 'retry-after': '1' } });

      const done = await untilDone(String(answer.headers['azure-asyncoperation']));
      expect(Date.now() - started).toBeGreaterThanOrEqual(OPERATION_DELAY_MS);
      expect(done.body).toEqual({ status: 'Succeeded' });
      expect(done.headers['retry-after']).toBeUndefined();
      const after = await readWire();
      expect(after).toMatchObject({ tags: { step: 'lro' }, properties: { provisioningState: 'Succeeded' } });
      expect(after.etag).not.toBe(answer.body.etag);
      expect(sandbox.arm.getGateway().tags?.step).toBe('lro');
    });

    it('a newer PUT cancels the running one (Canceled / CanceledAndSupersededDueToAnotherOperation) and runs its own full length', async () => {
      const counts = { put: arm('applicationGateways.put'), accepted: arm('applicationGateways.put.accepted'), canceled: arm('applicationGateways.put.canceled'), succeeded: arm('applicationGateways.put.succeeded') };
      const gateway = await readWire();
      const first = await wire('PUT', gatewayUrl(), withTags(gateway, { writer: 'first' }));
      await sleep(OPERATION_DELAY_MS / 2);
      const secondStarted = Date.now();
      const second = await wire('PUT', gatewayUrl(), withTags(gateway, { writer: 'second' }));
      expect(second.status).toBe(200);

      const firstId = String(first.headers['x-ms-request-id']);
      const secondId = String(second.headers['x-ms-request-id']);
      const canceled = await wire('GET', String(first.headers['azure-asyncoperation']));
      expect(canceled.body).toEqual({
        status: 'Canceled',
        error: {
          code: 'Canceled',
          message: 'Operation was canceled.',
          details: [
            {
              code: 'CanceledAndSupersededDueToAnotherOperation',
              message: `Operation PutApplicationGatewayOperation (${firstId}) was canceled and superseded by operation PutApplicationGatewayOperation (${secondId}).`,
            },
          ],
        },
      });
      expect((await untilDone(String(second.headers['azure-asyncoperation']))).body.status).toBe('Succeeded');
      expect(Date.now() - secondStarted).toBeGreaterThanOrEqual(OPERATION_DELAY_MS);
      expect(sandbox.arm.getGateway().tags?.writer).toBe('second');
      expect({
        put: arm('applicationGateways.put') - counts.put,
        accepted: arm('applicationGateways.put.accepted') - counts.accepted,
        canceled: arm('applicationGateways.put.canceled') - counts.canceled,
        succeeded: arm('applicationGateways.put.succeeded') - counts.succeeded,
      }).toEqual({ put: 2, accepted: 2, canceled: 1, succeeded: 1 });
    });

    it('through the SDK, the superseded poller fails and the newer one succeeds', async () => {
      const gateway = await read();
      const first = network.applicationGateways.beginCreateOrUpdateAndWait(RG, GW, { ...gateway, tags: { sdk: 'first' } }, { updateIntervalInMs: 100 });
      await sleep(100);
      const second = network.applicationGateways.beginCreateOrUpdateAndWait(RG, GW, { ...gateway, tags: { sdk: 'second' } }, { updateIntervalInMs: 100 });
      await expect(first).rejects.toThrow('Operation was canceled');
      expect((await second).tags).toEqual({ sdk: 'second' });
    });

    it('compares If-Match with the etag GET shows: a stale one gets 412 PreconditionFailedEtagMismatch and nothing is applied; the current one and * are accepted', async () => {
      const gateway = await readWire();
      const accepted = arm('applicationGateways.put.accepted');
      const stale = await wire('PUT', gatewayUrl(), withTags(gateway, { etag: 'stale' }), { 'if-match': 'W/"00000000-0000-0000-0000-000000000000"' });

      expect(stale.status).toBe(412);
      expect(stale.body).toEqual({
        error: {
          code: 'PreconditionFailedEtagMismatch',
          message: `Etag provided in if-match header W/"00000000-0000-0000-0000-000000000000" does not match etag ${gateway.etag} of resource.`,
          details: [],
        },
      });
      expect(arm('applicationGateways.put.accepted')).toBe(accepted);
      expect((await readWire()).etag).toBe(gateway.etag);

      const current = await wire('PUT', gatewayUrl(), withTags(gateway, { etag: 'current' }), { 'if-match': String(gateway.etag) });
      expect(current.status).toBe(200);
      // The etag GET showed before that PUT no longer matches.
      expect((await wire('PUT', gatewayUrl(), withTags(gateway, { etag: 'again' }), { 'if-match': String(gateway.etag) })).status).toBe(412);
      const any = await wire('PUT', gatewayUrl(), withTags(gateway, { etag: 'any' }), { 'if-match': '*' });
      expect(any.status).toBe(200);
      await untilDone(String(any.headers['azure-asyncoperation']));
      expect(sandbox.arm.getGateway().tags?.etag).toBe('any');
    });

    it('answers an armed 429 RetryableError with the service wording and Retry-After; the SDK retries it by itself', async () => {
      const gateway = await readWire();
      sandbox.faults.arm({ service: 'arm', status: 429, code: 'RetryableError', retryAfterSeconds: 1, count: 1, match: 'PUT' });
      const accepted = arm('applicationGateways.put.accepted');
      const throttled = await wire('PUT', gatewayUrl(), withTags(gateway, { throttled: 'yes' }));

      expect(throttled.status).toBe(429);
      expect(throttled.headers['retry-after']).toBe('1');
      expect(throttled.body).toEqual({ error: { code: 'RetryableError', message: 'A retryable error occurred.', details: [] } });
      expect(arm('applicationGateways.put.accepted')).toBe(accepted);

      sandbox.faults.arm({ service: 'arm', status: 429, code: 'RetryableError', retryAfterSeconds: 1, count: 1, match: 'PUT' });
      const faults = arm('applicationGateways.put.fault');
      expect((await put({ ...(await read()), tags: { throttled: 'retried' } })).tags).toEqual({ throttled: 'retried' });
      expect(arm('applicationGateways.put.fault')).toBe(faults + 1);
    });
  });

  describe('limits of a v2 gateway (400, nothing applied)', () => {
    const secret = (name: string): string => `${sandbox.endpoints.keyVaultUrl}/secrets/${name}`;
    const times = <T>(n: number, make: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => make(i));

    function httpListeners(gateway: ApplicationGateway, n: number, ruled: number): ApplicationGateway {
      const copy: ApplicationGateway = JSON.parse(JSON.stringify(gateway));
      copy.httpListeners = [
        ...(copy.httpListeners ?? []),
        ...times(n, (i) => ({
          name: `many-${i}`,
          frontendIPConfiguration: child(copy, 'frontendIPConfigurations', 'appGwPublicFrontendIp'),
          frontendPort: child(copy, 'frontendPorts', 'port_80'),
          protocol: 'Http',
          hostName: `many-${i}.example`,
        })),
      ];
      copy.requestRoutingRules = [
        ...(copy.requestRoutingRules ?? []),
        ...times(ruled, (i) => ({
          name: `many-rule-${i}`,
          ruleType: 'Basic',
          priority: 1000 + i,
          httpListener: child(copy, 'httpListeners', `many-${i}`),
          backendAddressPool: child(copy, 'backendAddressPools', 'app-backend-pool'),
          backendHttpSettings: child(copy, 'backendHttpSettingsCollection', 'app-http-settings'),
        })),
      ];
      return copy;
    }

    const cases: [string, (g: ApplicationGateway) => ApplicationGateway, string][] = [
      ['the 101st SSL certificate', (g) => ({ ...g, sslCertificates: [...(g.sslCertificates ?? []), ...times(101, (i) => ({ name: `cert-${i}`, keyVaultSecretId: secret(`cert-${i}`) }))] }), 'ApplicationGatewaySslCertificateLimitExceeded'],
      ['the 201st HTTP listener', (g) => httpListeners(g, 200, 0), 'ApplicationGatewayHttpListenerLimitExceeded'],
      ['the 101st active listener (used by a rule)', (g) => httpListeners(g, 100, 100), 'ApplicationGatewayActiveHttpListenerLimitExceeded'],
      ['a sixth host name on a listener', (g) => {
        const copy = httpListeners(g, 1, 1);
        const listener = copy.httpListeners!.find((l) => l.name === 'many-0')!;
        delete listener.hostName;
        listener.hostNames = times(6, (i) => `h${i}.example`);
        return copy;
      }, 'ApplicationGatewayHttpListenerHostNamesLimitExceeded'],
      ['the 401st request routing rule', (g) => {
        const copy = httpListeners(g, 1, 0);
        copy.requestRoutingRules = [...(copy.requestRoutingRules ?? []), ...times(400, (i) => ({ name: `r-${i}`, ruleType: 'Basic', priority: 2000 + i, httpListener: child(copy, 'httpListeners', 'many-0'), backendAddressPool: child(copy, 'backendAddressPools', 'app-backend-pool'), backendHttpSettings: child(copy, 'backendHttpSettingsCollection', 'app-http-settings') }))];
        return copy;
      }, 'ApplicationGatewayRequestRoutingRuleLimitExceeded'],
      ['an SSL certificate name of 81 characters', (g) => ({ ...g, sslCertificates: [...(g.sslCertificates ?? []), { name: 'c'.repeat(81), keyVaultSecretId: secret('long') }] }), 'InvalidResourceName'],
      ['a probe name of 81 characters', (g) => ({ ...g, probes: [...(g.probes ?? []), { name: 'p'.repeat(81), protocol: 'Http', host: '127.0.0.1', path: '/', interval: 30, timeout: 30, unhealthyThreshold: 3 }] }), 'InvalidResourceName'],
      ['a backend pool name of 81 characters', (g) => ({ ...g, backendAddressPools: [...(g.backendAddressPools ?? []), { name: 'b'.repeat(81) }] }), 'InvalidResourceName'],
      ['a path rule name of 81 characters', (g) => {
        const copy: ApplicationGateway = JSON.parse(JSON.stringify(g));
        copy.urlPathMaps![0].pathRules![0].name = 'r'.repeat(81);
        return copy;
      }, 'InvalidResourceName'],
      ['a child name ending with a dot', (g) => ({ ...g, backendAddressPools: [...(g.backendAddressPools ?? []), { name: 'pool.' }] }), 'InvalidResourceName'],
      ['two rules on one listener', (g) => {
        const copy = httpListeners(g, 1, 1);
        copy.requestRoutingRules = [...copy.requestRoutingRules!, { ...copy.requestRoutingRules!.at(-1)!, name: 'twin', priority: 4000 }];
        return copy;
      }, 'ApplicationGatewayRequestRoutingRulesUsingSameHttpListener'],
    ];

    it.each(cases)('refuses %s with its code', async (_what, change, code) => {
      const before = await read();
      const accepted = arm('applicationGateways.put.accepted');
      await expect(put(change(before))).rejects.toMatchObject({ statusCode: 400, code });
      expect(arm('applicationGateways.put.accepted')).toBe(accepted);
      expect((await read()).etag).toBe(before.etag);
    });

    it('accepts every limit exactly reached, and names of exactly 80 characters', () => {
      const base = sandbox.arm.readGateway();
      const gateway: GatewayResource = JSON.parse(JSON.stringify(base));
      const id = (collection: string, name: string) => ({ id: `${gateway.id}/${collection}/${name}` });
      gateway.properties.sslCertificates = times(100, (i) => ({ name: `c${i}-`.padEnd(80, 'x'), properties: { keyVaultSecretId: secret(`c${i}`) } }));
      gateway.properties.httpListeners = times(200, (i) => ({ name: `l${i}`, properties: { frontendIPConfiguration: id('frontendIPConfigurations', 'appGwPublicFrontendIp'), frontendPort: id('frontendPorts', 'port_80'), protocol: 'Http', hostNames: times(5, (j) => `h${j}.l${i}.example`) } }));
      gateway.properties.requestRoutingRules = times(100, (i) => ({ name: `r${i}`, properties: { ruleType: 'Basic', priority: i + 1, httpListener: id('httpListeners', `l${i}`) } }));
      expect(gateway.properties.sslCertificates.every((c) => c.name.length === 80)).toBe(true);
      expect(checkLimits(gateway)).toBeUndefined();
    });

    it('a WAF_v2 gateway on CRS 3.1 or older refuses the 41st SSL certificate; on CRS 3.2 it does not', async () => {
      const before = await read();
      const waf = (version: string, certs: number): ApplicationGateway => ({
        ...before,
        sku: { name: 'WAF_v2', tier: 'WAF_v2', capacity: 1 },
        webApplicationFirewallConfiguration: { enabled: true, firewallMode: 'Prevention', ruleSetType: 'OWASP', ruleSetVersion: version },
        sslCertificates: times(certs, (i) => ({ name: `waf-cert-${i}`, keyVaultSecretId: secret(`waf-cert-${i}`) })),
      });
      const refusal = put(waf('3.1', 41));
      await expect(refusal).rejects.toMatchObject({ statusCode: 400, code: 'ApplicationGatewaySslCertificateLimitExceeded' });
      await expect(refusal).rejects.toThrow(/limit of 40 for a WAF_v2 gateway with OWASP CRS 3\.1/);
      await expect(put(waf('3.0', 41))).rejects.toMatchObject({ code: 'ApplicationGatewaySslCertificateLimitExceeded' });

      const asResource = (gateway: ApplicationGateway): GatewayResource => {
        const resource: GatewayResource = JSON.parse(JSON.stringify(sandbox.arm.readGateway()));
        resource.properties.sku = { name: 'WAF_v2', tier: 'WAF_v2' };
        resource.properties.webApplicationFirewallConfiguration = gateway.webApplicationFirewallConfiguration as GatewayResource['properties']['webApplicationFirewallConfiguration'];
        resource.properties.sslCertificates = (gateway.sslCertificates ?? []).map((c) => ({ name: c.name!, properties: { keyVaultSecretId: c.keyVaultSecretId } }));
        return resource;
      };
      expect(checkLimits(asResource(waf('3.2', 41)))).toBeUndefined();
      expect(checkLimits(asResource(waf('3.1', 40)))).toBeUndefined();
    });

    it('seeds a WAF_v2 gateway with an inline WAF configuration (CRS 3.2 by default) for the sandbox options', () => {
      const options = { ca: sandbox.ca, subscriptionId: 's', resourceGroup: 'rg', gatewayName: 'gw', location: 'westeurope', publicIp: '127.0.0.1', backendPoolName: 'pool', httpSettingsName: 'settings', challengeContainerUrl: sandbox.endpoints.blobContainerUrl };
      const standard = seedGateway(options).gateway;
      const waf = seedGateway({ ...options, gatewaySku: 'WAF_v2' }).gateway;
      const oldCrs = seedGateway({ ...options, gatewaySku: 'WAF_v2', wafRuleSetVersion: '3.1' }).gateway;

      expect(standard.properties.sku).toMatchObject({ name: 'Standard_v2', tier: 'Standard_v2' });
      expect(standard.properties.webApplicationFirewallConfiguration).toBeUndefined();
      expect(waf.properties.sku).toMatchObject({ name: 'WAF_v2', tier: 'WAF_v2' });
      expect(waf.properties.webApplicationFirewallConfiguration).toEqual({ enabled: true, firewallMode: 'Prevention', ruleSetType: 'OWASP', ruleSetVersion: '3.2' });
      expect(limitsFor(waf).sslCertificates).toBe(100);
      expect(limitsFor(oldCrs)).toMatchObject({ sslCertificates: 40, httpListeners: 40, activeHttpListeners: 40, requestRoutingRules: 40, hostNamesPerListener: 5 });
      expect(() => seedGateway({ ...options, wafRuleSetVersion: '3.1' })).toThrow('wafRuleSetVersion needs gatewaySku WAF_v2');
    });
  });

  describe('an out-of-band writer (a person in the portal)', () => {
    it('saves the gateway as GET shows it: a long-running PUT that cancels the running one, keeps its content and changes the etag', async () => {
      const gateway = await readWire();
      const puts = arm('applicationGateways.put');
      const app = await wire('PUT', gatewayUrl(), withTags(gateway, { app: 'change' }));
      const { operationId } = await sandbox.arm.outOfBandEdit({ tags: { owner: 'portal' } });

      expect((await wire('GET', String(app.headers['azure-asyncoperation']))).body.status).toBe('Canceled');
      expect(sandbox.arm.operationStatus(operationId)).toBe('InProgress');
      const during = await readWire();
      expect(during.etag).not.toBe(app.body.etag);
      expect(during).toMatchObject({ tags: { app: 'change', owner: 'portal' }, properties: { provisioningState: 'Updating' } });
      expect(arm('applicationGateways.put')).toBe(puts + 2);
      await sleep(OPERATION_DELAY_MS + 100);
      expect(sandbox.arm.operationStatus(operationId)).toBe('Succeeded');
      expect(sandbox.arm.getGateway().tags).toMatchObject({ app: 'change', owner: 'portal' });
    });

    it('an edit based on an earlier read reverts a change the app made in between (the lost update a full-gateway PUT risks)', async () => {
      const edit = sandbox.arm.outOfBandEdit({ tags: { owner: 'slow-portal' }, delayMs: 300 });
      const app = await wire('PUT', gatewayUrl(), withTags(await readWire(), { app: 'lost' }));
      await edit;
      expect((await wire('GET', String(app.headers['azure-asyncoperation']))).body.status).toBe('Canceled');
      await sleep(OPERATION_DELAY_MS + 100);
      expect(sandbox.arm.getGateway().tags?.owner).toBe('slow-portal');
      expect(sandbox.arm.getGateway().tags?.app).not.toBe('lost');
    });

    it('is reachable as POST /arm/gateway/out-of-band on the admin endpoint', async () => {
      const response = await fetch(`${sandbox.endpoints.adminUrl}/arm/gateway/out-of-band`, { method: 'POST', body: JSON.stringify({ addProbe: 'portal-probe' }) });
      expect(response.status).toBe(200);
      const { operationId } = (await response.json()) as { operationId: string };
      expect(operationId).toMatch(/^[0-9a-f-]{36}$/);
      await sleep(OPERATION_DELAY_MS + 100);
      expect(sandbox.arm.getGateway().properties.probes?.map((p) => p.name)).toContain('portal-probe');
      const refused = await fetch(`${sandbox.endpoints.adminUrl}/arm/gateway/out-of-band`, { method: 'POST', body: JSON.stringify({ addProbe: 'p'.repeat(81) }) });
      expect(refused.status).toBe(400);
      expect(await refused.json()).toEqual({ error: expect.stringContaining('InvalidResourceName') });
    });
  });

  describe('the data plane loads Key Vault certificates as the service does', () => {
    let priority = 500;
    const served = async (hostname: string): Promise<string> => {
      await sandbox.dataPlane.settled();
      return (await fetchServedCertificate(sandbox.dataPlane.httpsPort, hostname, sandbox.ca.certPem)).serialNumber;
    };
    /** A new Key Vault version of `name` for `hostname`; returns its serial and versioned secret id. */
    async function newVersion(name: string, hostname: string): Promise<{ serial: string; versionedId: string }> {
      const leaf = sandbox.ca.issueServerCert([hostname]);
      const cert = new X509Certificate(leaf.certPem);
      const imported = await certificates.importCertificate(name, toPkcs12(leaf.keyPem, [cert.raw]));
      return { serial: cert.serialNumber, versionedId: imported.secretId! };
    }
    const bind = async (name: string, hostname: string, secretId: string): Promise<void> => {
      await put(withHttpsSite(await read(), name, hostname, secretId, priority++));
      await sandbox.dataPlane.settled();
    };
    const versionless = (name: string): string => `${sandbox.endpoints.keyVaultUrl}/secrets/${name}`;
    const reads = (): number => sandbox.counters.get('gateway', 'keyvault.read');

    it('keeps serving the loaded certificate after a new Key Vault version when an update leaves the versionless id unchanged', async () => {
      const v1 = await newVersion('kept-cert', 'kept.example');
      await bind('kept-cert', 'kept.example', versionless('kept-cert'));
      expect(await served('kept.example')).toBe(v1.serial);

      const v2 = await newVersion('kept-cert', 'kept.example');
      const before = reads();
      await put({ ...(await read()), tags: { unrelated: 'update' } });
      await put(withHttpsSite(await read(), 'kept-cert', 'kept.example', versionless('kept-cert'), 0));
      expect(reads()).toBe(before);
      expect(await served('kept.example')).toBe(v1.serial);
      expect(v2.serial).not.toBe(v1.serial);
    });

    it('serves the new version once the id changes to it (versioned), and keeps that version through a poll', async () => {
      await newVersion('moved-cert', 'moved.example');
      await bind('moved-cert', 'moved.example', versionless('moved-cert'));
      const v2 = await newVersion('moved-cert', 'moved.example');
      await bind('moved-cert', 'moved.example', v2.versionedId);
      expect(await served('moved.example')).toBe(v2.serial);

      await newVersion('moved-cert', 'moved.example');
      await sandbox.dataPlane.pollKeyVault();
      expect(await served('moved.example')).toBe(v2.serial);
    });

    it('the four-hourly poll (pollKeyVault, POST /gateway/keyvault-poll) picks up a versionless id\'s new version', async () => {
      const v1 = await newVersion('polled-cert', 'polled.example');
      await bind('polled-cert', 'polled.example', versionless('polled-cert'));
      expect(await served('polled.example')).toBe(v1.serial);
      const v2 = await newVersion('polled-cert', 'polled.example');
      expect(await served('polled.example')).toBe(v1.serial);

      await sandbox.dataPlane.pollKeyVault();
      expect(await served('polled.example')).toBe(v2.serial);

      const v3 = await newVersion('polled-cert', 'polled.example');
      const response = await fetch(`${sandbox.endpoints.adminUrl}/gateway/keyvault-poll`, { method: 'POST' });
      expect(response.status).toBe(200);
      expect(((await response.json()) as { listeners: Record<string, string> }).listeners['polled-cert-https']).toBe('enabled');
      expect(await served('polled.example')).toBe(v3.serial);
    });

    it('disables a listener whose secret cannot be read (missing, disabled, access refused): its handshake fails; the poll re-enables it once readable', async () => {
      await bind('missing-cert', 'missing.example', versionless('missing-cert'));
      expect(sandbox.dataPlane.listenerStates()['missing-cert-https']).toBe('disabled');
      await expect(served('missing.example')).rejects.toThrow();

      const v1 = await newVersion('refused-cert', 'refused.example');
      sandbox.faults.arm({ service: 'gateway', count: 1, match: 'KEYVAULT' });
      await bind('refused-cert', 'refused.example', versionless('refused-cert'));
      expect(sandbox.dataPlane.listenerStates()['refused-cert-https']).toBe('disabled');
      await sandbox.dataPlane.pollKeyVault();
      expect(sandbox.dataPlane.listenerStates()['refused-cert-https']).toBe('enabled');
      expect(await served('refused.example')).toBe(v1.serial);

      const only = await newVersion('disabled-cert', 'disabled.example');
      await bind('disabled-cert', 'disabled.example', versionless('disabled-cert'));
      expect(await served('disabled.example')).toBe(only.serial);
      await certificates.updateCertificateProperties('disabled-cert', only.versionedId.split('/').pop()!, { enabled: false });
      await sandbox.dataPlane.pollKeyVault();
      expect(sandbox.dataPlane.listenerStates()).toMatchObject({ 'disabled-cert-https': 'disabled', 'http-listener': 'enabled' });
      await expect(served('disabled.example')).rejects.toThrow();
    });

    it('a REFRESH fault makes one apply skip re-loading a changed id; the next apply loads it', async () => {
      await newVersion('lagging-cert', 'lagging.example');
      await bind('lagging-cert', 'lagging.example', versionless('lagging-cert'));
      const before = await served('lagging.example');
      const v2 = await newVersion('lagging-cert', 'lagging.example');
      sandbox.faults.arm({ service: 'gateway', count: 1, match: 'REFRESH' });
      await bind('lagging-cert', 'lagging.example', v2.versionedId);
      expect(await served('lagging.example')).toBe(before);
      await put({ ...(await read()), tags: { next: 'apply' } });
      expect(await served('lagging.example')).toBe(v2.serial);
    });
  });
});

import { scaledGateway } from '../support/scaledGateway';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SecretClient } from '@azure/keyvault-secrets';
import { Sandbox, STATE_CONTAINER, startSandbox } from '../../sandbox';
import { FaultSpec } from '../../sandbox/faults';
import { fetchServedCertificate } from '../../sandbox/tlsCheck';
import { certificateNameFor } from '../../src/azure/keyVault';
import { AcmeIssuanceSteps, StepMessages } from '../../src/domain/status';
import { failureRecord, pollToEnd, post, SandboxCredential, Status } from '../support/sandboxClient';

const START = 'AddCertificateFunctions_HttpStart';

describe('AddCertificateFunctions end to end against the sandbox', () => {
  let sandbox: Sandbox;
  let stateDir: string;
  const statusUrls: string[] = [];

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-add-'));
    sandbox = await startSandbox(scaledGateway({ stateDir }));
  });
  afterAll(async () => {
    await sandbox?.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  async function issue(hostname: string, onStatus?: (status: Status) => Promise<void> | void) {
    const started = await post(sandbox, START, { hostnames: [{ hostname }] });
    expect(started.status).toBe(202);
    const statusUrl = String(started.body.statusQueryGetUri);
    statusUrls.push(statusUrl);
    return { started, ...(await pollToEnd(statusUrl, onStatus)) };
  }

  /**
   * The validation files: the only blobs of the public challenge container. The app's lock blobs and
   * the writer's inbox are in the private state container, checked here too.
   */
  async function challengeFiles(): Promise<string[]> {
    const names: string[] = [];
    for await (const blob of sandbox.azurite.serviceClient.getContainerClient('acme-challenge').listBlobsFlat()) {
      expect(blob.name).not.toMatch(/^(gateway-writer|locks)\//);
      names.push(blob.name);
    }
    const container = sandbox.azurite.serviceClient.getContainerClient(STATE_CONTAINER);
    for await (const blob of container.listBlobsFlat()) {
      if (blob.name.startsWith('gateway-writer/')) {
        // The gateway writer's inbox: nothing waiting or being applied once the work is done.
        const inbox = JSON.parse((await container.getBlockBlobClient(blob.name).downloadToBuffer()).toString('utf8')) as { pending: unknown[]; taken: unknown[] };
        expect([...inbox.pending, ...inbox.taken]).toEqual([]);
      } else if (blob.name.startsWith('locks/')) {
        // A lock is an empty blob, and no lock (nor hostname claim) is held once the work is done.
        expect(blob.properties.contentLength).toBe(0);
        expect(blob.properties.leaseState).not.toBe('leased');
      } else if (!/^(rate-limits|backoff)\/[\w.-]+\.json$/.test(blob.name)) {
        // The rate-limit ledger and the failure back-off are state by design (src/azure/rateLimitLedger.ts, failureBackoff.ts).
        throw new Error(`unexpected blob ${blob.name} in the state container`);
      }
    }
    return names;
  }

  const gateway = () => sandbox.arm.getGateway().properties;

  it('issues a certificate: steps reported in order, the gateway serves it over SNI chained to the CA root, nothing left behind', async () => {
    const hostname = 'www.contoso.example';
    const { started, final, steps, httpStatus } = await issue(hostname);

    expect(Object.keys(started.body)).toEqual(['id', 'statusQueryGetUri', 'sendEventPostUri', 'terminatePostUri', 'purgeHistoryDeleteUri']);
    expect(started.headers.get('location')).toBe(started.body.statusQueryGetUri);
    expect(String(started.body.statusQueryGetUri)).toMatch(/\/runtime\/webhooks\/durabletask\/instances\/certificate-www\.contoso\.example\?taskHub=\w+&connection=Storage&code=.+&returnInternalServerErrorOnFailure=true$/);

    expect(httpStatus).toBe(200);
    expect(final).toMatchObject({
      name: 'AddCertificateFunctions',
      runtimeStatus: 'Completed',
      input: hostname,
      customStatus: { status: 'Completed', message: StepMessages.Completed, error: null },
      output: null,
    });
    // Every status seen is one of the contract's steps, in the contract's order, ending Completed.
    const order = steps.map((s) => AcmeIssuanceSteps.indexOf(s as never));
    expect(order.every((index) => index >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(steps[steps.length - 1]).toBe('Completed');

    const served = await fetchServedCertificate(sandbox.dataPlane.httpsPort, hostname, sandbox.acmeRootPem);
    expect(served.subjectAltName).toBe(`DNS:${hostname}`);
    expect(served.authorized).toBe(true);

    expect(await challengeFiles()).toEqual([]);
    expect(sandbox.keyVault.certificateVersions(certificateNameFor(hostname))).toHaveLength(1);
    expect(gateway().httpListeners.filter((l) => l.properties.hostName === hostname)).toHaveLength(1);
    expect(gateway().requestRoutingRules.filter((r) => r.name.startsWith(certificateNameFor(hostname)))).toHaveLength(1);
  });

  it('needs at most 9 ACME requests per certificate once the account exists', async () => {
    sandbox.counters.reset();
    const { final } = await issue('api.contoso.example');
    expect(final.runtimeStatus).toBe('Completed');
    const acme = sandbox.counters.snapshot().acme ?? {};
    const total = Object.values(acme).reduce((sum, n) => sum + n, 0);
    console.log(`ACME requests for one certificate (existing account): ${total} ${JSON.stringify(acme)}`);
    expect(acme.newAccount ?? 0).toBe(0);
    expect(total).toBeLessThanOrEqual(9);
  });

  it('follows a CNAME chain to the gateway', async () => {
    await sandbox.pebble.dns.setCname('shop.contoso.example', 'edge.cdn-contoso.example');
    const { final } = await issue('shop.contoso.example');
    expect(final.runtimeStatus).toBe('Completed');
  });

  it('a hostname whose DNS points elsewhere fails with HostnameNotResolvingToApplicationGateway', async () => {
    const hostname = 'elsewhere.contoso.example';
    await sandbox.pebble.dns.addA(hostname, '192.0.2.10');
    const { final, httpStatus } = await issue(hostname);
    expect(httpStatus).toBe(500);
    expect(final.runtimeStatus).toBe('Failed');
    expect(final.customStatus).toMatchObject({ status: 'Failed', error: 'HostnameNotResolvingToApplicationGateway' });
    const record = failureRecord(final.output);
    expect(record).toMatchObject({
      code: 'HostnameNotResolvingToApplicationGateway',
      failedStep: 'CheckDnsResolutionStep',
      hostname,
      instanceId: `certificate-${hostname}`,
    });
    expect(record.detail).toContain('192.0.2.10');
    expect(record.message).toContain('A record');
  });

  it('an AAAA record that does not point at the gateway fails the DNS check too', async () => {
    const hostname = 'v6.contoso.example';
    await sandbox.pebble.dns.addAAAA(hostname, '2001:db8::1');
    const { final } = await issue(hostname);
    expect(final.customStatus?.error).toBe('HostnameNotResolvingToApplicationGateway');
    expect(failureRecord(final.output).detail).toContain('2001:db8::1');
  });

  it('a gateway without the challenge path rule fails with HostnameOwnershipValidationFileNotFound and leaves no file', async () => {
    const saved = sandbox.arm.getGateway();
    sandbox.arm.mutate((gw) => {
      for (const map of gw.properties.urlPathMaps ?? []) map.properties.pathRules = [];
    });
    try {
      const { final } = await issue('nopath.contoso.example');
      expect(final.customStatus?.error).toBe('HostnameOwnershipValidationFileNotFound');
      expect(failureRecord(final.output).failedStep).toBe('UploadValidationFileToBlobStorageStep');
      expect(await challengeFiles()).toEqual([]);
    } finally {
      sandbox.arm.mutate((gw) => {
        gw.properties.urlPathMaps = saved.properties.urlPathMaps;
      });
    }
  });

  it('a rewritten challenge response fails with HostnameOwnershipValidationFileNotValid and leaves no file', async () => {
    sandbox.faults.arm({ service: 'gateway', status: 200, message: 'rewritten by a proxy', count: 1, match: '/.well-known/acme-challenge/' });
    const { final } = await issue('rewritten.contoso.example');
    expect(final.customStatus?.error).toBe('HostnameOwnershipValidationFileNotValid');
    expect(await challengeFiles()).toEqual([]);
  });

  it('an account that allows no anonymous reads (allowBlobPublicAccess false) fails the self-check before the CA is asked, saying what to change', async () => {
    sandbox.storage.setAllowBlobPublicAccess(false);
    try {
      const { final } = await issue('private.contoso.example');
      expect(final.customStatus?.error).toBe('HostnameOwnershipValidationFileNotFound');
      expect(failureRecord(final.output).detail).toContain('allowBlobPublicAccess is false');
      expect(await challengeFiles()).toEqual([]);
    } finally {
      sandbox.storage.setAllowBlobPublicAccess(true);
    }
  });

  it('a name the CA refuses fails with AcmeIdentifierRejected carrying the CA detail', async () => {
    const { final } = await issue('www.blocked.example');
    expect(final.customStatus?.error).toBe('AcmeIdentifierRejected');
    const record = failureRecord(final.output);
    expect(record.failedStep).toBe('GetAcmeOrderStep');
    expect(record.detail).toContain('urn:ietf:params:acme:error:rejectedIdentifier');
    expect(await challengeFiles()).toEqual([]);
  });

  it('a rate-limited CA fails with AcmeRateLimited and its Retry-After', async () => {
    sandbox.faults.arm({ service: 'acme', status: 429, code: 'rateLimited', message: 'too many new orders recently', retryAfterSeconds: 3600, count: 1, match: '/order-plz' });
    const { final } = await issue('limited.contoso.example');
    expect(final.customStatus?.error).toBe('AcmeRateLimited');
    const record = failureRecord(final.output) as unknown as { detail: string; retryAfterSeconds: number; retryAt: string };
    expect(record.detail).toContain('too many new orders recently');
    // The CA's Retry-After stays in the record, in seconds and as the time it points at.
    expect(record.retryAfterSeconds).toBe(3600);
    expect(Date.parse(record.retryAt) - Date.now()).toBeGreaterThan(3000_000);
    expect(Date.parse(record.retryAt) - Date.now()).toBeLessThanOrEqual(3600_000);
  });

  it('a gateway busy with another update (409) is waited for and retried', async () => {
    sandbox.faults.arm({ service: 'arm', status: 409, code: 'AnotherOperationInProgress', message: 'Another operation is in progress.', count: 1, match: 'PUT' });
    const { final } = await issue('busy.contoso.example');
    expect(final.runtimeStatus).toBe('Completed');
  });

  it('a throttled gateway write (429 RetryableError) is made again after its Retry-After, once', async () => {
    const accepted = sandbox.counters.get('arm', 'applicationGateways.put.accepted');
    sandbox.faults.arm({ service: 'arm', status: 429, code: 'RetryableError', message: 'A retryable error occurred.', retryAfterSeconds: 2, count: 1, match: 'PUT' });
    const { final } = await issue('throttled.contoso.example');
    expect(final.runtimeStatus).toBe('Completed');
    expect(sandbox.counters.get('arm', 'applicationGateways.put.accepted') - accepted).toBe(1);
  });

  it('a Key Vault outage longer than the SDK\'s own retries is waited out by the orchestration, not failed', async () => {
    // The SDK tries 4 times (core-rest-pipeline's default retry policy); the fifth and sixth answers fail too.
    sandbox.faults.arm({ service: 'keyvault', status: 503, code: 'ServiceUnavailable', message: 'The service is unavailable.', retryAfterSeconds: 1, count: 6, match: '/create' });
    const { final, started } = await issue('kv-outage.contoso.example');
    expect(final.runtimeStatus).toBe('Completed');
    const history = ((await (await fetch(`${String(started.body.statusQueryGetUri)}&showHistory=true`)).json()) as Status).historyEvents ?? [];
    const failedSteps = history.filter((e) => e.EventType === 'TaskFailed');
    expect(failedSteps.length).toBeGreaterThanOrEqual(1);
    expect(JSON.stringify(failedSteps)).toContain('KeyVaultRequestFailed');
  });

  it('refuses bad input with 400 naming the field, and unauthenticated calls with 401; nothing starts', async () => {
    const cases: [string | null, string, string][] = [
      ['{not json', '(body)', 'not valid JSON'],
      [JSON.stringify({}), 'hostnames', 'is required'],
      [JSON.stringify({ hostnames: [] }), 'hostnames', 'at least one'],
      [JSON.stringify({ hostnames: [{ hostname: 'a.contoso.example' }, { hostname: 'b.contoso.example' }] }), 'hostnames', 'AddMultipleCertificatesFunctions_HttpStart'],
      [JSON.stringify({ hostnames: [{ hostname: '*.contoso.example' }] }), 'hostnames[0].hostname', 'wildcard'],
      [JSON.stringify({ hostnames: [{ hostname: '203.0.113.7' }] }), 'hostnames[0].hostname', 'IP address'],
      [JSON.stringify({ hostnames: [{ hostname: 'bad_name.contoso.example' }] }), 'hostnames[0].hostname', 'invalid label'],
    ];
    for (const [raw, field, reason] of cases) {
      const response = await post(sandbox, START, undefined, { raw: raw ?? '' });
      expect(response.status).toBe(400);
      expect(response.headers.get('content-type')).toContain('application/problem+json');
      const errors = response.body.errors as { field: string; reason: string }[];
      expect(errors[0].field).toBe(field);
      expect(errors[0].reason).toContain(reason);
      expect(JSON.stringify(response.body)).not.toMatch(/at \w+ \(|node_modules|Error:/);
    }
    expect((await post(sandbox, START, { hostnames: [{ hostname: 'nokey.contoso.example' }] }, { key: null })).status).toBe(401);
    const listed = await fetch(`${sandbox.host!.url}/runtime/webhooks/durabletask/instances?code=${sandbox.endpoints.functionKey}`);
    const names = ((await listed.json()) as Status[]).map((s) => s.instanceId);
    expect(names).not.toContain('certificate-nokey.contoso.example');
    expect(names).not.toContain('certificate-a.contoso.example');
  });

  it('one instance per hostname: a second POST while it runs gets 409 with its links; a finished one can run again', async () => {
    const hostname = 'twice.contoso.example';
    sandbox.faults.arm({ service: 'arm', delayMs: 1500, count: 1, match: '/publicIPAddresses/' });
    const first = await post(sandbox, START, { hostnames: [{ hostname: 'TWICE.contoso.example.' }] });
    expect(first.status).toBe(202);
    const second = await post(sandbox, START, { hostnames: [{ hostname }] });
    expect(second.status).toBe(409);
    expect(second.body.statusQueryGetUri).toBe(first.body.statusQueryGetUri);
    expect((await pollToEnd(String(first.body.statusQueryGetUri))).final.runtimeStatus).toBe('Completed');

    const again = await post(sandbox, START, { hostnames: [{ hostname }] });
    expect(again.status).toBe(202);
    expect((await pollToEnd(String(again.body.statusQueryGetUri))).final.runtimeStatus).toBe('Completed');
    expect(gateway().httpListeners.filter((l) => l.properties.hostName === hostname)).toHaveLength(1);
  });

  it('survives the host being killed at any step: one certificate version, one listener, one rule', async () => {
    // Slow steps down where needed so that the poller sees them while their activity runs.
    const killAt: [string, FaultSpec | undefined][] = [
      ['GetApplicationGatewayPublicIpStep', { service: 'arm', delayMs: 1000, count: 1, match: '/publicIPAddresses/' }],
      ['UploadValidationFileToBlobStorageStep', { service: 'gateway', delayMs: 1000, count: 1, match: '/.well-known/acme-challenge/' }],
      ['CheckAcmeOrderStep', undefined],
      ['CreateCertificateStep', { service: 'keyvault', delayMs: 1000, count: 1, match: '/create' }],
      ['ConfigureApplicationGatewayStep', undefined],
    ];
    for (const [index, [step, slowDown]] of killAt.entries()) {
      const hostname = `crash${index}.contoso.example`;
      if (slowDown) sandbox.faults.arm(slowDown);
      const started = await post(sandbox, START, { hostnames: [{ hostname }] });
      let killed = false;
      const { final } = await pollToEnd(String(started.body.statusQueryGetUri), async (status) => {
        if (!killed && status.customStatus?.status === step) {
          killed = true;
          await sandbox.restartHost('SIGKILL');
        }
      });
      expect({ step, killed, status: final.runtimeStatus, output: final.output }).toEqual({ step, killed: true, status: 'Completed', output: null });
      expect(sandbox.keyVault.certificateVersions(certificateNameFor(hostname))).toHaveLength(1);
      expect(gateway().httpListeners.filter((l) => l.properties.hostName === hostname)).toHaveLength(1);
      expect(gateway().requestRoutingRules.filter((r) => r.name === `${certificateNameFor(hostname)}-rule`)).toHaveLength(1);
      expect((await fetchServedCertificate(sandbox.dataPlane.httpsPort, hostname, sandbox.acmeRootPem)).authorized).toBe(true);
    }
    expect(await challengeFiles()).toEqual([]);
  });

  it('lists the managed hostnames with expiry, next renewal and gateway state (GET /api/certificates)', async () => {
    expect((await fetch(`${sandbox.host!.url}/api/certificates`)).status).toBe(401);
    const response = await fetch(`${sandbox.host!.url}/api/certificates`, { headers: { 'x-functions-key': sandbox.endpoints.functionKey } });
    expect(response.status).toBe(200);
    const listed = (await response.json()) as Record<string, unknown>[];
    const entry = listed.find((c) => c.hostname === 'www.contoso.example') as Record<string, unknown>;
    expect(entry).toMatchObject({ source: 'acme', state: 'valid', overdue: false, pendingOperation: null, keyVaultName: certificateNameFor('www.contoso.example'), gateway: { listener: true, rule: true } });
    expect(entry.version).toEqual(sandbox.keyVault.certificateVersions(certificateNameFor('www.contoso.example'))[0]);
    const expires = Date.parse(String(entry.expiresOn));
    expect(entry.daysLeft).toBe(Math.floor((expires - Date.now()) / 86400_000));
    // Pebble's certificates live years; the sandbox CA's renewal window (ARI: a third of the
    // lifetime before expiry, 2% wide) comes long before RenewBeforeDays, so it decides.
    const window = entry.renewalWindow as { start: string; end: string };
    const served = await fetchServedCertificate(sandbox.dataPlane.httpsPort, 'www.contoso.example', sandbox.acmeRootPem);
    const lifetime = Date.parse(served.validTo) - Date.parse(served.validFrom);
    expect(Math.abs(Date.parse(window.start) - (Date.parse(served.validTo) - lifetime / 3 - lifetime / 100))).toBeLessThan(60_000);
    const next = Date.parse(String(entry.nextRenewal));
    expect(next).toBeGreaterThanOrEqual(Date.parse(window.start));
    expect(next).toBeLessThanOrEqual(Date.parse(window.end));
    expect(next).toBeLessThan(expires - 30 * 86400_000);
    expect(listed.map((c) => c.hostname)).not.toContain('elsewhere.contoso.example');
  });

  it('keeps the ACME account key out of every history, input, output and log line', async () => {
    const secrets = new SecretClient(sandbox.endpoints.keyVaultUrl, new SandboxCredential(), {
      disableChallengeResourceVerification: true,
      tlsOptions: { ca: sandbox.ca.certPem },
    } as object);
    const accountKey = (await secrets.getSecret('acme-account-key')).value ?? '';
    expect(accountKey).toContain('PRIVATE KEY');
    const keyBody = accountKey.split('\n').filter((line) => line && !line.startsWith('-----')).join('');
    const everything: string[] = [...sandbox.host!.output];
    for (const url of statusUrls) {
      const response = await fetch(`${url}&showHistory=true&showHistoryOutput=true&showInput=true`);
      everything.push(await response.text());
    }
    const text = everything.join('\n');
    expect(text.length).toBeGreaterThan(1000);
    expect(text).not.toContain('PRIVATE KEY');
    for (const line of accountKey.split('\n').filter((l) => l.length > 20 && !l.startsWith('-----'))) expect(text).not.toContain(line);
    expect(text).not.toContain(keyBody.slice(0, 40));
  });
});

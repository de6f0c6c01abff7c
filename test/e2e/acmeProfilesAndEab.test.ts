import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { X509Certificate } from 'node:crypto';
import { Sandbox, startSandbox } from '../../sandbox';
import { fetchServedCertificate } from '../../sandbox/tlsCheck';
import { awaitNewRenewalRun, failureRecord, invokeRenewalTimer, pollToEnd, post, renewalRunIds, Status } from '../support/sandboxClient';
import { scaledGateway } from '../support/scaledGateway';

/**
 * Any ACME CA: certificate profiles (draft-aaron-acme-profiles; the sandbox CA offers Let's
 * Encrypt's), the preferred chain among the CA's alternates, and a second CA that requires External
 * Account Binding, switched to by changing AcmeEndpoint.
 */
const HOUR_MS = 3600_000;
const DAY_MS = 24 * HOUR_MS;

interface Listed {
  hostname: string;
  profile: string | null;
  expiresOn: string;
  nextRenewal: string;
}

describe('ACME profiles, preferred chain and External Account Binding', () => {
  let sandbox: Sandbox;
  let stateDir: string;
  /** Every status URL polled, for the secrets check at the end. */
  const statusUrls: string[] = [];
  /** What the app showed and logged before a restart (a rerun under the same instance id replaces its history). */
  const seen: string[] = [];
  async function capture(): Promise<void> {
    seen.push(...sandbox.host!.output);
    for (const url of statusUrls) seen.push(await (await fetch(`${url}&showHistory=true&showHistoryOutput=true&showInput=true`)).text());
  }

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-profiles-'));
    sandbox = await startSandbox(scaledGateway({ stateDir, secondCa: true, acmeAlternateRoots: 1 }));
  }, 120_000);
  afterAll(async () => {
    await sandbox?.stop();
    if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
  });

  async function run(functionName: string, body: unknown): Promise<Status> {
    const started = await post(sandbox, functionName, body);
    expect(started.status).toBe(202);
    const url = String(started.body.statusQueryGetUri);
    statusUrls.push(url);
    return (await pollToEnd(url, undefined, 180_000)).final;
  }

  async function list(): Promise<Listed[]> {
    const response = await fetch(`${sandbox.endpoints.apiBaseUrl}/certificates`, { headers: { 'x-functions-key': sandbox.endpoints.functionKey } });
    return (await response.json()) as Listed[];
  }

  /** Every ACME request but directory reads, and every Durable instance, so far: a refused request must add none. */
  async function workDone(): Promise<{ acme: number; instances: number }> {
    const acme = Object.entries(sandbox.counters.snapshot().acme ?? {}).filter(([resource]) => resource !== 'directory').reduce((n, [, count]) => n + count, 0);
    const response = await fetch(`${sandbox.host!.url}/runtime/webhooks/durabletask/instances?code=${sandbox.endpoints.functionKey}`);
    return { acme, instances: ((await response.json()) as unknown[]).length };
  }

  const lifetimeMs = (served: { validFrom: string; validTo: string }): number => Date.parse(served.validTo) - Date.parse(served.validFrom);

  it("refuses a profile the CA does not offer with 400 naming the field and the CA's profiles, and nothing starts", async () => {
    const before = await workDone();
    const single = await post(sandbox, 'AddCertificateFunctions_HttpStart', { hostnames: [{ hostname: 'www.contoso.example', profile: 'tenyears' }] });
    expect(single.status).toBe(400);
    expect(single.body.errors).toEqual([
      { field: 'hostnames[0].profile', reason: 'is "tenyears", which the CA (AcmeEndpoint) does not offer; it offers classic, tlsserver, shortlived' },
    ]);
    const batch = await post(sandbox, 'AddMultipleCertificatesFunctions_HttpStart', {
      hostnames: [{ hostname: 'a.contoso.example', profile: 'tlsserver' }, { hostname: 'b.contoso.example', profile: 'weekly' }],
    });
    expect(batch.status).toBe(400);
    expect((batch.body.errors as { field: string }[]).map((e) => e.field)).toEqual(['hostnames[1].profile']);
    expect(await workDone()).toEqual(before);
  });

  it('issues tlsserver and shortlived certificates with their lifetimes; the list shows the profile and renews at two thirds of the lifetime', async () => {
    const final = await run('AddMultipleCertificatesFunctions_HttpStart', {
      hostnames: [{ hostname: 'tls.contoso.example', profile: 'tlsserver' }, { hostname: 'short.contoso.example', profile: 'shortlived' }, { hostname: 'plain.contoso.example' }],
    });
    expect(final.runtimeStatus).toBe('Completed');
    const expected: Record<string, number> = { 'tls.contoso.example': 45 * DAY_MS, 'short.contoso.example': 160 * HOUR_MS };
    const listed = await list();
    for (const [hostname, lifetime] of Object.entries(expected)) {
      const served = await fetchServedCertificate(sandbox.dataPlane.httpsPort, hostname, sandbox.acmeRootPem);
      expect(served.authorized).toBe(true);
      // X.509 validity is inclusive of its last second (Pebble's count): lifetime - 1 s.
      expect(lifetimeMs(served)).toBe(lifetime - 1000);
      const entry = listed.find((c) => c.hostname === hostname)!;
      expect(entry.profile).toBe(hostname.startsWith('tls') ? 'tlsserver' : 'shortlived');
      expect(Date.parse(entry.expiresOn)).toBe(Date.parse(served.validTo));
      // Both lifetimes are under three RenewBeforeDays (30): renewal at two thirds, or the CA's ARI window there (RFC 9773).
      const twoThirds = Date.parse(served.validFrom) + (2 * lifetime) / 3;
      expect(Math.abs(Date.parse(entry.nextRenewal) - twoThirds)).toBeLessThan(lifetime / 50);
    }
    const plain = listed.find((c) => c.hostname === 'plain.contoso.example')!;
    expect(plain.profile).toBeNull();
  }, 240_000);

  it('a renewal orders the profile the certificate was issued with', async () => {
    const before = await fetchServedCertificate(sandbox.dataPlane.httpsPort, 'short.contoso.example', sandbox.acmeRootPem);
    const final = await run('certificates/short.contoso.example/renew', undefined);
    expect(final.runtimeStatus).toBe('Completed');
    const after = await fetchServedCertificate(sandbox.dataPlane.httpsPort, 'short.contoso.example', sandbox.acmeRootPem);
    expect(after.serialNumber).not.toBe(before.serialNumber);
    expect(lifetimeMs(after)).toBe(160 * HOUR_MS - 1000);
    expect((await list()).find((c) => c.hostname === 'short.contoso.example')!.profile).toBe('shortlived');
  }, 240_000);

  it("the renewal timer renews a certificate under its profile when the CA's ARI window asks", async () => {
    const before = await fetchServedCertificate(sandbox.dataPlane.httpsPort, 'tls.contoso.example', sandbox.acmeRootPem);
    expect(sandbox.acme.renewalInfo.suggestWindow('tls.contoso.example', { start: new Date(Date.now() - HOUR_MS), end: new Date(Date.now() - 60_000) })).toHaveLength(1);
    // The app keeps the CA's earlier answer for its Retry-After (RFC 9773 section 4.3): a new process asks again.
    await sandbox.restartHost('SIGTERM');
    const runs = await renewalRunIds(sandbox);
    expect(await invokeRenewalTimer(sandbox)).toBe(202);
    const run = await awaitNewRenewalRun(sandbox, runs, 180_000);
    expect(run.runtimeStatus).toBe('Completed');
    expect(run.input).toMatchObject({ hostnames: ['tls.contoso.example'], profiles: { 'tls.contoso.example': 'tlsserver' } });
    const after = await fetchServedCertificate(sandbox.dataPlane.httpsPort, 'tls.contoso.example', sandbox.acmeRootPem);
    expect(after.serialNumber).not.toBe(before.serialNumber);
    expect(lifetimeMs(after)).toBe(45 * DAY_MS - 1000);
  }, 240_000);

  it('an AcmeProfile the CA does not offer is refused when used, naming the setting', async () => {
    await sandbox.restartHost('SIGTERM', { AcmeProfile: 'weekly' });
    const started = await post(sandbox, 'AddCertificateFunctions_HttpStart', { hostnames: [{ hostname: 'setting.contoso.example' }] });
    expect(started.status).toBe(500);
    expect(started.body).toMatchObject({ code: 'ConfigurationInvalid', detail: 'Setting AcmeProfile is "weekly", which the CA (AcmeEndpoint) does not offer; it offers classic, tlsserver, shortlived.' });
    // The request's own profile still wins over the setting.
    const own = await run('AddCertificateFunctions_HttpStart', { hostnames: [{ hostname: 'own.contoso.example', profile: 'tlsserver' }] });
    expect(own.runtimeStatus).toBe('Completed');
  }, 240_000);

  it("PreferredChain picks the CA's alternate chain by its root's name", async () => {
    const alternateRoot = await managementGet(sandbox.pebble.managementUrl, '/roots/1', sandbox.ca.certPem);
    const rootName = /CN=(.+)/.exec(new X509Certificate(alternateRoot).subject)![1];
    await sandbox.restartHost('SIGTERM', { AcmeProfile: undefined, PreferredChain: rootName });
    const final = await run('AddCertificateFunctions_HttpStart', { hostnames: [{ hostname: 'chain.contoso.example' }] });
    expect(final.runtimeStatus).toBe('Completed');
    // The gateway serves the chain Key Vault holds: it leads to the alternate root, not the default one.
    expect((await fetchServedCertificate(sandbox.dataPlane.httpsPort, 'chain.contoso.example', alternateRoot)).authorized).toBe(true);
    expect((await fetchServedCertificate(sandbox.dataPlane.httpsPort, 'chain.contoso.example', sandbox.acmeRootPem)).authorized).toBe(false);
    // Certificates from before still lead to the default root.
    expect((await fetchServedCertificate(sandbox.dataPlane.httpsPort, 'tls.contoso.example', sandbox.acmeRootPem)).authorized).toBe(true);
  }, 240_000);

  it('a CA that requires External Account Binding fails with AcmeExternalAccountRequired until it is set, then issues', async () => {
    const secondCa = sandbox.secondCa!;
    await sandbox.restartHost('SIGTERM', { PreferredChain: undefined, AcmeEndpoint: secondCa.directoryUrl });
    const refused = await run('AddCertificateFunctions_HttpStart', { hostnames: [{ hostname: 'eab.contoso.example' }] });
    expect(refused.runtimeStatus).toBe('Failed');
    const record = failureRecord(refused.output);
    expect(record.code).toBe('AcmeExternalAccountRequired');
    expect(`${record.message} ${record.detail}`).toMatch(/set AcmeEabKeyId to the key id and AcmeEabHmacKeySecretName/);
    expect(refused.customStatus?.error).toBe('AcmeExternalAccountRequired');

    // A wrong HMAC key: the CA refuses the binding, and the answer says which settings to check.
    await capture();
    sandbox.keyVault.setSecret('acme-eab-wrong-key', Buffer.alloc(32, 1).toString('base64url'));
    await sandbox.restartHost('SIGTERM', { AcmeEabKeyId: secondCa.eab.keyId, AcmeEabHmacKeySecretName: 'acme-eab-wrong-key' });
    const wrong = await run('AddCertificateFunctions_HttpStart', { hostnames: [{ hostname: 'eab.contoso.example' }] });
    expect(wrong.runtimeStatus).toBe('Failed');
    const wrongRecord = failureRecord(wrong.output);
    expect(wrongRecord.code).toBe('AcmeAccountFailed');
    expect(wrongRecord.detail).toMatch(/external account binding JWS verification error[\s\S]*Check that AcmeEabKeyId and the Key Vault secret AcmeEabHmacKeySecretName names/);

    // The operator stores the CA's HMAC key in Key Vault and names it; the account is created bound, and it issues.
    await capture();
    secondCa.storeEabKey('acme-eab-hmac-key');
    await sandbox.restartHost('SIGTERM', { AcmeEabHmacKeySecretName: 'acme-eab-hmac-key' });
    const final = await run('AddCertificateFunctions_HttpStart', { hostnames: [{ hostname: 'eab.contoso.example' }] });
    expect(final.runtimeStatus).toBe('Completed');
    const served = await fetchServedCertificate(sandbox.dataPlane.httpsPort, 'eab.contoso.example', secondCa.rootPem);
    expect(served.authorized).toBe(true);
    expect(secondCa.acme.csrCommonNames.flat()).toContain('eab.contoso.example');
  }, 300_000);

  it('keeps the EAB HMAC keys (right and wrong) out of every status, history, input, output and log line', async () => {
    const { hmacKey } = sandbox.secondCa!.eab;
    await capture();
    const text = seen.join('\n');
    expect(text.length).toBeGreaterThan(1000);
    expect(text).toContain('AcmeExternalAccountRequired');
    expect(text).not.toContain(hmacKey);
    expect(text).not.toContain(hmacKey.slice(0, 16));
    expect(text).not.toContain(Buffer.alloc(32, 1).toString('base64url')); // the wrong key tried first
    expect(text).not.toContain(Buffer.from(hmacKey, 'base64url').toString('base64').slice(0, 16));
  });
});

function managementGet(managementUrl: string, route: string, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    https
      .get(`${managementUrl}${route}`, { ca }, (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

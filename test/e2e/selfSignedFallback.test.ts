import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Sandbox, startSandbox } from '../../sandbox';
import { fetchServedCertificate } from '../../sandbox/tlsCheck';
import { awaitNewRenewalRun, failureRecord, invokeRenewalTimer, pollToEnd, post, renewalRunIds } from '../support/sandboxClient';
import { scaledGateway } from '../support/scaledGateway';

interface Row {
  hostname: string;
  source: string;
  challengeType: string | null;
  state: string;
  nextRenewal: string | null;
  gateway: { listener: boolean; rule: boolean };
  consecutiveFailures: number;
  nextAttemptAt: string | null;
}

async function rowOf(sandbox: Sandbox, hostname: string): Promise<Row | undefined> {
  const response = await fetch(`${sandbox.endpoints.apiBaseUrl}/certificates`, { headers: { 'x-functions-key': sandbox.endpoints.functionKey } });
  return ((await response.json()) as Row[]).find((row) => row.hostname === hostname);
}

async function issue(sandbox: Sandbox, hostname: string): Promise<{ runtimeStatus: string; record?: Record<string, unknown> }> {
  const started = await post(sandbox, 'AddCertificateFunctions_HttpStart', { hostnames: [{ hostname }] });
  expect(started.status).toBe(202);
  const { final } = await pollToEnd(String(started.body.statusQueryGetUri), undefined, 180_000);
  return { runtimeStatus: final.runtimeStatus, ...(final.runtimeStatus === 'Failed' ? { record: failureRecord(final.output) as unknown as Record<string, unknown> } : {}) };
}

describe('SelfSignedFallback=true', () => {
  let sandbox: Sandbox;
  let stateDir: string;
  const served = (hostname: string) => fetchServedCertificate(sandbox.dataPlane.httpsPort, hostname, sandbox.acmeRootPem);

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-selfsigned-'));
    sandbox = await startSandbox(scaledGateway({ stateDir, settings: { SelfSignedFallback: 'true' } }));
  });
  afterAll(async () => {
    await sandbox?.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('binds a self-signed stand-in when a new hostname fails, and the next issuance replaces it', async () => {
    // The back-off's first minute is waited out in real time.
    const hostname = 'standin.contoso.example';
    await sandbox.pebble.dns.addA(hostname, '192.0.2.10');
    const failed = await issue(sandbox, hostname);
    // Issuance still failed, with its own code: the stand-in is not success.
    expect(failed.runtimeStatus).toBe('Failed');
    expect(failed.record).toMatchObject({
      code: 'HostnameNotResolvingToApplicationGateway',
      failedStep: 'CheckDnsResolutionStep',
      selfSignedFallback: { bound: true, certificateName: expect.any(String), notAfter: expect.any(String) },
    });
    // The gateway serves it for the name: self-signed (issuer = subject), not trusted by anyone.
    const standIn = await served(hostname);
    expect(standIn.subject).toBe(hostname);
    expect(standIn.issuer).toBe(hostname);
    expect(standIn.subjectAltName).toBe(`DNS:${hostname}`);
    expect(standIn.authorized).toBe(false);
    expect(await rowOf(sandbox, hostname)).toMatchObject({ source: 'self-signed', state: 'valid', gateway: { listener: true, rule: true } });
    // No CA issued it: nothing to revoke.
    const revoke = await post(sandbox, `certificates/${hostname}/revoke`, { reason: 'keyCompromise' });
    expect(revoke.status).toBe(409);
    expect(revoke.body).toMatchObject({ title: 'Self-signed stand-in' });

    // DNS fixed. The stand-in is due at every tick, but paced by the failure back-off (1 minute after
    // one failure; the timer's deferral is tested in rateLimits.test.ts): the first tick after it issues the real certificate.
    await sandbox.pebble.dns.clearA(hostname);
    const waiting = await rowOf(sandbox, hostname);
    expect(waiting).toMatchObject({ consecutiveFailures: 1, nextAttemptAt: expect.any(String) });
    const before = await renewalRunIds(sandbox);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, Date.parse(String(waiting?.nextAttemptAt)) - Date.now() + 1000)));
    await invokeRenewalTimer(sandbox);
    const run = await awaitNewRenewalRun(sandbox, before, 240_000);
    expect(run.runtimeStatus).toBe('Completed');
    const real = await served(hostname);
    expect(real.authorized).toBe(true);
    expect(real.issuer).not.toBe(hostname);
    expect(await rowOf(sandbox, hostname)).toMatchObject({ source: 'acme', state: 'valid', gateway: { listener: true, rule: true }, consecutiveFailures: 0, nextAttemptAt: null });
  }, 420_000);

  it('keeps a DNS-01 request\'s challenge type on its stand-in, so the timer proves the real one the same way', async () => {
    const hostname = 'www.tailspin.example';
    const started = await post(sandbox, 'AddCertificateFunctions_HttpStart', { hostnames: [{ hostname, challengeType: 'dns-01' }] });
    expect(started.status).toBe(202);
    const { final } = await pollToEnd(String(started.body.statusQueryGetUri), undefined, 180_000);
    // No Azure DNS zone holds tailspin.example.
    expect(failureRecord(final.output)).toMatchObject({ code: 'DnsZoneNotFound', selfSignedFallback: { bound: true } });
    expect(await rowOf(sandbox, hostname)).toMatchObject({ source: 'self-signed', challengeType: 'dns-01' });
  });

  it('never puts a stand-in over a certificate the hostname has', async () => {
    const hostname = 'kept.contoso.example';
    expect((await issue(sandbox, hostname)).runtimeStatus).toBe('Completed');
    const issued = await served(hostname);
    expect(issued.authorized).toBe(true);

    // A new request for the name fails: the ACME certificate stays on the listener.
    await sandbox.pebble.dns.addA(hostname, '192.0.2.10');
    const failed = await issue(sandbox, hostname);
    expect(failed.record).toMatchObject({ code: 'HostnameNotResolvingToApplicationGateway', selfSignedFallback: { bound: false, detail: expect.stringContaining('acme') } });
    // A failed renew-now is a renewal: no stand-in is even considered.
    const renew = await post(sandbox, `certificates/${hostname}/renew`, undefined, { raw: '' });
    expect(renew.status).toBe(202);
    const { final } = await pollToEnd(String(renew.body.statusQueryGetUri), undefined, 180_000);
    expect(final.runtimeStatus).toBe('Failed');
    expect(failureRecord(final.output)).not.toHaveProperty('selfSignedFallback');
    expect((await served(hostname)).serialNumber).toBe(issued.serialNumber);
    expect(await rowOf(sandbox, hostname)).toMatchObject({ source: 'acme' });
    await sandbox.pebble.dns.clearA(hostname);
  });

  it('puts a batch\'s stand-ins into its one gateway write beside what it issued', async () => {
    const [bad, good] = ['batch-standin.contoso.example', 'batch-good.contoso.example'];
    await sandbox.pebble.dns.addA(bad, '192.0.2.10');
    const started = await post(sandbox, 'AddMultipleCertificatesFunctions_HttpStart', { hostnames: [{ hostname: bad }, { hostname: good }] });
    expect(started.status).toBe(202);
    const { final } = await pollToEnd(String(started.body.statusQueryGetUri), undefined, 240_000);
    expect(final.runtimeStatus).toBe('Failed');
    const outcomes = (failureRecord(final.output) as unknown as { hostnames: { hostname: string; status: string; error: string | null; selfSignedFallback?: { bound: boolean } }[] }).hostnames;
    expect(outcomes.find((o) => o.hostname === bad)).toMatchObject({ status: 'Failed', error: 'HostnameNotResolvingToApplicationGateway', selfSignedFallback: { bound: true } });
    expect(outcomes.find((o) => o.hostname === good)).toMatchObject({ status: 'Completed' });
    expect(outcomes.find((o) => o.hostname === good)).not.toHaveProperty('selfSignedFallback');
    expect((await served(bad)).issuer).toBe(bad);
    expect((await served(good)).authorized).toBe(true);
    expect(await rowOf(sandbox, bad)).toMatchObject({ source: 'self-signed', gateway: { listener: true, rule: true } });
    await sandbox.pebble.dns.clearA(bad);
  });
});

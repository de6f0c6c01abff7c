import { storeOldAcmeCertificate } from '../support/oldAcmeCertificate';
import { scaledGateway } from '../support/scaledGateway';
import fs from 'node:fs';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { CertificateClient } from '@azure/keyvault-certificates';
import { Sandbox, startSandbox } from '../../sandbox';
import { fetchServedCertificate } from '../../sandbox/tlsCheck';
import { certificateNameFor } from '../../src/azure/keyVault';
import { awaitNewRenewalRun, failureRecord, invokeFunction, invokeRenewalTimer, pollToEnd, post, renewalRunIds, SandboxCredential } from '../support/sandboxClient';

/** Renewal: the daily timer (run on demand through the admin API) and renew-now. */
describe('renewal', () => {
  let sandbox: Sandbox;
  let stateDir: string;
  // A local webhook receiver: records every notice; answers 500 while `failing` is set.
  const received: Record<string, unknown>[] = [];
  let failing = false;
  const receiver = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      received.push(JSON.parse(body) as Record<string, unknown>);
      response.writeHead(failing ? 500 : 204).end();
    });
  });

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-renew-'));
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    sandbox = await startSandbox(scaledGateway({ stateDir, settings: { FailureWebhookUrl: hook, HistoryRetentionDays: '0', ServedCertificateRecheckSeconds: '0,1' } }));
  });
  afterAll(async () => {
    await sandbox?.stop();
    receiver.close();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  const versions = (hostname: string): string[] => sandbox.keyVault.certificateVersions(certificateNameFor(hostname));
  const serial = async (hostname: string): Promise<string> => (await fetchServedCertificate(sandbox.dataPlane.httpsPort, hostname, sandbox.acmeRootPem)).serialNumber;
  const statusUrl = (hostname: string): string =>
    `${sandbox.host!.url}/runtime/webhooks/durabletask/instances/certificate-${hostname}?code=${sandbox.endpoints.functionKey}`;

  async function runTimer(): Promise<void> {
    expect(await invokeRenewalTimer(sandbox)).toBe(202);
  }

  const createdTime = async (hostname: string): Promise<string | undefined> => {
    const response = await fetch(statusUrl(hostname));
    return response.status === 404 ? undefined : ((await response.json()) as { createdTime: string }).createdTime;
  };

  /** Waits until the hostname's instance is a new one (the timer starts it asynchronously). */
  async function waitForNewRun(hostname: string, before: string | undefined): Promise<void> {
    for (let i = 0; i < 200 && (await createdTime(hostname)) === before; i++) await new Promise((resolve) => setTimeout(resolve, 25));
    expect(await createdTime(hostname)).not.toBe(before);
  }

  async function waitForInstance(hostname: string): Promise<void> {
    for (let i = 0; i < 200 && (await fetch(statusUrl(hostname))).status === 404; i++) await new Promise((resolve) => setTimeout(resolve, 25));
  }

  const certificateClient = (): CertificateClient =>
    new CertificateClient(sandbox.endpoints.keyVaultUrl, new SandboxCredential(), {
      disableChallengeResourceVerification: true,
      tlsOptions: { ca: sandbox.ca.certPem },
    } as object);

  const listed = async (hostname: string): Promise<Record<string, unknown> | undefined> => {
    const response = await fetch(`${sandbox.host!.url}/api/certificates`, { headers: { 'x-functions-key': sandbox.endpoints.functionKey } });
    expect(response.status).toBe(200);
    return ((await response.json()) as Record<string, unknown>[]).find((c) => c.hostname === hostname);
  };

  it('the timer renews exactly the due certificates, and a second run does no extra work', async () => {
    const fresh = 'fresh.renew.example';
    const started = await post(sandbox, 'AddCertificateFunctions_HttpStart', { hostnames: [{ hostname: fresh }] });
    expect((await pollToEnd(String(started.body.statusQueryGetUri))).final.runtimeStatus).toBe('Completed');
    const old = 'old.renew.example';
    await storeOldAcmeCertificate(sandbox, old);
    expect(versions(old)).toHaveLength(1);

    const runs = await renewalRunIds(sandbox);
    await runTimer();
    // One renewal run holds every due hostname; its jitter travels in its input (0 here: RenewalJitterMinutes 0).
    const run = await awaitNewRenewalRun(sandbox, runs);
    expect(run.runtimeStatus).toBe('Completed');
    expect(run.input).toEqual(expect.objectContaining({ hostnames: [old], startDelaySeconds: 0 }));
    expect((await pollToEnd(statusUrl(old))).final.runtimeStatus).toBe('Completed');
    expect(versions(old)).toHaveLength(2);
    expect(versions(fresh)).toHaveLength(1);
    const served = await fetchServedCertificate(sandbox.dataPlane.httpsPort, old, sandbox.acmeRootPem);
    expect(served.authorized).toBe(true);

    const puts = sandbox.counters.get('arm', 'applicationGateways.put');
    await runTimer();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(versions(old)).toHaveLength(2);
    expect(versions(fresh)).toHaveLength(1);
    expect(sandbox.counters.get('arm', 'applicationGateways.put')).toBe(puts);
  });

  it('renews now on request; the gateway serves the new certificate at once', async () => {
    const hostname = 'now.renew.example';
    const first = await post(sandbox, 'AddCertificateFunctions_HttpStart', { hostnames: [{ hostname }] });
    await pollToEnd(String(first.body.statusQueryGetUri));
    const before = await serial(hostname);

    const renewed = await post(sandbox, `certificates/${hostname}/renew`, undefined, { raw: '' });
    expect(renewed.status).toBe(202);
    expect((await pollToEnd(String(renewed.body.statusQueryGetUri))).final.runtimeStatus).toBe('Completed');
    expect(versions(hostname)).toHaveLength(2);
    expect(await serial(hostname)).not.toBe(before);
    // The renewal order named the certificate it replaces (RFC 9773 section 5).
    expect(sandbox.acme.renewalInfo.replacements.filter((r) => r.hostnames.includes(hostname))).toHaveLength(1);
    expect(sandbox.arm.getGateway().properties.httpListeners.filter((l) => l.properties.hostName === hostname)).toHaveLength(1);

    expect((await post(sandbox, 'certificates/unknown.renew.example/renew', undefined, { raw: '' })).status).toBe(404);
    expect((await post(sandbox, 'certificates/not_a_host/renew', undefined, { raw: '' })).status).toBe(400);
  });

  const issue = async (hostname: string): Promise<void> => {
    const started = await post(sandbox, 'AddCertificateFunctions_HttpStart', { hostnames: [{ hostname }] });
    expect((await pollToEnd(String(started.body.statusQueryGetUri))).final.runtimeStatus).toBe('Completed');
  };
  const renewNow = async (hostname: string): Promise<string> => {
    const renewed = await post(sandbox, `certificates/${hostname}/renew`, undefined, { raw: '' });
    expect(renewed.status).toBe(202);
    return String((await pollToEnd(String(renewed.body.statusQueryGetUri))).final.runtimeStatus);
  };
  const replacementsOf = (hostname: string) => sandbox.acme.renewalInfo.replacements.filter((r) => r.hostnames.includes(hostname));

  it('renews a certificate early when the CA\'s renewal window (ARI) says so, naming the one it replaces', async () => {
    const early = 'early.renew.example';
    const calm = 'calm.renew.example';
    await issue(early);
    await issue(calm);
    const [oldId] = sandbox.acme.renewalInfo.certificateIdsFor(early);
    expect(oldId).toBeDefined();
    const lookups = sandbox.counters.get('acme', 'renewalInfo');

    // Nothing is due by date (Pebble issues 5-year certificates); the CA asks for this one now.
    const response = await fetch(`${sandbox.endpoints.adminUrl}/acme/renewal-window`, {
      method: 'POST',
      body: JSON.stringify({ hostname: early, start: new Date(Date.now() - 7200_000).toISOString(), end: new Date(Date.now() - 3600_000).toISOString() }),
    });
    expect(await response.json()).toEqual({ certificateIds: [oldId] });
    // The list shows the CA's window and the renewal time chosen inside it.
    const listed = (await (await fetch(`${sandbox.endpoints.apiBaseUrl}/certificates`, { headers: { 'x-functions-key': sandbox.endpoints.functionKey } })).json()) as {
      hostname: string;
      nextRenewal: string;
      renewalWindow: { start: string; end: string } | null;
    }[];
    const listedEarly = listed.find((c) => c.hostname === early)!;
    expect(Date.parse(listedEarly.nextRenewal)).toBeLessThan(Date.now());
    expect(Date.parse(listedEarly.nextRenewal)).toBeGreaterThanOrEqual(Date.parse(listedEarly.renewalWindow!.start));
    expect(listed.find((c) => c.hostname === calm)!.renewalWindow).not.toBeNull();
    const issuedAt = await createdTime(early);
    const runs = await renewalRunIds(sandbox);
    await runTimer();
    expect((await awaitNewRenewalRun(sandbox, runs)).runtimeStatus).toBe('Completed');
    await waitForNewRun(early, issuedAt);
    expect((await pollToEnd(statusUrl(early))).final.runtimeStatus).toBe('Completed');
    expect(versions(early)).toHaveLength(2);
    expect(versions(calm)).toHaveLength(1);
    // The timer asked the CA about every ACME certificate from it, and the new order named the old one.
    expect(sandbox.counters.get('acme', 'renewalInfo')).toBeGreaterThanOrEqual(lookups + 2);
    expect(replacementsOf(early)).toEqual([expect.objectContaining({ certificateId: oldId })]);
    expect(replacementsOf(calm)).toEqual([]);

    // The new certificate's window lies years ahead: a second run renews nothing.
    await runTimer();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(versions(early)).toHaveLength(2);
    expect(versions(calm)).toHaveLength(1);
  });

  it('orders without `replaces` when the CA says an earlier, failed attempt already replaced the certificate', async () => {
    const hostname = 'retried.renew.example';
    await issue(hostname);
    const [oldId] = sandbox.acme.renewalInfo.certificateIdsFor(hostname);
    // The first renewal's order names the certificate, then the challenge answer is refused.
    sandbox.faults.arm({ service: 'acme', status: 403, code: 'unauthorized', count: 1, match: '/chalZ/' });
    expect(await renewNow(hostname)).toBe('Failed');
    expect(replacementsOf(hostname)).toEqual([expect.objectContaining({ certificateId: oldId })]);
    expect(versions(hostname)).toHaveLength(1);

    // Its order is still pending, so the CA answers alreadyReplaced (409); the renewal goes on without.
    const orders = sandbox.counters.get('acme', 'newOrder');
    expect(await renewNow(hostname)).toBe('Completed');
    expect(sandbox.counters.get('acme', 'newOrder')).toBe(orders + 2);
    expect(replacementsOf(hostname)).toHaveLength(1);
    expect(versions(hostname)).toHaveLength(2);
  });

  describe('live check after the gateway write', () => {
    const puts = (): number => sandbox.counters.get('arm', 'applicationGateways.put');
    const failureOf = async (hostname: string): Promise<Record<string, string>> => failureRecord((await pollToEnd(statusUrl(hostname))).final.output);
    afterEach(() => sandbox.faults.clear());

    it('refreshes a gateway that still serves the old certificate, then finds the new one served', async () => {
      const hostname = 'lagging.renew.example';
      await issue(hostname);
      const before = await serial(hostname);
      // The gateway keeps its loaded certificate through the renewal's write, as one that has not re-read Key Vault.
      sandbox.faults.arm({ service: 'gateway', count: 1, match: 'REFRESH' });
      const writes = puts();
      const handshakes = sandbox.counters.get('gateway', 'https.handshake');

      expect(await renewNow(hostname)).toBe('Completed');
      expect(puts()).toBe(writes + 2); // the renewal's write and one refresh
      expect(sandbox.counters.get('gateway', 'https.handshake')).toBeGreaterThanOrEqual(handshakes + 2);
      expect(await serial(hostname)).not.toBe(before);
    });

    it('fails with CertificateNotServedByGateway when the gateway keeps serving the old certificate', async () => {
      const hostname = 'stale.renew.example';
      await issue(hostname);
      const before = await serial(hostname);
      received.length = 0;
      // Write + 2 refreshes (ServedCertificateRecheckSeconds 0,1), none of which makes it re-read Key Vault.
      sandbox.faults.arm({ service: 'gateway', count: 3, match: 'REFRESH' });
      const writes = puts();

      expect(await renewNow(hostname)).toBe('Failed');
      const record = await failureOf(hostname);
      expect(record).toMatchObject({ code: 'CertificateNotServedByGateway', failedStep: 'ConfigureApplicationGatewayStep', hostname });
      expect(record.detail).toContain(`serial ${before}`);
      expect(puts()).toBe(writes + 3);
      // The certificate itself was issued and stored; the next write serves it.
      expect(versions(hostname)).toHaveLength(2);
      expect(received).toContainEqual(expect.objectContaining({ kind: 'failure', code: 'CertificateNotServedByGateway', hostname }));
    });

    it('fails with GatewayHttpsUnreachable, without refreshing, when no frontend answers TLS', async () => {
      const hostname = 'unreachable.renew.example';
      await issue(hostname);
      sandbox.faults.arm({ service: 'gateway', count: 3, match: 'HANDSHAKE' });
      const writes = puts();

      expect(await renewNow(hostname)).toBe('Failed');
      expect(await failureOf(hostname)).toMatchObject({ code: 'GatewayHttpsUnreachable', failedStep: 'ConfigureApplicationGatewayStep' });
      expect(puts()).toBe(writes + 1);
    });
  });

  it('posts failures to the webhook with their code; a failing webhook does not change the outcome', async () => {
    await sandbox.pebble.dns.addA('lost.renew.example', '192.0.2.9');
    received.length = 0;
    failing = true;
    const started = await post(sandbox, 'AddCertificateFunctions_HttpStart', { hostnames: [{ hostname: 'lost.renew.example' }] });
    const { final } = await pollToEnd(String(started.body.statusQueryGetUri));
    failing = false;
    expect(final.customStatus?.error).toBe('HostnameNotResolvingToApplicationGateway');
    expect(received).toEqual([
      expect.objectContaining({ source: 'appgw-certbot', kind: 'failure', code: 'HostnameNotResolvingToApplicationGateway', hostname: 'lost.renew.example', failedStep: 'CheckDnsResolutionStep' }),
    ]);
  });

  it('posts an overdue notice when a due certificate\'s last renewal failed', async () => {
    const hostname = 'stuck.renew.example';
    await storeOldAcmeCertificate(sandbox, hostname);
    await sandbox.pebble.dns.addA(hostname, '192.0.2.10');
    const runs = await renewalRunIds(sandbox);
    await runTimer();
    expect((await awaitNewRenewalRun(sandbox, runs)).runtimeStatus).toBe('Failed');
    await waitForInstance(hostname);
    expect((await pollToEnd(statusUrl(hostname))).final.runtimeStatus).toBe('Failed');
    received.length = 0;
    await runTimer();
    for (let i = 0; i < 200 && !received.some((n) => n.kind === 'overdue'); i++) await new Promise((resolve) => setTimeout(resolve, 25));
    expect(received).toContainEqual(expect.objectContaining({ kind: 'overdue', code: 'RenewalOverdue', hostname }));
    await pollToEnd(statusUrl(hostname));
  });

  it('a renewal stuck in a pending Key Vault create is overdue in the list and the webhook; the next run replaces the create and renews', async () => {
    const hostname = 'pending.renew.example';
    // Not due by date (60 days left): only the stuck create makes it overdue.
    await storeOldAcmeCertificate(sandbox, hostname, 60);
    const name = certificateNameFor(hostname);
    // What a renewal stopped between its create and its merge leaves (a crash runs no clean-up).
    await certificateClient().beginCreateCertificate(
      name,
      { issuerName: 'Unknown', subject: `CN=${hostname}`, subjectAlternativeNames: { dnsNames: [hostname] }, contentType: 'application/x-pkcs12' },
      { tags: { hostname, source: 'acme', run: 'a-renewal-that-crashed' } },
    );
    const before = await listed(hostname);
    // The issued version is what the list reports, never the pending one's year from the policy.
    expect(before).toMatchObject({ state: 'valid', daysLeft: 59, overdue: true, version: versions(hostname)[0], pendingOperation: { status: 'inProgress' } });

    received.length = 0;
    const runs = await renewalRunIds(sandbox);
    await runTimer();
    const run = await awaitNewRenewalRun(sandbox, runs);
    expect(received).toContainEqual(expect.objectContaining({ kind: 'overdue', code: 'RenewalOverdue', hostname, message: expect.stringContaining('stopped part-way') }));
    // The run may hold other due hostnames of this suite (one that cannot renew fails the run as a whole).
    expect((run.input as { hostnames: string[] }).hostnames).toContain(hostname);
    expect(versions(hostname)).toHaveLength(2);
    const after = await listed(hostname);
    expect(after).toMatchObject({ state: 'valid', overdue: false, pendingOperation: null, version: versions(hostname)[1] });
    expect(Number(after?.daysLeft)).toBeGreaterThan(60);
  });

  it('a run that fails after Key Vault made its create leaves nothing pending, and the list says failed for a hostname never issued', async () => {
    const hostname = 'failedmerge.renew.example';
    sandbox.faults.arm({ service: 'acme', status: 400, code: 'badCSR', message: 'The CSR is unacceptable.', count: 1, match: 'finalize' });
    const started = await post(sandbox, 'AddCertificateFunctions_HttpStart', { hostnames: [{ hostname }] });
    const { final, steps } = await pollToEnd(String(started.body.statusQueryGetUri));
    expect(final.runtimeStatus).toBe('Failed');
    expect(steps).toContain('CreateCertificateStep');
    await expect(certificateClient().getCertificateOperation(certificateNameFor(hostname))).rejects.toMatchObject({ statusCode: 404 });
    // Deleting the operation leaves its disabled version (Key Vault): the list shows the hostname as failed, never as valid.
    expect(await listed(hostname)).toMatchObject({ state: 'failed', version: null, expiresOn: null, overdue: false, pendingOperation: { status: 'none' } });
    // And it can be removed like any managed hostname.
    const removal = await fetch(`${sandbox.host!.url}/api/certificates/${hostname}`, { method: 'DELETE', headers: { 'x-functions-key': sandbox.endpoints.functionKey } });
    expect(removal.status).toBe(202);
    const { final: removed } = await pollToEnd(String(((await removal.json()) as { statusQueryGetUri: string }).statusQueryGetUri));
    expect(removed.runtimeStatus).toBe('Completed');
    expect(await listed(hostname)).toBeUndefined();
  });

  it('purges the history of finished instances older than the retention, never running ones', async () => {
    const instance = (id: string) => fetch(`${sandbox.host!.url}/runtime/webhooks/durabletask/instances/${id}?code=${sandbox.endpoints.functionKey}`);
    expect((await instance('certificate-fresh.renew.example')).status).toBe(200);
    // One instance runs while the purge does: it must be left alone.
    const running = await post(sandbox, 'AddCertificateFunctions_HttpStart', { hostnames: [{ hostname: 'running.renew.example' }] });
    expect((await instance('certificate-running.renew.example')).status).toBe(202);
    expect(await invokeFunction(sandbox, 'PurgeHistoryTimer')).toBe(202);
    for (let i = 0; i < 200 && (await instance('certificate-fresh.renew.example')).status !== 404; i++) await new Promise((resolve) => setTimeout(resolve, 25));
    expect((await instance('certificate-fresh.renew.example')).status).toBe(404);
    expect((await pollToEnd(String(running.body.statusQueryGetUri))).final.runtimeStatus).toBe('Completed');
  });

  it('removes a hostname from the gateway and Key Vault while another is being issued on the same gateway', async () => {
    const gone = 'gone.renew.example';
    const first = await post(sandbox, 'AddCertificateFunctions_HttpStart', { hostnames: [{ hostname: gone }] });
    await pollToEnd(String(first.body.statusQueryGetUri));
    sandbox.faults.arm({ service: 'arm', delayMs: 1500, count: 1, match: '/publicIPAddresses/' });
    const other = await post(sandbox, 'AddCertificateFunctions_HttpStart', { hostnames: [{ hostname: 'stays.renew.example' }] });

    const removal = await fetch(`${sandbox.host!.url}/api/certificates/${gone}?purge=true`, { method: 'DELETE', headers: { 'x-functions-key': sandbox.endpoints.functionKey } });
    expect(removal.status).toBe(202);
    const removalLinks = (await removal.json()) as { statusQueryGetUri: string };
    const [removed, issued] = await Promise.all([pollToEnd(removalLinks.statusQueryGetUri), pollToEnd(String(other.body.statusQueryGetUri))]);
    expect(removed.final.runtimeStatus).toBe('Completed');
    expect(issued.final.runtimeStatus).toBe('Completed');

    const gateway = sandbox.arm.getGateway().properties;
    expect(gateway.httpListeners.filter((l) => l.properties.hostName === gone)).toHaveLength(0);
    expect(gateway.requestRoutingRules.filter((r) => r.name.startsWith(certificateNameFor(gone)))).toHaveLength(0);
    expect((gateway.sslCertificates ?? []).filter((c) => c.name === certificateNameFor(gone))).toHaveLength(0);
    expect(gateway.httpListeners.filter((l) => l.properties.hostName === 'stays.renew.example')).toHaveLength(1);
    expect(versions(gone)).toHaveLength(0);
    await expect(fetchServedCertificate(sandbox.dataPlane.httpsPort, gone, sandbox.acmeRootPem)).rejects.toThrow();
    expect((await fetchServedCertificate(sandbox.dataPlane.httpsPort, 'stays.renew.example', sandbox.acmeRootPem)).authorized).toBe(true);

    const again = await fetch(`${sandbox.host!.url}/api/certificates/${gone}`, { method: 'DELETE', headers: { 'x-functions-key': sandbox.endpoints.functionKey } });
    expect(again.status).toBe(404);
  });

  it('issues again for a hostname whose certificate was removed without purge (recovering the soft-deleted one)', async () => {
    const hostname = 'back.renew.example';
    const first = await post(sandbox, 'AddCertificateFunctions_HttpStart', { hostnames: [{ hostname }] });
    await pollToEnd(String(first.body.statusQueryGetUri));
    const removal = await fetch(`${sandbox.host!.url}/api/certificates/${hostname}`, { method: 'DELETE', headers: { 'x-functions-key': sandbox.endpoints.functionKey } });
    expect((await pollToEnd(String(((await removal.json()) as { statusQueryGetUri: string }).statusQueryGetUri))).final.runtimeStatus).toBe('Completed');
    expect(versions(hostname)).toHaveLength(0);

    const again = await post(sandbox, 'AddCertificateFunctions_HttpStart', { hostnames: [{ hostname }] });
    expect((await pollToEnd(String(again.body.statusQueryGetUri))).final.runtimeStatus).toBe('Completed');
    expect(versions(hostname)).toHaveLength(2);
    expect((await fetchServedCertificate(sandbox.dataPlane.httpsPort, hostname, sandbox.acmeRootPem)).authorized).toBe(true);
  });
});

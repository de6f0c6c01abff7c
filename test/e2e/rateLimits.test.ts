import fs from 'node:fs';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Sandbox, startSandbox } from '../../sandbox';
import type { SandboxRateLimits } from '../../sandbox/services/acmeRateLimits';
import { failureRecord, invokeRenewalTimer, pollToEnd, post, renewalRunIds, Status, waitGentlyToEnd } from '../support/sandboxClient';
import { storeOldAcmeCertificate } from '../support/oldAcmeCertificate';
import { scaledGateway } from '../support/scaledGateway';

const MULTIPLE = 'AddMultipleCertificatesFunctions_HttpStart';
const HOUR = 3600_000;
const DAY = 24 * HOUR;

/**
 * Let's Encrypt's limits scaled down for a test that finishes in minutes: 300 orders/account/3 h
 * and 50 certificates/registered domain/7 d divided by 5 (60 and 10); 5 per exact set/7 d and
 * 5 failed validations/name/account/1 h as they are. The sandbox CA and the app get the same.
 */
const TEST_LIMITS: SandboxRateLimits = {
  NewOrdersPerAccount: { count: 60, periodMs: 3 * HOUR },
  CertificatesPerDomain: { count: 10, periodMs: 7 * DAY },
  CertificatesPerFQDNSet: { count: 5, periodMs: 7 * DAY },
  FailedAuthorizationsPerDomainPerAccount: { count: 5, periodMs: HOUR },
};
const TEST_LIMITS_SETTING = 'NewOrdersPerAccount=60/3h, CertificatesPerDomain=10/7d, CertificatesPerFQDNSet=5/7d, FailedAuthorizationsPerDomainPerAccount=5/1h';

interface Outcome {
  hostname: string;
  status: string;
  error: string | null;
  detail?: string;
  failedStep?: string;
  retryAt?: string;
  message?: string;
}

describe("Let's Encrypt's rate limits and the failure back-off", () => {
  let sandbox: Sandbox;
  let stateDir: string;
  /** Names the sandbox CA sees a CAA record forbidding it for, though the app's resolver does not: their validation fails at the CA. */
  const caFails = new Set<string>();
  const notices: Record<string, unknown>[] = [];
  const receiver = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      notices.push(JSON.parse(body) as Record<string, unknown>);
      response.writeHead(204).end();
    });
  });

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-ratelimit-'));
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    sandbox = await startSandbox(
      scaledGateway({
        stateDir,
        acmeRateLimits: TEST_LIMITS,
        acmeCaaLookup: async (name, viaDns) => (caFails.has(name) ? [{ flags: 0, tag: 'issue', value: 'another-ca.example' }] : viaDns(name)),
        settings: { AcmeRateLimits: TEST_LIMITS_SETTING, FailureWebhookUrl: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook` },
      }),
    );
  });
  afterAll(async () => {
    await sandbox?.stop();
    receiver.close();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  const listed = async (hostname: string): Promise<Record<string, unknown> | undefined> => {
    const response = await fetch(`${sandbox.endpoints.apiBaseUrl}/certificates`, { headers: { 'x-functions-key': sandbox.endpoints.functionKey } });
    expect(response.status).toBe(200);
    return ((await response.json()) as Record<string, unknown>[]).find((c) => c.hostname === hostname);
  };
  const renew = (hostname: string) => post(sandbox, `certificates/${hostname}/renew`, undefined, { raw: '' });

  it('after a failed renewal the timer leaves the name for its back-off and says so; renew-now goes ahead and says it overrode it', async () => {
    const hostname = 'again.backoff.example';
    await storeOldAcmeCertificate(sandbox, hostname);
    caFails.add(hostname);
    const failed = await renew(hostname);
    expect(failed.status).toBe(202);
    expect(failed.headers.get('x-backoff-overridden')).toBeNull();
    const { final } = await pollToEnd(String(failed.body.statusQueryGetUri), undefined, 180_000);
    expect(final.runtimeStatus).toBe('Failed');
    expect(failureRecord(final.output).code).toBe('AcmeCaaForbidden');
    const afterFailure = await listed(hostname);
    expect(afterFailure).toMatchObject({ consecutiveFailures: 1 });
    // 1 minute after the failure (LE integration guide: 1 min, 10 min, 100 min, then daily).
    expect(Date.parse(String(afterFailure?.nextAttemptAt)) - Date.parse(final.lastUpdatedTime)).toBeGreaterThan(50_000);
    expect(Date.parse(String(afterFailure?.nextAttemptAt)) - Date.parse(final.lastUpdatedTime)).toBeLessThanOrEqual(61_000);

    // The certificate is due (5 days left), but the timer defers it: no run, and the webhook hears why.
    const runs = await renewalRunIds(sandbox);
    notices.length = 0;
    expect(await invokeRenewalTimer(sandbox)).toBe(202);
    for (let i = 0; i < 400 && !notices.some((n) => n.kind === 'overdue'); i++) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(notices).toContainEqual(expect.objectContaining({ kind: 'overdue', code: 'RenewalOverdue', hostname, message: expect.stringMatching(/1 consecutive failure\(s\) \(last AcmeCaaForbidden .*\); next automatic attempt from /) }));
    expect(await renewalRunIds(sandbox)).toEqual(runs);

    // A manual renew-now is not held back, and says it went ahead anyway.
    caFails.delete(hostname);
    const manual = await renew(hostname);
    expect(manual.status).toBe(202);
    expect(manual.headers.get('x-backoff-overridden')).toMatch(/^Started despite the failure back-off: 1 consecutive failure\(s\).*automatic attempts wait until /);
    expect((await pollToEnd(String(manual.body.statusQueryGetUri), undefined, 180_000)).final.runtimeStatus).toBe('Completed');
    // A success clears it.
    expect(await listed(hostname)).toMatchObject({ consecutiveFailures: 0, nextAttemptAt: null });
  }, 420_000);

  it('a name that failed validation at the CA 5 times in an hour is not ordered a 6th time, and the CA never had to refuse', async () => {
    const hostname = 'flaky.litware.example';
    caFails.add(hostname);
    const codes: string[] = [];
    let last: Record<string, string> = {};
    for (let i = 0; i < 6; i++) {
      const started = await post(sandbox, 'AddCertificateFunctions_HttpStart', { hostnames: [{ hostname }] });
      expect(started.status).toBe(202);
      last = failureRecord((await pollToEnd(String(started.body.statusQueryGetUri), undefined, 180_000)).final.output);
      codes.push(last.code);
    }
    expect(codes).toEqual([...Array(5).fill('AcmeCaaForbidden'), 'AcmeRateLimitWouldBeExceeded']);
    expect(last.detail).toMatch(/FailedAuthorizationsPerDomainPerAccount limit \(5 per 1 h\) for flaky\.litware\.example; it frees up at /);
    // The message a frontend shows names the limit and the time too.
    expect(last.message).toMatch(/^The order was not sent: .*FailedAuthorizationsPerDomainPerAccount limit \(5 per 1 h\) for flaky\.litware\.example; it frees up at \d{4}-\d\d-\d\dT[\d:.]+Z\.$/);
    expect(sandbox.acme.rateLimits?.answers).toEqual([]);
    caFails.delete(hostname);
  }, 600_000);

  describe('a burst of 420 requests across 60 hostnames of one registered domain, a quarter failing validation at the CA', () => {
    const names = Array.from({ length: 60 }, (_, i) => `b${String(i).padStart(2, '0')}.contoso.example`);
    const failing = names.filter((_, i) => i % 4 === 0);
    const outcomes: Outcome[] = [];

    beforeAll(async () => {
      for (const name of failing) caFails.add(name);
      // Seven waves of one 60-hostname request each (each waits for the last: a hostname is in one operation at a time).
      for (let wave = 0; wave < 7; wave++) {
        const started = await post(sandbox, MULTIPLE, { hostnames: names.map((hostname) => ({ hostname })) });
        expect(started.status).toBe(202);
        const final: Status = await waitGentlyToEnd(String(started.body.statusQueryGetUri), 900_000, 1000);
        const hostnames = final.runtimeStatus === 'Completed' ? (final.output as { hostnames: Outcome[] }).hostnames : (failureRecord(final.output) as unknown as { hostnames: Outcome[] }).hostnames;
        expect(hostnames).toHaveLength(60);
        outcomes.push(...hostnames);
      }
    }, 3_600_000);

    it('never gets a rateLimited answer from the CA', () => {
      expect(outcomes).toHaveLength(420);
      expect(sandbox.acme.rateLimits?.answers).toEqual([]);
      expect(outcomes.filter((o) => o.error === 'AcmeRateLimited')).toEqual([]);
    });

    it('each refused request failed with AcmeRateLimitWouldBeExceeded naming the limit and when it frees up, before any order', () => {
      const refused = outcomes.filter((o) => o.error === 'AcmeRateLimitWouldBeExceeded');
      expect(refused.length).toBeGreaterThan(100);
      for (const outcome of refused) {
        expect(outcome.failedStep).toBe('GetAcmeOrderStep');
        expect(outcome.message).toContain(String(outcome.detail));
        const [, limit, freeAt] = /would exceed the CA's (\w+) limit \(\d+ per [^)]+\) for [^;]+; it frees up at (\S+)\.$/.exec(String(outcome.detail)) ?? [];
        expect(['NewOrdersPerAccount', 'CertificatesPerDomain', 'CertificatesPerFQDNSet', 'FailedAuthorizationsPerDomainPerAccount']).toContain(limit);
        expect(Date.parse(freeAt)).toBeGreaterThan(Date.now() - 3 * HOUR);
        expect(Date.parse(String(outcome.retryAt))).toBeGreaterThan(Date.now() - 3 * HOUR);
      }
      // The registered domain's certificates ran out first.
      expect(refused.some((o) => /CertificatesPerDomain limit \(10 per 7 d\) for contoso\.example/.test(String(o.detail)))).toBe(true);
      // Every other failure is a failing name's validation at the CA.
      const others = outcomes.filter((o) => o.status === 'Failed' && o.error !== 'AcmeRateLimitWouldBeExceeded');
      expect(others.length).toBeGreaterThan(0);
      for (const outcome of others) {
        expect(outcome.error).toBe('AcmeCaaForbidden');
        expect(failing).toContain(outcome.hostname);
      }
    });

    it('renewals with replaces are not counted: issued names renew in every wave while new names are refused', () => {
      const issuedFirst = new Set(outcomes.slice(0, 60).filter((o) => o.status === 'Completed').map((o) => o.hostname));
      expect(issuedFirst.size).toBeGreaterThan(0);
      expect(issuedFirst.size).toBeLessThanOrEqual(10);
      // Each later wave renewed them (ARI `replaces`, counted against nothing): 6 more certificates for
      // each, past the 5 per exact set that would otherwise apply.
      for (let wave = 1; wave < 7; wave++) {
        const renewed = outcomes.slice(wave * 60, wave * 60 + 60).filter((o) => issuedFirst.has(o.hostname));
        expect(renewed.map((o) => o.status)).toEqual(Array(issuedFirst.size).fill('Completed'));
      }
      const replaced = [...issuedFirst].map((name) => sandbox.acme.renewalInfo.certificateIdsFor(name).length);
      expect(replaced).toEqual(Array(issuedFirst.size).fill(7));
    });

    it("the CA's own limits refuse what the app's accounting no longer holds back (AcmeRateLimits=None)", async () => {
      await sandbox.restartHost('SIGTERM', { AcmeRateLimits: 'None' });
      const fresh = Array.from({ length: 3 }, (_, i) => `late${i}.contoso.example`);
      const started = await post(sandbox, MULTIPLE, { hostnames: fresh.map((hostname) => ({ hostname })) });
      const final = await waitGentlyToEnd(String(started.body.statusQueryGetUri), 600_000, 1000);
      const hostnames = (failureRecord(final.output) as unknown as { hostnames: Outcome[] }).hostnames;
      expect(hostnames.map((o) => o.error)).toEqual(['AcmeRateLimited', 'AcmeRateLimited', 'AcmeRateLimited']);
      for (const outcome of hostnames) {
        expect(outcome.detail).toMatch(/urn:ietf:params:acme:error:rateLimited: too many requests under CertificatesPerDomain .* for contoso\.example/);
        // The CA's Retry-After stays in the record, as a time.
        expect(Date.parse(String(outcome.retryAt))).toBeGreaterThan(Date.now());
      }
      expect(sandbox.acme.rateLimits?.answers.map((a) => a.limit)).toEqual(['CertificatesPerDomain', 'CertificatesPerDomain', 'CertificatesPerDomain']);
    }, 900_000);
  });
});

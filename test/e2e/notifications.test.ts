import { scaledGateway } from '../support/scaledGateway';
import fs from 'node:fs';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Sandbox, startSandbox } from '../../sandbox';
import { certificateNameFor } from '../../src/azure/keyVault';
import { storeOldAcmeCertificate } from '../support/oldAcmeCertificate';
import { awaitNewRenewalRun, invokeRenewalTimer, pollToEnd, post, renewalRunIds } from '../support/sandboxClient';

/**
 * Success notices end to end: with NotificationEvents opting in, what went live reaches the webhook
 * (FailureWebhookUrl) as the JSON record: issued for a request, renewed for renew-now and the
 * renewal timer, whatever versions Key Vault holds; by default nothing but failures and overdue
 * renewals is posted.
 */

/** A local webhook receiver that records every body posted to it. */
function webhookReceiver(): { received: Record<string, unknown>[]; url: () => string; listen: () => Promise<void>; close: () => void } {
  const received: Record<string, unknown>[] = [];
  const server = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      received.push(JSON.parse(body) as Record<string, unknown>);
      response.writeHead(204).end();
    });
  });
  return {
    received,
    url: () => `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    listen: () => new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve)),
    close: () => server.close(),
  };
}

async function completed(started: { status: number; body: Record<string, unknown> }): Promise<void> {
  expect(started.status).toBe(202);
  expect((await pollToEnd(String(started.body.statusQueryGetUri))).final.runtimeStatus).toBe('Completed');
}

const issue = (sandbox: Sandbox, hostname: string) => post(sandbox, 'AddCertificateFunctions_HttpStart', { hostnames: [{ hostname }] });

describe('success notices (NotificationEvents)', () => {
  describe('opted in: failure,overdue,issued,renewed', () => {
    let sandbox: Sandbox;
    let stateDir: string;
    const hook = webhookReceiver();

    beforeAll(async () => {
      stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-notify-'));
      await hook.listen();
      sandbox = await startSandbox(scaledGateway({ stateDir, settings: { FailureWebhookUrl: hook.url(), NotificationEvents: 'failure,overdue,issued,renewed', ServedCertificateRecheckSeconds: '0,1' } }));
    });
    afterAll(async () => {
      await sandbox?.stop();
      hook.close();
      fs.rmSync(stateDir, { recursive: true, force: true });
    });

    it('a first certificate is posted as issued, renew-now as renewed: names, Key Vault certificate, expiry, challenge and instance, no key material', async () => {
      const hostname = 'notify.contoso.example';
      hook.received.length = 0;
      await completed(await issue(sandbox, hostname));
      // Posted before the orchestration completed: no waiting needed.
      expect(hook.received).toEqual([
        {
          source: 'appgw-certbot',
          kind: 'issued',
          message: expect.any(String),
          hostnames: [hostname],
          certificates: [{ hostname, certificateName: certificateNameFor(hostname), notAfter: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), challengeType: 'http-01' }],
          instanceId: `certificate-${hostname}`,
        },
      ]);
      const [first] = hook.received as { certificates: { notAfter: string }[] }[];

      hook.received.length = 0;
      await completed(await post(sandbox, `certificates/${hostname}/renew`, undefined, { raw: '' }));
      expect(hook.received).toEqual([expect.objectContaining({ source: 'appgw-certbot', kind: 'renewed', hostnames: [hostname], instanceId: `certificate-${hostname}` })]);
      const [renewal] = hook.received as { certificates: { certificateName: string; notAfter: string }[] }[];
      expect(renewal.certificates).toEqual([expect.objectContaining({ hostname, certificateName: certificateNameFor(hostname), challengeType: 'http-01' })]);
      expect(renewal.certificates[0].notAfter >= first.certificates[0].notAfter).toBe(true);

      // Ids and names only: no secret id, no PEM, no PKCS#12, no webhook URL.
      const posted = JSON.stringify([first, renewal]);
      expect(posted).not.toMatch(/BEGIN|PRIVATE|secrets\/|keyVaultSecretId|\/hook/);
    });

    it('a hostname removed without purge and requested again is issued, though Key Vault recovers its old versions', async () => {
      const hostname = 'again.notify.example';
      await completed(await issue(sandbox, hostname));
      const removal = await fetch(`${sandbox.endpoints.apiBaseUrl}/certificates/${hostname}?code=${sandbox.endpoints.functionKey}`, { method: 'DELETE' });
      expect(removal.status).toBe(202);
      expect((await pollToEnd(String(((await removal.json()) as { statusQueryGetUri: string }).statusQueryGetUri))).final.runtimeStatus).toBe('Completed');

      hook.received.length = 0;
      await completed(await issue(sandbox, hostname));
      // The soft-deleted certificate came back with its first version beside the new one.
      expect(sandbox.keyVault.certificateVersions(certificateNameFor(hostname)).length).toBeGreaterThan(1);
      expect(hook.received).toEqual([expect.objectContaining({ kind: 'issued', hostnames: [hostname], instanceId: `certificate-${hostname}` })]);
    });

    it('the renewal timer\'s run posts renewed for what it renewed', async () => {
      const hostname = 'due.notify.example';
      await storeOldAcmeCertificate(sandbox, hostname);
      const runs = await renewalRunIds(sandbox);
      hook.received.length = 0;
      expect(await invokeRenewalTimer(sandbox)).toBe(202);
      const run = await awaitNewRenewalRun(sandbox, runs);
      expect(run.runtimeStatus).toBe('Completed');
      expect(run.input).toEqual(expect.objectContaining({ hostnames: [hostname], renewal: true }));
      expect(hook.received).toEqual([
        expect.objectContaining({ kind: 'renewed', hostnames: [hostname], instanceId: run.instanceId, certificates: [expect.objectContaining({ hostname, certificateName: certificateNameFor(hostname), challengeType: 'http-01' })] }),
      ]);
    });

    it('a batch posts one issued notice for every hostname it bound', async () => {
      const hostnames = ['one.notify.example', 'two.notify.example'];
      hook.received.length = 0;
      await completed(await post(sandbox, 'AddMultipleCertificatesFunctions_HttpStart', { hostnames: hostnames.map((hostname) => ({ hostname })) }));
      expect(hook.received).toEqual([expect.objectContaining({ kind: 'issued', hostnames: expect.arrayContaining(hostnames) })]);
      expect((hook.received[0] as { certificates: unknown[] }).certificates).toHaveLength(2);
    });
  });

  describe('by default (failure,overdue)', () => {
    let sandbox: Sandbox;
    let stateDir: string;
    const hook = webhookReceiver();

    beforeAll(async () => {
      stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-notify-default-'));
      await hook.listen();
      sandbox = await startSandbox(scaledGateway({ stateDir, settings: { FailureWebhookUrl: hook.url(), ServedCertificateRecheckSeconds: '0,1' } }));
    });
    afterAll(async () => {
      await sandbox?.stop();
      hook.close();
      fs.rmSync(stateDir, { recursive: true, force: true });
    });

    it('posts nothing for an issuance or a renewal, and still posts a failure', async () => {
      const hostname = 'quiet.contoso.example';
      await completed(await issue(sandbox, hostname));
      await completed(await post(sandbox, `certificates/${hostname}/renew`, undefined, { raw: '' }));
      expect(hook.received).toEqual([]);

      await sandbox.pebble.dns.addA('elsewhere.contoso.example', '192.0.2.9');
      const started = await issue(sandbox, 'elsewhere.contoso.example');
      expect((await pollToEnd(String(started.body.statusQueryGetUri))).final.runtimeStatus).toBe('Failed');
      expect(hook.received).toEqual([expect.objectContaining({ source: 'appgw-certbot', kind: 'failure', code: 'HostnameNotResolvingToApplicationGateway' })]);
    });
  });
});

import fs from 'node:fs';
import https from 'node:https';
import * as acme from 'acme-client';
import os from 'node:os';
import path from 'node:path';
import { CertificateClient } from '@azure/keyvault-certificates';
import { SecretClient } from '@azure/keyvault-secrets';
import { Sandbox, startSandbox } from '../../sandbox';
import { fetchServedCertificate, ServedCertificate } from '../../sandbox/tlsCheck';
import { certificateNameFor, toPem } from '../../src/azure/keyVault';
import { failureRecord, issueOne, pollToEnd, post, SandboxCredential, Status } from '../support/sandboxClient';
import { scaledGateway } from '../support/scaledGateway';

/**
 * Revocation (POST /api/certificates/{hostname}/revoke): the CA revokes the certificate (Pebble's
 * management API says so), keyCompromise replaces it on the gateway with a new key, the list shows
 * a revocation, and bad requests are refused before anything starts.
 */
describe('revocation', () => {
  let sandbox: Sandbox;
  let stateDir: string;
  // Every status URL this file polled: their histories must hold no key.
  const statusUrls: string[] = [];

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-revoke-'));
    sandbox = await startSandbox(scaledGateway({ stateDir, settings: { ServedCertificateRecheckSeconds: '0,1' } }));
  });
  afterAll(async () => {
    await sandbox?.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  const served = (hostname: string): Promise<ServedCertificate> => fetchServedCertificate(sandbox.dataPlane.httpsPort, hostname, sandbox.acmeRootPem);
  const versions = (hostname: string): string[] => sandbox.keyVault.certificateVersions(certificateNameFor(hostname));
  const revoke = (hostname: string, body: unknown) => post(sandbox, `certificates/${hostname}/revoke`, body);

  async function issue(hostname: string): Promise<void> {
    expect((await issueOne(sandbox, hostname)).runtimeStatus).toBe('Completed');
  }

  async function revokeToEnd(hostname: string, reason: string): Promise<{ final: Status; steps: string[] }> {
    const started = await revoke(hostname, { reason });
    expect(started.status).toBe(202);
    const url = String(started.body.statusQueryGetUri);
    statusUrls.push(url, url.replace(/instances\/revocation-/, 'instances/certificate-'));
    return pollToEnd(url, undefined, 180_000);
  }

  const listed = async (hostname: string): Promise<Record<string, unknown> | undefined> => {
    const response = await fetch(`${sandbox.host!.url}/api/certificates`, { headers: { 'x-functions-key': sandbox.endpoints.functionKey } });
    expect(response.status).toBe(200);
    return ((await response.json()) as Record<string, unknown>[]).find((c) => c.hostname === hostname);
  };

  /** Durable instances so far: a refused request starts none. */
  const instanceCount = async (): Promise<number> => {
    const response = await fetch(`${sandbox.host!.url}/runtime/webhooks/durabletask/instances?code=${sandbox.endpoints.functionKey}`);
    return ((await response.json()) as unknown[]).length;
  };

  it('keyCompromise: the CA revokes the old certificate, and the gateway serves a new one with a new key', async () => {
    const hostname = 'leaked.revoke.example';
    await issue(hostname);
    const before = await served(hostname);
    expect((await sandbox.acme.certificateStatus(before.serialNumber))?.Status).toBe('Valid');

    const { final, steps } = await revokeToEnd(hostname, 'keyCompromise');
    expect(final.runtimeStatus).toBe('Completed');
    expect(steps).toEqual(['RevokeCertificateStep', 'CreateCertificateStep', 'ConfigureApplicationGatewayStep', 'Completed']);

    const old = await sandbox.acme.certificateStatus(before.serialNumber);
    expect(old).toEqual(expect.objectContaining({ Status: 'Revoked', Reason: 1 }));
    const after = await served(hostname);
    expect(after.authorized).toBe(true);
    expect(after.serialNumber).not.toBe(before.serialNumber);
    expect(after.publicKeySha256).not.toBe(before.publicKeySha256);
    expect((await sandbox.acme.certificateStatus(after.serialNumber))?.Status).toBe('Valid');
    expect(versions(hostname)).toHaveLength(2);

    const output = final.output as { revoked: Record<string, unknown>; replacement: Record<string, unknown> };
    expect(output.revoked).toEqual(expect.objectContaining({ serialNumber: before.serialNumber, reason: 'keyCompromise', alreadyRevoked: false }));
    expect(output.replacement).toEqual(expect.objectContaining({ serialNumber: after.serialNumber }));
    // The list shows the replacement, current and not revoked.
    const entry = await listed(hostname);
    expect(entry).toEqual(expect.objectContaining({ state: 'valid', version: output.replacement.version, revoked: null }));
    // The revoked version keeps its record (its tags).
    const client = new CertificateClient(sandbox.endpoints.keyVaultUrl, new SandboxCredential(), { disableChallengeResourceVerification: true, tlsOptions: { ca: sandbox.ca.certPem } } as object);
    const oldVersion = versions(hostname).find((v) => v !== output.replacement.version)!;
    const tags = (await client.getCertificateVersion(certificateNameFor(hostname), oldVersion)).properties.tags;
    expect(tags).toEqual(expect.objectContaining({ hostname, source: 'acme', revocationReason: 'keyCompromise', revokedAt: expect.any(String) }));
  }, 300_000);

  it('cessationOfOperation: revoked, not replaced; the list shows the revocation; asking again is done at once', async () => {
    const hostname = 'retired.revoke.example';
    await issue(hostname);
    const before = await served(hostname);

    const { final, steps } = await revokeToEnd(hostname, 'cessationOfOperation');
    expect(final.runtimeStatus).toBe('Completed');
    expect(steps).toEqual(['RevokeCertificateStep', 'Completed']);
    expect(await sandbox.acme.certificateStatus(before.serialNumber)).toEqual(expect.objectContaining({ Status: 'Revoked', Reason: 5 }));
    // Documented: the gateway serves the revoked certificate until it is renewed or removed.
    expect((await served(hostname)).serialNumber).toBe(before.serialNumber);
    expect(versions(hostname)).toHaveLength(1);
    const entry = await listed(hostname);
    expect(entry?.revoked).toEqual({ reason: 'cessationOfOperation', at: expect.any(String), serialNumber: before.serialNumber });
    expect(Date.parse(String((entry?.revoked as { at: string }).at))).toBeGreaterThan(Date.now() - 10 * 60_000);

    const again = await revokeToEnd(hostname, 'cessationOfOperation');
    expect(again.final.runtimeStatus).toBe('Completed');
    expect((again.final.output as { revoked: { alreadyRevoked: boolean } }).revoked.alreadyRevoked).toBe(true);
  }, 300_000);

  it('a revocation whose record could not be written is retried, and the CA\'s alreadyRevoked counts as done', async () => {
    const hostname = 'retried.revoke.example';
    await issue(hostname);
    const before = await served(hostname);
    const revocations = sandbox.counters.get('acme', 'revokeCert');
    // Key Vault refuses the tag write (503) through the SDK's own retries: the step fails after the CA revoked.
    sandbox.faults.arm({ service: 'keyvault', status: 503, retryAfterSeconds: 1, count: 4, match: `PATCH /certificates/${certificateNameFor(hostname)}/` });
    const { final } = await revokeToEnd(hostname, 'unspecified');
    expect(final.runtimeStatus).toBe('Completed');
    expect(sandbox.counters.get('acme', 'revokeCert') - revocations).toBe(2);
    expect((final.output as { revoked: Record<string, unknown> }).revoked).toEqual(expect.objectContaining({ serialNumber: before.serialNumber, reason: 'unspecified', alreadyRevoked: true }));
    expect(await sandbox.acme.certificateStatus(before.serialNumber)).toEqual(expect.objectContaining({ Status: 'Revoked', Reason: 0 }));
    expect((await listed(hostname))?.revoked).toEqual(expect.objectContaining({ reason: 'unspecified' }));
  }, 300_000);

  it('refuses a bad reason with 400 naming reason, an unknown hostname with 404, an imported certificate with 409; nothing starts', async () => {
    const imported = 'imported.revoke.example';
    const pair = sandbox.ca.issueServerCert([imported]);
    const stored = await post(sandbox, 'AddCertificateWithPrivateKeyFunctions_HttpStart', { hostnames: [{ hostname: imported, privatekey: pair.keyPem, certificate: pair.certPem }] });
    expect(stored.status).toBe(202);
    expect((await pollToEnd(String(stored.body.statusQueryGetUri))).final.runtimeStatus).toBe('Completed');
    const count = await instanceCount();

    for (const reason of ['affiliationChanged', 'keycompromise', 7, 'privilegeWithdrawn']) {
      const refused = await revoke('leaked.revoke.example', { reason });
      expect(refused.status).toBe(400);
      expect(refused.body.errors).toEqual([{ field: 'reason', reason: expect.stringMatching(/must be one of unspecified, keyCompromise, superseded, cessationOfOperation/) }]);
    }
    const missing = await revoke('leaked.revoke.example', {});
    expect(missing.body.errors).toEqual([{ field: 'reason', reason: expect.stringMatching(/is required/) }]);
    const both = await revoke('not_a_host', { reason: 'nope' });
    expect(both.status).toBe(400);
    expect((both.body.errors as { field: string }[]).map((e) => e.field)).toEqual(['hostname', 'reason']);
    expect((await revoke('unknown.revoke.example', { reason: 'keyCompromise' })).status).toBe(404);
    const importedAnswer = await revoke(imported, { reason: 'keyCompromise' });
    expect(importedAnswer.status).toBe(409);
    expect(importedAnswer.body).toEqual(expect.objectContaining({ title: 'Imported certificate', code: 'HostnameHasImportedCertificate' }));
    expect(await instanceCount()).toBe(count);
  }, 180_000);

  it('a hostname another operation holds is busy (409), and the running one is not disturbed', async () => {
    const hostname = 'busy.revoke.example';
    await issue(hostname);
    const renewal = await post(sandbox, `certificates/${hostname}/renew`, undefined, { raw: '' });
    expect(renewal.status).toBe(202);
    const refused = await revoke(hostname, { reason: 'superseded' });
    expect(refused.status).toBe(409);
    expect(refused.body.holders).toEqual([expect.objectContaining({ hostname, instanceId: `certificate-${hostname}` })]);
    expect((await pollToEnd(String(renewal.body.statusQueryGetUri), undefined, 180_000)).final.runtimeStatus).toBe('Completed');
  }, 300_000);

  it('a replacement that fails leaves the revocation done and says the gateway still serves the revoked certificate', async () => {
    const hostname = 'moved.revoke.example';
    await issue(hostname);
    const before = await served(hostname);
    // The name now points elsewhere: the replacement's DNS check fails.
    await sandbox.pebble.dns.addA(hostname, '192.0.2.10');
    const { final } = await revokeToEnd(hostname, 'keyCompromise');
    expect(final.runtimeStatus).toBe('Failed');
    const record = failureRecord(final.output);
    expect(record.code).toBe('HostnameNotResolvingToApplicationGateway');
    expect(record.detail).toMatch(new RegExp(`Certificate ${before.serialNumber} was revoked \\(keyCompromise\\), but its replacement failed, so the gateway still serves the revoked one`));
    expect(await sandbox.acme.certificateStatus(before.serialNumber)).toEqual(expect.objectContaining({ Status: 'Revoked' }));
    expect((await listed(hostname))?.revoked).toEqual(expect.objectContaining({ reason: 'keyCompromise', serialNumber: before.serialNumber }));
  }, 300_000);

  it('the sandbox CA refuses, as Boulder does, a reason Let\'s Encrypt does not take from a subscriber', async () => {
    const hostname = 'strict.revoke.example';
    await issue(hostname);
    const options = { disableChallengeResourceVerification: true, tlsOptions: { ca: sandbox.ca.certPem } } as object;
    const account = await new SecretClient(sandbox.endpoints.keyVaultUrl, new SandboxCredential(), options).getSecret('acme-account-key');
    const issued = await new CertificateClient(sandbox.endpoints.keyVaultUrl, new SandboxCredential(), options).getCertificate(certificateNameFor(hostname));
    const pem = toPem('CERTIFICATE', Buffer.from(issued.cer!));
    acme.axios.defaults.httpsAgent = new https.Agent({ ca: sandbox.ca.certPem });
    const client = new acme.Client({ directoryUrl: sandbox.acme.directoryUrl, accountKey: account.value!, accountUrl: account.properties.tags!.accountUrl });
    // affiliationChanged (3): Pebble 2.4 would take it.
    await expect(client.revokeCertificate(pem, { reason: 3 })).rejects.toThrow(/disallowed revocation reason: 3/);
    const serial = (await served(hostname)).serialNumber;
    expect((await sandbox.acme.certificateStatus(serial))?.Status).toBe('Valid');
    await client.revokeCertificate(pem, { reason: 4 });
    expect(await sandbox.acme.certificateStatus(serial)).toEqual(expect.objectContaining({ Status: 'Revoked', Reason: 4 }));
  });

  it('keeps the ACME account key and the certificates\' private keys out of every history, input, output and log line', async () => {
    const secrets = new SecretClient(sandbox.endpoints.keyVaultUrl, new SandboxCredential(), { disableChallengeResourceVerification: true, tlsOptions: { ca: sandbox.ca.certPem } } as object);
    const accountKey = (await secrets.getSecret('acme-account-key')).value ?? '';
    expect(accountKey).toContain('PRIVATE KEY');
    // A certificate's secret is its PKCS#12 (key and chain), base64.
    const certificateSecrets = await Promise.all(['leaked.revoke.example', 'retired.revoke.example'].map(async (h) => (await secrets.getSecret(certificateNameFor(h))).value ?? ''));
    const everything: string[] = [...sandbox.host!.output];
    for (const url of statusUrls) everything.push(await (await fetch(`${url}&showHistory=true&showHistoryOutput=true&showInput=true`)).text());
    const text = everything.join('\n');
    expect(text).toMatch(/RevokeAcmeCertificate/);
    expect(text).not.toContain('PRIVATE KEY');
    for (const line of accountKey.split('\n').filter((l) => l.length > 20 && !l.startsWith('-----'))) expect(text).not.toContain(line);
    for (const pfx of certificateSecrets) {
      expect(pfx.length).toBeGreaterThan(200);
      expect(text).not.toContain(pfx.slice(100, 160));
    }
  });
});

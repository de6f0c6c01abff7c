import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import forge from 'node-forge';
import { CertificateClient } from '@azure/keyvault-certificates';
import { Sandbox, startSandbox } from '../../sandbox';
import { fetchServedCertificate } from '../../sandbox/tlsCheck';
import { certificateNameFor } from '../../src/azure/keyVault';
import { pollToEnd, post, SandboxCredential } from '../support/sandboxClient';

/** Renewal: the daily timer (run on demand through the admin API) and renew-now. */
describe('renewal', () => {
  let sandbox: Sandbox;
  let stateDir: string;

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-renew-'));
    sandbox = await startSandbox({ stateDir });
  });
  afterAll(async () => {
    await sandbox?.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  const versions = (hostname: string): string[] => sandbox.keyVault.certificateVersions(certificateNameFor(hostname));
  const serial = async (hostname: string): Promise<string> => (await fetchServedCertificate(sandbox.dataPlane.httpsPort, hostname, sandbox.acmeRootPem)).serialNumber;
  const statusUrl = (hostname: string): string =>
    `${sandbox.host!.url}/runtime/webhooks/durabletask/instances/certificate-${hostname}?code=${sandbox.endpoints.functionKey}`;

  async function runTimer(): Promise<void> {
    const response = await fetch(`${sandbox.host!.url}/admin/functions/RenewCertificatesTimer`, {
      method: 'POST',
      headers: { 'x-functions-key': sandbox.endpoints.masterKey, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(response.status).toBe(202);
  }

  /** An ACME certificate issued 85 days ago that expires in 5 days, as a previous run left it. */
  async function storeOldAcmeCertificate(hostname: string): Promise<void> {
    const keys = forge.pki.rsa.generateKeyPair(2048);
    const cert = forge.pki.createCertificate();
    cert.publicKey = keys.publicKey;
    cert.serialNumber = '0badc0de';
    cert.validity.notBefore = new Date(Date.now() - 85 * 86400_000);
    cert.validity.notAfter = new Date(Date.now() + 5 * 86400_000);
    cert.setSubject([{ name: 'commonName', value: hostname }]);
    cert.setIssuer([{ name: 'commonName', value: 'Old CA' }]);
    cert.setExtensions([{ name: 'subjectAltName', altNames: [{ type: 2, value: hostname }] }]);
    cert.sign(keys.privateKey, forge.md.sha256.create());
    const pfx = Buffer.from(forge.asn1.toDer(forge.pkcs12.toPkcs12Asn1(keys.privateKey, [cert], 'pw')).getBytes(), 'binary');
    const client = new CertificateClient(sandbox.endpoints.keyVaultUrl, new SandboxCredential(), {
      disableChallengeResourceVerification: true,
      tlsOptions: { ca: sandbox.ca.certPem },
    } as object);
    await client.importCertificate(certificateNameFor(hostname), new Uint8Array(pfx), { password: 'pw', tags: { hostname, source: 'acme' } });
  }

  it('the timer renews exactly the due certificates, and a second run does no extra work', async () => {
    const fresh = 'fresh.renew.example';
    const started = await post(sandbox, 'AddCertificateFunctions_HttpStart', { hostnames: [{ hostname: fresh }] });
    expect((await pollToEnd(String(started.body.statusQueryGetUri))).final.runtimeStatus).toBe('Completed');
    const old = 'old.renew.example';
    await storeOldAcmeCertificate(old);
    expect(versions(old)).toHaveLength(1);

    await runTimer();
    let status = 404;
    for (let i = 0; i < 200 && status === 404; i++) {
      status = (await fetch(statusUrl(old))).status;
      if (status === 404) await new Promise((resolve) => setTimeout(resolve, 25));
    }
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
    expect(sandbox.arm.getGateway().properties.httpListeners.filter((l) => l.properties.hostName === hostname)).toHaveLength(1);

    expect((await post(sandbox, 'certificates/unknown.renew.example/renew', undefined, { raw: '' })).status).toBe(404);
    expect((await post(sandbox, 'certificates/not_a_host/renew', undefined, { raw: '' })).status).toBe(400);
  });
});

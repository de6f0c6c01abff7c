import { scaledGateway } from '../support/scaledGateway';
import { execFileSync } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import forge from 'node-forge';
import { Sandbox, startSandbox } from '../../sandbox';
import { fetchServedCertificate } from '../../sandbox/tlsCheck';
import { CertificateClient } from '@azure/keyvault-certificates';
import { certificateNameFor } from '../../src/azure/keyVault';
import { pollToEnd, post, SandboxCredential } from '../support/sandboxClient';

const IMPORT = 'AddCertificateWithPrivateKeyFunctions_HttpStart';

/** Certificates made here with openssl, as a user would bring them (RSA and EC, plain and encrypted keys, chains). */
class TestPki {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pki-'));
  private run(args: string[]): void {
    execFileSync('openssl', args, { cwd: this.dir, stdio: 'ignore' });
  }
  read(name: string): string {
    return fs.readFileSync(path.join(this.dir, name), 'utf8');
  }
  constructor() {
    this.run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-subj', '/CN=Import Test CA', '-days', '30']);
  }
  leaf(name: string, hostname: string, keyArgs: string[], eku = 'serverAuth'): void {
    fs.writeFileSync(path.join(this.dir, `${name}.ext`), `subjectAltName=DNS:${hostname}\nextendedKeyUsage=${eku}\nbasicConstraints=CA:FALSE\n`);
    this.run(['req', '-newkey', ...keyArgs, '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${hostname}`]);
    this.run(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '20', '-out', `${name}.pem`, '-extfile', `${name}.ext`]);
  }
  convert(args: string[]): void {
    this.run(args);
  }
}

describe('importing your own certificate (AddCertificateWithPrivateKeyFunctions)', () => {
  let sandbox: Sandbox;
  let stateDir: string;
  let pki: TestPki;
  const statusUrls: string[] = [];

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-import-'));
    pki = new TestPki();
    pki.leaf('rsa', 'rsa.import.example', ['rsa:2048']);
    pki.leaf('ec', 'ec.import.example', ['ec', '-pkeyopt', 'ec_paramgen_curve:P-256']);
    pki.leaf('client', 'client.import.example', ['rsa:2048'], 'clientAuth');
    pki.leaf('again', 'again.import.example', ['rsa:2048']);
    pki.leaf('undo1', 'undo1.import.example', ['rsa:2048']);
    pki.leaf('undo2', 'undo2.import.example', ['rsa:2048']);
    pki.leaf('leftover', 'leftover.import.example', ['rsa:2048']);
    pki.leaf('crashed', 'crashed.import.example', ['rsa:2048']);
    pki.leaf('protected', 'protected.import.example', ['rsa:2048']);
    pki.convert(['pkcs8', '-topk8', '-in', 'rsa.key', '-v2', 'aes256', '-passout', 'pass:s3cret-pass', '-out', 'rsa.enc.key']);
    pki.convert(['rsa', '-in', 'rsa.key', '-traditional', '-out', 'rsa.pkcs1.key']);
    pki.convert(['ec', '-in', 'ec.key', '-out', 'ec.sec1.key']);
    sandbox = await startSandbox(scaledGateway({ stateDir }));
  });
  afterAll(async () => {
    await sandbox?.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
    fs.rmSync(pki.dir, { recursive: true, force: true });
  });

  async function importAndServe(items: Record<string, string>[]): Promise<void> {
    const started = await post(sandbox, IMPORT, { hostnames: items });
    expect(started.status).toBe(202);
    statusUrls.push(String(started.body.statusQueryGetUri));
    const { final, steps } = await pollToEnd(String(started.body.statusQueryGetUri));
    expect(final.runtimeStatus).toBe('Completed');
    const order = ['ImportCertificateStep', 'ConfigureApplicationGatewayStep', 'Completed'];
    expect(steps.every((step, i) => order.indexOf(step) >= 0 && (i === 0 || order.indexOf(step) > order.indexOf(steps[i - 1])))).toBe(true);
    expect(steps[steps.length - 1]).toBe('Completed');
    for (const item of items) {
      const served = await fetchServedCertificate(sandbox.dataPlane.httpsPort, item.hostname, pki.read('ca.pem'));
      expect(served.subjectAltName).toBe(`DNS:${item.hostname}`);
      expect(served.authorized).toBe(true);
    }
  }

  it('serves an RSA certificate imported with an encrypted PKCS#8 key and its chain', async () => {
    await importAndServe([
      { hostname: 'rsa.import.example', privatekey: pki.read('rsa.enc.key'), password: 's3cret-pass', certificate: pki.read('rsa.pem') + pki.read('ca.pem') },
    ]);
  });

  it('serves an EC certificate imported with a SEC1 key, and accepts base64 DER and PKCS#1 too', async () => {
    await importAndServe([{ hostname: 'ec.import.example', privatekey: pki.read('ec.sec1.key'), certificate: pki.read('ec.pem') }]);
    const der = (pem: string): string => pem.replace(/-----[^-]+-----|\s/g, '');
    const pkcs1Der = createPrivateKey(pki.read('rsa.pkcs1.key')).export({ type: 'pkcs1', format: 'der' }).toString('base64');
    await importAndServe([{ hostname: 'rsa.import.example', privatekey: pkcs1Der, certificate: der(pki.read('rsa.pem')) }]);
  });

  it('tags imported certificates source=import and never replaces them by ACME (refused before any order)', async () => {
    const orders = sandbox.counters.get('acme', 'newOrder');
    const refused = await post(sandbox, 'AddCertificateFunctions_HttpStart', { hostnames: [{ hostname: 'rsa.import.example' }] });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ title: 'Imported certificate', hostnames: ['rsa.import.example'] });
    expect(String(refused.body.detail)).toContain('imported');
    expect(sandbox.counters.get('acme', 'newOrder')).toBe(orders);
    const served = await fetchServedCertificate(sandbox.dataPlane.httpsPort, 'rsa.import.example', pki.read('ca.pem'));
    expect(served.issuer).toBe('Import Test CA');
  });

  it('lists imported certificates as source import, with no renewal date', async () => {
    const response = await fetch(`${sandbox.host!.url}/api/certificates`, { headers: { 'x-functions-key': sandbox.endpoints.functionKey } });
    const listed = (await response.json()) as Record<string, unknown>[];
    expect(listed.find((c) => c.hostname === 'ec.import.example')).toMatchObject({ source: 'import', nextRenewal: null, gateway: { listener: true, rule: true } });
  });

  const item = (name: string, hostname: string): Record<string, string> => ({ hostname, privatekey: pki.read(`${name}.key`), certificate: pki.read(`${name}.pem`) });
  const versions = (hostname: string): string[] => sandbox.keyVault.certificateVersions(certificateNameFor(hostname));

  it('imports again a hostname whose certificate was removed without purge (recovering the soft-deleted name)', async () => {
    await importAndServe([item('again', 'again.import.example')]);
    const removal = await fetch(`${sandbox.host!.url}/api/certificates/again.import.example`, { method: 'DELETE', headers: { 'x-functions-key': sandbox.endpoints.functionKey } });
    expect((await pollToEnd(((await removal.json()) as { statusQueryGetUri: string }).statusQueryGetUri)).final.runtimeStatus).toBe('Completed');
    expect(versions('again.import.example')).toHaveLength(0);
    await importAndServe([item('again', 'again.import.example')]);
    expect(versions('again.import.example')).toHaveLength(2);
  });

  it('imports a hostname whose ACME run failed after Key Vault created its pending key (the failed run deleted its create)', async () => {
    const hostname = 'leftover.import.example';
    sandbox.faults.arm({ service: 'acme', status: 400, code: 'badCSR', message: 'The CSR is unacceptable.', count: 1, match: 'finalize' });
    const acme = await post(sandbox, 'AddCertificateFunctions_HttpStart', { hostnames: [{ hostname }] });
    expect((await pollToEnd(String(acme.body.statusQueryGetUri))).final.runtimeStatus).toBe('Failed');
    const client = new CertificateClient(sandbox.endpoints.keyVaultUrl, new SandboxCredential(), {
      disableChallengeResourceVerification: true,
      tlsOptions: { ca: sandbox.ca.certPem },
    } as object);
    // Key Vault refuses imports while a create is pending: the failed run left none.
    await expect(client.getCertificateOperation(certificateNameFor(hostname))).rejects.toMatchObject({ statusCode: 404 });
    await importAndServe([item('leftover', hostname)]);
  });

  it('imports a hostname whose ACME run crashed with a create pending (the leftover operation is deleted)', async () => {
    const hostname = 'crashed.import.example';
    const client = new CertificateClient(sandbox.endpoints.keyVaultUrl, new SandboxCredential(), {
      disableChallengeResourceVerification: true,
      tlsOptions: { ca: sandbox.ca.certPem },
    } as object);
    // What a run stopped between its create and its merge leaves (a crash runs no clean-up).
    await client.beginCreateCertificate(
      certificateNameFor(hostname),
      { issuerName: 'Unknown', subject: `CN=${hostname}`, subjectAlternativeNames: { dnsNames: [hostname] }, contentType: 'application/x-pkcs12' },
      { tags: { hostname, source: 'acme', run: 'a-run-that-crashed' } },
    );
    expect((await client.getCertificateOperation(certificateNameFor(hostname))).getOperationState().certificateOperation?.status).toBe('inProgress');
    await importAndServe([item('crashed', hostname)]);
    await expect(client.getCertificateOperation(certificateNameFor(hostname))).rejects.toMatchObject({ statusCode: 404 });
  });

  it('undoes what a request stored when Key Vault fails part-way, and starts nothing', async () => {
    const before = await listInstances();
    const second = certificateNameFor('undo2.import.example');
    sandbox.faults.arm({ service: 'keyvault', status: 403, code: 'Forbidden', count: 1, match: `/certificates/${second}/import` });
    const response = await post(sandbox, IMPORT, { hostnames: [item('undo1', 'undo1.import.example'), item('undo2', 'undo2.import.example')] });
    expect(response.status).toBe(502);
    expect(String(response.body.detail)).toContain('undo2.import.example');
    expect(String(response.body.detail)).toContain('KeyVaultPermissionDenied');
    expect(await listInstances()).toEqual(before);
    // The first certificate was new: deleted and purged, so the name is free as before.
    expect(versions('undo1.import.example')).toHaveLength(0);
    const client = new CertificateClient(sandbox.endpoints.keyVaultUrl, new SandboxCredential(), {
      disableChallengeResourceVerification: true,
      tlsOptions: { ca: sandbox.ca.certPem },
    } as object);
    await expect(client.getDeletedCertificate(certificateNameFor('undo1.import.example'))).rejects.toMatchObject({ statusCode: 404 });

    // The same request goes through once Key Vault answers again.
    await importAndServe([item('undo1', 'undo1.import.example'), item('undo2', 'undo2.import.example')]);
    expect(versions('undo1.import.example')).toHaveLength(1);
  });

  it.each([
    ['a key that does not match', () => ({ hostname: 'rsa.import.example', privatekey: pki.read('ec.key'), certificate: pki.read('rsa.pem') }), 'hostnames[0].certificate', 'does not match privatekey'],
    ['a certificate for another hostname', () => ({ hostname: 'other.import.example', privatekey: pki.read('rsa.key'), certificate: pki.read('rsa.pem') }), 'hostnames[0].certificate', 'does not cover other.import.example'],
    ['the wrong password', () => ({ hostname: 'rsa.import.example', privatekey: pki.read('rsa.enc.key'), password: 'nope', certificate: pki.read('rsa.pem') }), 'hostnames[0].privatekey', 'could not be decrypted'],
    ['a missing password', () => ({ hostname: 'rsa.import.example', privatekey: pki.read('rsa.enc.key'), certificate: pki.read('rsa.pem') }), 'hostnames[0].privatekey', 'is encrypted'],
    ['garbage', () => ({ hostname: 'rsa.import.example', privatekey: 'not a key at all!', certificate: pki.read('rsa.pem') }), 'hostnames[0].privatekey', 'neither PEM nor base64 DER'],
    ['a client certificate', () => ({ hostname: 'client.import.example', privatekey: pki.read('client.key'), certificate: pki.read('client.pem') }), 'hostnames[0].certificate', 'not a TLS server certificate'],
    ['an expired certificate', () => expired(), 'hostnames[0].certificate', 'expired on'],
  ])('refuses %s with 400 naming the field, and starts nothing', async (_what, item, field, reason) => {
    const before = await listInstances();
    const response = await post(sandbox, IMPORT, { hostnames: [item()] });
    expect(response.status).toBe(400);
    const errors = response.body.errors as { field: string; reason: string }[];
    expect(errors[0]).toEqual({ field, reason: expect.stringContaining(reason) });
    expect(JSON.stringify(response.body)).not.toContain('PRIVATE KEY');
    expect(await listInstances()).toEqual(before);
  });

  it('removes with purge asked on a purge-protected vault: the removal completes, says why nothing was purged, and the name comes back on import', async () => {
    const hostname = 'protected.import.example';
    await importAndServe([item('protected', hostname)]);
    sandbox.keyVault.enablePurgeProtection();
    const removal = await fetch(`${sandbox.host!.url}/api/certificates/${hostname}?purge=true`, { method: 'DELETE', headers: { 'x-functions-key': sandbox.endpoints.functionKey } });
    const { final } = await pollToEnd(((await removal.json()) as { statusQueryGetUri: string }).statusQueryGetUri);
    expect(final.runtimeStatus).toBe('Completed');
    expect(final.output).toEqual({ hostname, purged: false, note: expect.stringContaining('purge protection') });
    const client = new CertificateClient(sandbox.endpoints.keyVaultUrl, new SandboxCredential(), {
      disableChallengeResourceVerification: true,
      tlsOptions: { ca: sandbox.ca.certPem },
    } as object);
    expect((await client.getDeletedCertificate(certificateNameFor(hostname))).name).toBe(certificateNameFor(hostname));
    await importAndServe([item('protected', hostname)]);
    expect(versions(hostname)).toHaveLength(2);
  });

  it('never lets a byte of any private key or PKCS#12 into history, inputs, outputs or logs', async () => {
    const secrets = [pki.read('rsa.key'), pki.read('ec.key'), pki.read('rsa.enc.key'), pki.read('ec.sec1.key')];
    const keyLines = secrets.flatMap((pem) => pem.split('\n').filter((line) => line.length >= 40 && !line.startsWith('-----')));
    const dump: string[] = [...sandbox.host!.output];
    for (const url of statusUrls) dump.push(await (await fetch(`${url}&showHistory=true&showHistoryOutput=true&showInput=true`)).text());
    // Every instance the host knows (starters, the gateway writer), with full history.
    for (const instanceId of await listInstances()) {
      const url = `${sandbox.host!.url}/runtime/webhooks/durabletask/instances/${encodeURIComponent(instanceId)}?code=${sandbox.endpoints.functionKey}`;
      dump.push(await (await fetch(`${url}&showHistory=true&showHistoryOutput=true&showInput=true`)).text());
    }
    const text = dump.join('\n');
    expect(statusUrls.length).toBeGreaterThanOrEqual(3);
    expect(text).toContain('gateway-writer-');
    expect(text).toContain('rsa.import.example');
    expect(text).not.toMatch(/PRIVATE KEY|s3cret-pass/);
    for (const line of keyLines) expect(text).not.toContain(line);
    // A PKCS#12 in base64 starts with the DER of "SEQUENCE, INTEGER 3": "MII...AgEDMII".
    expect(text).not.toMatch(/MII[A-Za-z0-9+/]{2,5}AgEDMII/);
  });

  async function listInstances(): Promise<string[]> {
    const response = await fetch(`${sandbox.host!.url}/runtime/webhooks/durabletask/instances?code=${sandbox.endpoints.functionKey}`);
    return ((await response.json()) as { instanceId: string }[]).map((i) => i.instanceId).sort();
  }

  function expired(): Record<string, string> {
    const keys = forge.pki.rsa.generateKeyPair(2048);
    const cert = forge.pki.createCertificate();
    cert.publicKey = keys.publicKey;
    cert.serialNumber = '0a';
    cert.validity.notBefore = new Date(Date.now() - 40 * 86400_000);
    cert.validity.notAfter = new Date(Date.now() - 10 * 86400_000);
    cert.setSubject([{ name: 'commonName', value: 'old.import.example' }]);
    cert.setIssuer([{ name: 'commonName', value: 'old.import.example' }]);
    cert.setExtensions([{ name: 'subjectAltName', altNames: [{ type: 2, value: 'old.import.example' }] }]);
    cert.sign(keys.privateKey, forge.md.sha256.create());
    return { hostname: 'old.import.example', privatekey: forge.pki.privateKeyToPem(keys.privateKey), certificate: forge.pki.certificateToPem(cert) };
  }
});

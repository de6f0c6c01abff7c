import https from 'node:https';
import tls from 'node:tls';
import { createPrivateKey, createPublicKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import forge from 'node-forge';
import { ManagedIdentityCredential } from '@azure/identity';
import { CertificateClient, CertificateClientOptions } from '@azure/keyvault-certificates';
import { SecretClient } from '@azure/keyvault-secrets';
import { Counters, FaultInjector } from '../../sandbox/faults';
import { mintToken, startTokenServer, TokenServer } from '../../sandbox/identity';
import { KeyVaultEmulator, startKeyVaultEmulator } from '../../sandbox/keyvault';
import { createSandboxCa, SandboxCa } from '../../sandbox/tls/ca';

/**
 * The Key Vault emulator driven through the real SDK clients, authenticated by the
 * managed-identity endpoint. TLS trust: the sandbox CA is passed per client with
 * `tlsOptions: { ca }` (core-rest-pipeline tlsPolicy); NODE_EXTRA_CA_CERTS would only work if set
 * before the process starts.
 */
const TENANT = '00000000-0000-4000-8000-00000000cafe';

/** A throwaway issuing CA standing in for the ACME CA: signs CSRs with forge. */
function issuingCa(): { certPem: string; sign(csrDer: Uint8Array): Buffer } {
  const ca = createSandboxCa('test issuing CA');
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  const caKey = forge.pki.privateKeyFromPem(createPrivateKey(ca.keyPem).export({ type: 'pkcs1', format: 'pem' }).toString());
  return {
    certPem: ca.certPem,
    sign(csrDer) {
      const csr = forge.pki.certificationRequestFromAsn1(forge.asn1.fromDer(Buffer.from(csrDer).toString('binary')));
      if (!csr.verify()) throw new Error('CSR signature does not verify');
      const cert = forge.pki.createCertificate();
      cert.publicKey = csr.publicKey!;
      cert.serialNumber = `0${Date.now().toString(16)}${Math.floor(Math.random() * 1e6).toString(16)}`;
      cert.validity.notBefore = new Date(Date.now() - 60_000);
      cert.validity.notAfter = new Date(Date.now() + 90 * 86_400_000);
      cert.setSubject(csr.subject.attributes);
      cert.setIssuer(caCert.subject.attributes);
      // Reason: forge's typings omit getAttribute's extensions field.
      const requested = (csr.getAttribute({ name: 'extensionRequest' }) as unknown as { extensions?: object[] } | null)?.extensions ?? [];
      cert.setExtensions([{ name: 'basicConstraints', cA: false }, ...requested]);
      cert.sign(caKey, forge.md.sha256.create());
      return Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes(), 'binary');
    },
  };
}

const derOf = (pem: string): Buffer => new X509Certificate(pem).raw;

function readPfx(pfxBase64: string): { keyPem: string; certsDer: Buffer[] } {
  const p12 = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(Buffer.from(pfxBase64, 'base64').toString('binary')), false, null as unknown as string);
  const keyBags = p12.getBags({ bagType: forge.pki.oids.keyBag })[forge.pki.oids.keyBag] ?? [];
  const certBags = p12.getBags({ bagType: forge.pki.oids.certBag })[forge.pki.oids.certBag] ?? [];
  return {
    keyPem: forge.pki.privateKeyToPem(keyBags[0].key!),
    certsDer: certBags.map((bag) => Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(bag.cert!)).getBytes(), 'binary')),
  };
}

const spki = (keyOrCert: string | Buffer): Buffer =>
  typeof keyOrCert === 'string'
    ? createPublicKey(createPrivateKey(keyOrCert)).export({ type: 'spki', format: 'der' })
    : new X509Certificate(keyOrCert).publicKey.export({ type: 'spki', format: 'der' });

describe('Key Vault emulator through @azure/keyvault-certificates and keyvault-secrets', () => {
  let ca: SandboxCa;
  let tokens: TokenServer;
  let vault: KeyVaultEmulator;
  let certificates: CertificateClient;
  let secrets: SecretClient;
  let clientOptions: CertificateClientOptions;
  const counters = new Counters();
  const faults = new FaultInjector();
  const issuer = issuingCa();
  const savedEnv = { endpoint: process.env.IDENTITY_ENDPOINT, header: process.env.IDENTITY_HEADER };

  beforeAll(async () => {
    ca = createSandboxCa();
    tokens = await startTokenServer({ tenantId: TENANT });
    process.env.IDENTITY_ENDPOINT = tokens.endpoint;
    process.env.IDENTITY_HEADER = tokens.header;
    // A small default page size makes every list the SDK reads span several pages.
    // Soft delete, recover and purge at a tenth of their realistic durations, and no throttling (these
    // tests create far more than 10 certificates in 10 s); the lifecycle and throttling tests below use their own vaults.
    vault = await startKeyVaultEmulator({ ca, tenantId: TENANT, faults, counters, pageSize: 2, lifecycleDelayScale: 0.1, throttle: false });
    clientOptions = { disableChallengeResourceVerification: true, tlsOptions: { ca: ca.certPem } };
    const credential = new ManagedIdentityCredential();
    certificates = new CertificateClient(vault.url, credential, clientOptions);
    secrets = new SecretClient(vault.url, credential, clientOptions);
  });

  afterAll(async () => {
    for (const [name, value] of [['IDENTITY_ENDPOINT', savedEnv.endpoint], ['IDENTITY_HEADER', savedEnv.header]] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await vault?.stop();
    await tokens?.stop();
  });

  afterEach(() => faults.clear());

  /** Creates an issuer-Unknown certificate, signs its CSR with the test CA and merges the chain. */
  async function issue(name: string, hostname: string, client = certificates): Promise<Buffer> {
    await client.beginCreateCertificate(name, { issuerName: 'Unknown', subject: `CN=${hostname}`, subjectAlternativeNames: { dnsNames: [hostname] } });
    const csr = (await client.getCertificateOperation(name)).getOperationState().certificateOperation!.csr!;
    const leaf = issuer.sign(csr);
    await client.mergeCertificate(name, [leaf, derOf(issuer.certPem)]);
    return leaf;
  }

  /** A request as the SDK would send it, with a valid vault token; answers the status, headers and parsed body. */
  async function raw(method: string, path: string, base = vault.url): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Record<string, unknown> }> {
    const token = mintToken({ tenantId: TENANT, resource: 'https://vault.azure.net', clientId: 'c' }).token;
    const url = `${base}${path}${path.includes('?') ? '&' : '?'}api-version=2025-07-01`;
    return new Promise((resolve, reject) => {
      const request = https.request(url, { method, ca: ca.certPem, headers: { authorization: `Bearer ${token}` } }, (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString()));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} }));
      });
      request.on('error', reject);
      request.end();
    });
  }

  it('runs the CSR flow: create gives a CSR, the CA signs it, merge completes the certificate', async () => {
    const name = 'www-example-com';
    await certificates.beginCreateCertificate(name, {
      issuerName: 'Unknown',
      subject: 'CN=www.example.com',
      subjectAlternativeNames: { dnsNames: ['www.example.com', 'example.com'] },
      keyType: 'RSA',
      keySize: 3072,
    });

    const operation = (await certificates.getCertificateOperation(name)).getOperationState().certificateOperation!;
    expect(operation.status).toBe('inProgress');
    expect(operation.requestId).toEqual(expect.any(String));
    const csr = forge.pki.certificationRequestFromAsn1(forge.asn1.fromDer(Buffer.from(operation.csr!).toString('binary')));
    expect(csr.verify()).toBe(true);
    expect(csr.subject.getField('CN').value).toBe('www.example.com');
    expect((csr.publicKey as forge.pki.rsa.PublicKey).n.bitLength()).toBe(3072);

    const pending = await certificates.getCertificate(name);
    expect(pending.properties.enabled).toBe(false);
    expect(pending.cer).toBeUndefined();

    const leaf = issuer.sign(operation.csr!);
    const merged = await certificates.mergeCertificate(name, [leaf, derOf(issuer.certPem)]);
    expect(Buffer.from(merged.cer!)).toEqual(leaf);
    // The service answers a merge with a new version (merge recording in azure-sdk-for-js).
    expect(merged.properties.version).not.toBe(pending.properties.version);

    const current = await certificates.getCertificate(name);
    expect(current.properties.enabled).toBe(true);
    expect(Buffer.from(current.cer!)).toEqual(leaf);
    expect(Buffer.from(current.properties.x509Thumbprint!).toString('hex')).toBe(new X509Certificate(leaf).fingerprint.replace(/:/g, '').toLowerCase());
    expect(current.properties.expiresOn!.getTime()).toBe(Date.parse(new X509Certificate(leaf).validTo));
    expect(current.policy?.issuerName).toBe('Unknown');
    expect(current.keyId).toBe(`${vault.url}/keys/${name}/${current.properties.version}`);

    const completed = (await certificates.getCertificateOperation(name)).getOperationState().certificateOperation!;
    expect(completed.status).toBe('completed');
    expect(completed.target).toBe(`${vault.url}/certificates/${name}`);
  });

  it('authenticates through the 401 challenge and a managed-identity token', () => {
    expect(counters.get('keyvault', 'auth.challenge')).toBeGreaterThanOrEqual(1);
    expect(counters.get('keyvault', 'auth.rejected')).toBe(0);
    expect(tokens.issued()).toBeGreaterThanOrEqual(1);
    expect(counters.get('keyvault', 'certificates.create')).toBeGreaterThanOrEqual(1);
  });

  const PENDING_CONFLICT = "A new key vault certificate can not be created or imported while a pending key vault certificate's status is inProgress.";

  it('refuses a second create while one is pending: 409, code Forbidden, the service wording', async () => {
    const name = 'pending-twice';
    const policy = { issuerName: 'Unknown', subject: 'CN=twice.example.com' };
    await certificates.beginCreateCertificate(name, policy);

    await expect(certificates.beginCreateCertificate(name, policy)).rejects.toMatchObject({ statusCode: 409, code: 'Forbidden', message: PENDING_CONFLICT });
  });

  it('a cancellation is only requested: the operation stays inProgress and still refuses creates and imports', async () => {
    const name = 'pending-cancelled';
    await certificates.beginCreateCertificate(name, { issuerName: 'Unknown', subject: 'CN=cancelled.example.com' });

    const poller = await certificates.getCertificateOperation(name);
    await poller.cancelOperation();

    expect(poller.getOperationState().certificateOperation).toMatchObject({ cancellationRequested: true, status: 'inProgress' });
    expect((await certificates.getCertificateOperation(name)).getOperationState().certificateOperation).toMatchObject({ cancellationRequested: true, status: 'inProgress' });
    await expect(certificates.beginCreateCertificate(name, { issuerName: 'Unknown', subject: 'CN=cancelled.example.com' })).rejects.toMatchObject({ statusCode: 409, message: PENDING_CONFLICT });
  });

  it('deleting the operation keeps the pending version (disabled, no certificate, no pending id); GET pending then answers 404; a new create is accepted', async () => {
    const name = 'pending-deleted';
    await certificates.beginCreateCertificate(name, { issuerName: 'Unknown', subject: 'CN=deleted-op.example.com' });
    const pendingVersion = (await certificates.getCertificate(name)).properties.version!;
    const requestId = (await raw('GET', `/certificates/${name}/pending`)).body.request_id as string;
    expect((await raw('GET', `/certificates/${name}/pending?request_id=another`)).status).toBe(404);

    const deleted = await raw('DELETE', `/certificates/${name}/pending?request_id=${requestId}`);

    expect(deleted.status).toBe(200);
    expect(deleted.body).toMatchObject({ status: 'inProgress', request_id: requestId });
    const after = await raw('GET', `/certificates/${name}/`);
    expect(after.body.id).toBe(`${vault.url}/certificates/${name}/${pendingVersion}`);
    expect(after.body).not.toHaveProperty('pending');
    expect((after.body.attributes as { enabled: boolean }).enabled).toBe(false);
    await expect(certificates.getCertificateOperation(name)).rejects.toMatchObject({ statusCode: 404, code: 'PendingCertificateNotFound', message: `Pending certificate not found: ${name}` });
    await certificates.beginCreateCertificate(name, { issuerName: 'Unknown', subject: 'CN=deleted-op.example.com' });
    expect((await certificates.getCertificate(name)).properties.version).not.toBe(pendingVersion);
  });

  it('answers 400 to a cancellation of an operation that is no longer in progress', async () => {
    const name = 'cancel-completed';
    await issue(name, 'cancel-completed.example.com');

    const answer = await raw('PATCH', `/certificates/${name}/pending`);

    expect(answer.status).toBe(400);
  });

  it('refuses an import while a create is pending (409, code Forbidden, the service wording); deleting the operation frees the name', async () => {
    const name = 'pending-then-import';
    await certificates.beginCreateCertificate(name, { issuerName: 'Unknown', subject: 'CN=pending.example.com' });
    const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const forgeKey = forge.pki.privateKeyFromPem(keys.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString());
    const csr = forge.pki.createCertificationRequest();
    csr.publicKey = forge.pki.publicKeyFromPem(keys.publicKey.export({ type: 'spki', format: 'pem' }).toString());
    csr.setSubject([{ name: 'commonName', value: 'pending.example.com' }]);
    csr.sign(forgeKey, forge.md.sha256.create());
    const leaf = issuer.sign(Buffer.from(forge.asn1.toDer(forge.pki.certificationRequestToAsn1(csr)).getBytes(), 'binary'));
    const p12 = forge.pkcs12.toPkcs12Asn1(forgeKey, [forge.pki.certificateFromAsn1(forge.asn1.fromDer(leaf.toString('binary')))], null, { algorithm: '3des' });
    const pfx = new Uint8Array(Buffer.from(forge.asn1.toDer(p12).getBytes(), 'binary'));

    await expect(certificates.importCertificate(name, pfx)).rejects.toMatchObject({ statusCode: 409, code: 'Forbidden', message: PENDING_CONFLICT });
    await certificates.deleteCertificateOperation(name);
    expect((await certificates.importCertificate(name, pfx)).properties.enabled).toBe(true);
  });

  it('refuses to merge a certificate whose key is not the pending key', async () => {
    const name = 'mismatched-merge';
    await certificates.beginCreateCertificate(name, { issuerName: 'Unknown', subject: 'CN=mismatch.example.com' });
    const other = forge.pki.createCertificationRequest();
    const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
    other.publicKey = forge.pki.publicKeyFromPem(otherKey.publicKey.export({ type: 'spki', format: 'pem' }).toString());
    other.setSubject([{ name: 'commonName', value: 'mismatch.example.com' }]);
    other.sign(forge.pki.privateKeyFromPem(otherKey.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString()), forge.md.sha256.create());
    const foreignLeaf = issuer.sign(Buffer.from(forge.asn1.toDer(forge.pki.certificationRequestToAsn1(other)).getBytes(), 'binary'));

    await expect(certificates.mergeCertificate(name, [foreignLeaf])).rejects.toMatchObject({ statusCode: 400, code: 'BadParameter' });
    const operation = (await certificates.getCertificateOperation(name)).getOperationState().certificateOperation!;
    expect(operation.status).toBe('inProgress');
  });

  it('answers a versionless GET of a pending certificate as the service does: disabled, nbf/exp from the policy, no kid, sid, x5t or cer', async () => {
    const name = 'pending-shape';
    await certificates.beginCreateCertificate(name, { issuerName: 'Unknown', subject: 'CN=pending-shape.example.com', validityInMonths: 3 });

    const answer = await raw('GET', `/certificates/${name}/`);

    expect(answer.status).toBe(200);
    expect(answer.body.id).toMatch(new RegExp(`^${vault.url}/certificates/${name}/[0-9a-f]{32}$`));
    for (const absent of ['kid', 'sid', 'x5t', 'cer', 'tags']) expect(answer.body).not.toHaveProperty(absent);
    expect(answer.body.pending).toEqual({ id: `${vault.url}/certificates/${name}/pending` });
    const attributes = answer.body.attributes as { enabled: boolean; nbf: number; exp: number; created: number };
    expect(attributes.enabled).toBe(false);
    expect(attributes.nbf).toBe(attributes.created - 600);
    const expiry = new Date(attributes.created * 1000);
    expiry.setUTCMonth(expiry.getUTCMonth() + 3);
    expect(attributes.exp).toBe(expiry.getTime() / 1000);
    expect((answer.body.policy as { x509_props: { validity_months: number } }).x509_props.validity_months).toBe(3);

    const pending = await certificates.getCertificate(name);
    expect(pending.properties).toMatchObject({ enabled: false, notBefore: new Date(attributes.nbf * 1000), expiresOn: new Date(attributes.exp * 1000) });
    expect(pending.cer).toBeUndefined();
    expect(pending.keyId).toBeUndefined();
    expect(pending.secretId).toBeUndefined();
    expect(pending.properties.x509Thumbprint).toBeUndefined();
    // No validity_months in the policy: 12 months, as the service defaults it.
    await certificates.beginCreateCertificate('pending-default-validity', { issuerName: 'Unknown', subject: 'CN=default.example.com' });
    const defaulted = (await raw('GET', '/certificates/pending-default-validity/')).body.attributes as { exp: number; created: number };
    const twelve = new Date(defaulted.created * 1000);
    twelve.setUTCMonth(twelve.getUTCMonth() + 12);
    expect(defaulted.exp).toBe(twelve.getTime() / 1000);
  });

  it('merges into a new version; the pending version stays listed, disabled and without a thumbprint', async () => {
    const name = 'merge-new-version';
    await certificates.beginCreateCertificate(name, { issuerName: 'Unknown', subject: 'CN=merge.example.com' }, { tags: { hostname: 'merge.example.com' } });
    const pendingVersion = (await certificates.getCertificate(name)).properties.version!;
    const csr = (await certificates.getCertificateOperation(name)).getOperationState().certificateOperation!.csr!;

    const merged = await certificates.mergeCertificate(name, [issuer.sign(csr), derOf(issuer.certPem)]);

    expect(merged.properties.version).not.toBe(pendingVersion);
    expect(merged.properties.tags).toEqual({ hostname: 'merge.example.com' });
    const current = await raw('GET', `/certificates/${name}/`);
    expect(current.body.id).toBe(`${vault.url}/certificates/${name}/${merged.properties.version}`);
    expect(current.body).toMatchObject({ kid: `${vault.url}/keys/${name}/${merged.properties.version}`, sid: `${vault.url}/secrets/${name}/${merged.properties.version}` });
    // The operation is still there (completed), so the bundle still names it.
    expect(current.body.pending).toEqual({ id: `${vault.url}/certificates/${name}/pending` });
    const versions = new Map<string, { enabled?: boolean; thumbprint?: Uint8Array }>();
    for await (const version of certificates.listPropertiesOfCertificateVersions(name)) versions.set(version.version!, { enabled: version.enabled, thumbprint: version.x509Thumbprint });
    expect([...versions.keys()].sort()).toEqual([pendingVersion, merged.properties.version].sort());
    expect(versions.get(pendingVersion)).toEqual({ enabled: false, thumbprint: undefined });
    expect(versions.get(merged.properties.version!)?.enabled).toBe(true);
    const pendingAgain = await certificates.getCertificateVersion(name, pendingVersion);
    expect(pendingAgain.cer).toBeUndefined();
  });

  it('lists only certificates with an issued version, all with includePending; an item shows the newest version', async () => {
    const onlyPending = 'list-only-pending';
    await certificates.beginCreateCertificate(onlyPending, { issuerName: 'Unknown', subject: 'CN=only-pending.example.com' });
    const renewing = 'list-renewing';
    await issue(renewing, 'renewing.example.com');
    await certificates.beginCreateCertificate(renewing, { issuerName: 'Unknown', subject: 'CN=renewing.example.com' });

    const listed = new Map<string, { enabled?: boolean; thumbprint?: Uint8Array }>();
    for await (const item of certificates.listPropertiesOfCertificates()) listed.set(item.name!, { enabled: item.enabled, thumbprint: item.x509Thumbprint });
    const withPending: string[] = [];
    for await (const item of certificates.listPropertiesOfCertificates({ includePending: true })) withPending.push(item.name!);

    expect(listed.has(onlyPending)).toBe(false);
    expect(withPending).toContain(onlyPending);
    expect(listed.get(renewing)).toEqual({ enabled: false, thumbprint: undefined });
  });

  it("serves a certificate's secret as a password-less PKCS#12 with the key and the full chain", async () => {
    const name = 'secret-of-cert';
    const leaf = await issue(name, 'pfx.example.com');

    const secret = await secrets.getSecret(name);
    expect(secret.properties.contentType).toBe('application/x-pkcs12');
    expect(secret.properties.managed).toBe(true);
    expect(secret.properties.certificateKeyId).toMatch(new RegExp(`/keys/${name}/`));
    const pfx = readPfx(secret.value!);
    expect(pfx.certsDer).toEqual([leaf, derOf(issuer.certPem)]);
    expect(spki(pfx.keyPem)).toEqual(spki(leaf));
    // Node's TLS stack (OpenSSL) loads it without a password, as the gateway does.
    expect(() => tls.createSecureContext({ pfx: Buffer.from(secret.value!, 'base64') })).not.toThrow();
  });

  it('creates EC certificates: the CSR carries a P-256 key', async () => {
    const name = 'ec-p256';
    await certificates.beginCreateCertificate(name, { issuerName: 'Unknown', subject: 'CN=ec.example.com', keyType: 'EC', keyCurveName: 'P-256' });

    const csr = (await certificates.getCertificateOperation(name)).getOperationState().certificateOperation!.csr!;
    const info = (forge.asn1.fromDer(Buffer.from(csr).toString('binary')).value as forge.asn1.Asn1[])[0];
    const keyInfo = (info.value as forge.asn1.Asn1[])[2];
    const algorithm = ((keyInfo.value as forge.asn1.Asn1[])[0].value as forge.asn1.Asn1[]).map((part) => forge.asn1.derToOid(part.value as string));
    expect(algorithm).toEqual(['1.2.840.10045.2.1', '1.2.840.10045.3.1.7']);
  });

  it('creates self-signed certificates (issuer Self): in progress, then the created version holds a certificate signed by its own key', async () => {
    const name = 'self-signed';
    const poller = await certificates.beginCreateCertificate(name, { issuerName: 'Self', subject: 'CN=self.example.com', subjectAlternativeNames: { dnsNames: ['self.example.com', 'www.self.example.com'] }, validityInMonths: 3 });
    const pending = await certificates.getCertificate(name);
    expect(pending.cer).toBeUndefined();
    expect((await certificates.getCertificateOperation(name)).getOperationState().certificateOperation?.status).toBe('inProgress');
    // A merge is for issuer-Unknown requests only.
    await expect(certificates.mergeCertificate(name, [derOf(issuer.certPem)])).rejects.toMatchObject({ statusCode: 400 });
    const done = await poller.pollUntilDone();
    expect(done.properties.version).toBe(pending.properties.version);
    expect(done.properties.enabled).toBe(true);
    const x509 = new X509Certificate(Buffer.from(done.cer!));
    expect(x509.subject).toBe('CN=self.example.com');
    expect(x509.issuer).toBe('CN=self.example.com');
    expect(x509.subjectAltName).toBe('DNS:self.example.com, DNS:www.self.example.com');
    expect(x509.verify(x509.publicKey)).toBe(true);
    const months = (Date.parse(x509.validTo) - Date.parse(x509.validFrom)) / 86_400_000;
    expect(months).toBeGreaterThanOrEqual(89);
    expect(months).toBeLessThanOrEqual(92);
    // Its secret is the PKCS#12 of the vault's key and the certificate, like any issued version.
    const secret = readPfx((await secrets.getSecret(name)).value!);
    expect(spki(secret.keyPem)).toEqual(spki(Buffer.from(done.cer!)));
  });

  it('imports a password-protected PKCS#12 and derives the policy from it', async () => {
    const name = 'imported';
    const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const csr = forge.pki.createCertificationRequest();
    csr.publicKey = forge.pki.publicKeyFromPem(keys.publicKey.export({ type: 'spki', format: 'pem' }).toString());
    csr.setSubject([{ name: 'commonName', value: 'imported.example.com' }]);
    const forgeKey = forge.pki.privateKeyFromPem(keys.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString());
    csr.sign(forgeKey, forge.md.sha256.create());
    const leaf = issuer.sign(Buffer.from(forge.asn1.toDer(forge.pki.certificationRequestToAsn1(csr)).getBytes(), 'binary'));
    const p12 = forge.pkcs12.toPkcs12Asn1(forgeKey, [forge.pki.certificateFromAsn1(forge.asn1.fromDer(leaf.toString('binary')))], 'import-pw', { algorithm: '3des' });
    const pfx = Buffer.from(forge.asn1.toDer(p12).getBytes(), 'binary');

    const imported = await certificates.importCertificate(name, pfx, { password: 'import-pw', tags: { source: 'import' } });

    expect(Buffer.from(imported.cer!)).toEqual(leaf);
    expect(imported.properties.tags).toEqual({ source: 'import' });
    expect(imported.policy).toMatchObject({ keyType: 'RSA', keySize: 2048, subject: 'CN=imported.example.com' });
    const secret = await secrets.getSecret(name);
    expect(spki(readPfx(secret.value!).keyPem)).toEqual(spki(leaf));
  });

  it('rejects an import that is not a PKCS#12', async () => {
    const garbage = Buffer.from('not a pkcs12 container');
    await expect(certificates.importCertificate('bad-import', garbage)).rejects.toMatchObject({ statusCode: 400, code: 'BadParameter' });
  });

  it('lists certificates page by page through absolute nextLinks', async () => {
    for (const n of [1, 2, 3]) await issue(`listed-${n}`, `listed${n}.example.com`);

    const pages: string[][] = [];
    for await (const page of certificates.listPropertiesOfCertificates().byPage()) {
      pages.push(page.map((item) => item.name!));
    }

    expect(pages.length).toBeGreaterThanOrEqual(2);
    expect(pages.every((page) => page.length <= 2)).toBe(true);
    expect(pages.flat()).toEqual(expect.arrayContaining(['listed-1', 'listed-2', 'listed-3']));
    // A certificate with only a pending version is left out of the default list.
    expect(pages.flat()).not.toContain('pending-twice');
  });

  it('lists the versions of a renewed certificate: each issued one and each pending one a create added', async () => {
    const name = 'renewed-versions';
    await issue(name, 'renew.example.com');
    await issue(name, 'renew.example.com');

    const versions: { version?: string; enabled?: boolean; thumbprint?: Uint8Array }[] = [];
    for await (const version of certificates.listPropertiesOfCertificateVersions(name)) versions.push({ version: version.version, enabled: version.enabled, thumbprint: version.x509Thumbprint });

    expect(new Set(versions.map((v) => v.version)).size).toBe(4);
    expect(versions.filter((v) => v.enabled && v.thumbprint)).toHaveLength(2);
    expect(versions.filter((v) => !v.enabled && !v.thumbprint)).toHaveLength(2);
  });

  it('updates the tags of a certificate', async () => {
    const name = 'tagged';
    await issue(name, 'tagged.example.com');

    await certificates.updateCertificateProperties(name, '', { tags: { hostname: 'tagged.example.com' } });
    const current = await certificates.getCertificate(name);

    expect(current.properties.tags).toEqual({ hostname: 'tagged.example.com' });
  });

  it('soft-deletes, shows the deleted certificate, then purges it', async () => {
    const name = 'to-delete';
    await issue(name, 'delete.example.com');

    const deleted = await (await certificates.beginDeleteCertificate(name, { intervalInMs: 10 })).pollUntilDone();
    expect(deleted.recoveryId).toBe(`${vault.url}/deletedcertificates/${name}`);
    expect(deleted.deletedOn).toBeInstanceOf(Date);
    expect(deleted.scheduledPurgeDate!.getTime()).toBeGreaterThan(Date.now());
    await expect(certificates.getCertificate(name)).rejects.toMatchObject({ statusCode: 404 });
    await expect(secrets.getSecret(name)).rejects.toMatchObject({ statusCode: 404 });
    await expect(certificates.beginCreateCertificate(name, { issuerName: 'Unknown', subject: 'CN=delete.example.com' })).rejects.toMatchObject({ statusCode: 409 });

    const fetched = await certificates.getDeletedCertificate(name);
    expect(fetched.name).toBe(name);
    await certificates.purgeDeletedCertificate(name);

    await expect(certificates.getDeletedCertificate(name)).rejects.toMatchObject({ statusCode: 404 });
  });

  it('recovers a deleted certificate', async () => {
    const name = 'to-recover';
    await issue(name, 'recover.example.com');
    await (await certificates.beginDeleteCertificate(name, { intervalInMs: 10 })).pollUntilDone();

    const recovered = await (await certificates.beginRecoverDeletedCertificate(name, { intervalInMs: 10 })).pollUntilDone();

    expect(recovered.name).toBe(name);
    expect((await certificates.getCertificate(name)).cer).toBeDefined();
  });

  describe('soft delete, recover and purge take time, as on the service', () => {
    const DELAYS = { deleteMs: 2000, recoverMs: 2000, purgeMs: 1500 };
    let slow: KeyVaultEmulator;
    let slowCertificates: CertificateClient;
    let slowSecrets: SecretClient;
    const at = (path: string, method = 'GET') => raw(method, path, slow.url);
    const until = async (check: () => Promise<boolean>): Promise<void> => {
      while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 100));
    };
    const BEING_DELETED = { error: { code: 'Conflict', message: 'Certificate is currently being deleted.', innererror: { code: 'ObjectIsBeingDeleted' } } };

    beforeAll(async () => {
      // No throttling: these tests poll creates faster than 10 in 10 s.
      slow = await startKeyVaultEmulator({ ca, tenantId: TENANT, lifecycleDelaysMs: DELAYS, throttle: false });
      slowCertificates = new CertificateClient(slow.url, new ManagedIdentityCredential(), clientOptions);
      slowSecrets = new SecretClient(slow.url, new ManagedIdentityCredential(), clientOptions);
    });
    afterAll(() => slow?.stop());

    it('a DELETE answers at once; until the deletion completes the certificate is neither live nor deleted, and create, purge and recover are refused', async () => {
      const name = 'deleting';
      await issue(name, 'deleting.example.com', slowCertificates);
      const started = Date.now();

      const deleted = await at(`/certificates/${name}`, 'DELETE');

      expect(deleted.status).toBe(200);
      expect(deleted.body.recoveryId).toBe(`${slow.url}/deletedcertificates/${name}`);
      expect((await at(`/certificates/${name}/`)).status).toBe(404);
      expect((await at(`/deletedcertificates/${name}`)).body).toEqual({ error: { code: 'CertificateNotFound', message: `Deleted Certificate not found: ${name}` } });
      expect((await at(`/certificates/${name}/create`, 'POST')).body).toEqual(BEING_DELETED);
      expect((await at(`/deletedcertificates/${name}`, 'DELETE')).body).toEqual(BEING_DELETED);
      const recover = await at(`/deletedcertificates/${name}/recover`, 'POST');
      expect(recover.status).toBe(409);
      expect((recover.body.error as { message: string }).message).toMatch(/^There was a conflict while recovering the soft-deleted certificate/);
      expect(Date.now() - started).toBeLessThan(DELAYS.deleteMs);

      await until(async () => (await at(`/deletedcertificates/${name}`)).status === 200);
      expect(Date.now() - started).toBeGreaterThanOrEqual(DELAYS.deleteMs - 50);
    });

    it("the SDK's delete and recover pollers wait through both windows; while recovering the name is refused with ObjectIsBeingRecovered", async () => {
      const name = 'slow-recover';
      await issue(name, 'slow-recover.example.com', slowCertificates);
      let started = Date.now();
      await (await slowCertificates.beginDeleteCertificate(name, { intervalInMs: 100 })).pollUntilDone();
      expect(Date.now() - started).toBeGreaterThanOrEqual(DELAYS.deleteMs - 50);

      started = Date.now();
      const poller = await slowCertificates.beginRecoverDeletedCertificate(name, { intervalInMs: 100 });
      expect((await at(`/certificates/${name}/`)).status).toBe(404);
      expect((await at(`/certificates/${name}/create`, 'POST')).body).toEqual({ error: { code: 'Conflict', message: 'Certificate is currently being recovered.', innererror: { code: 'ObjectIsBeingRecovered' } } });
      const recovered = await poller.pollUntilDone();

      expect(Date.now() - started).toBeGreaterThanOrEqual(DELAYS.recoverMs - 50);
      expect(recovered.name).toBe(name);
      expect((await slowCertificates.getCertificate(name)).cer).toBeDefined();
    });

    it('a purge answers 204 at once; the name stays taken (409 ObjectIsBeingDeleted) until the purge completes', async () => {
      const name = 'slow-purge';
      await issue(name, 'slow-purge.example.com', slowCertificates);
      await (await slowCertificates.beginDeleteCertificate(name, { intervalInMs: 100 })).pollUntilDone();
      const started = Date.now();

      await slowCertificates.purgeDeletedCertificate(name);

      await expect(slowCertificates.getDeletedCertificate(name)).rejects.toMatchObject({ statusCode: 404 });
      expect((await at(`/certificates/${name}/create`, 'POST')).body).toEqual(BEING_DELETED);
      await until(async () => (await at(`/certificates/${name}/create`, 'POST')).status !== 409);
      expect(Date.now() - started).toBeGreaterThanOrEqual(DELAYS.purgeMs - 50);
    });

    it('secrets too: set is refused while the secret is being deleted or purged', async () => {
      const name = 'slow-secret';
      await slowSecrets.setSecret(name, 'v1');
      await at(`/secrets/${name}`, 'DELETE');
      await expect(slowSecrets.setSecret(name, 'v2')).rejects.toMatchObject({ statusCode: 409, message: 'Secret is currently being deleted.' });
      await until(async () => (await at(`/deletedsecrets/${name}`)).status === 200);
      await expect(slowSecrets.setSecret(name, 'v2')).rejects.toMatchObject({ statusCode: 409 });

      await slowSecrets.purgeDeletedSecret(name);

      await expect(slowSecrets.setSecret(name, 'v2')).rejects.toMatchObject({ statusCode: 409, message: 'Secret is currently being deleted.' });
      await until(async () => (await at(`/deletedsecrets/${name}`)).status === 404 && (await slowSecrets.setSecret(name, 'v3').then(() => true, () => false)));
      expect((await slowSecrets.getSecret(name)).value).toBe('v3');
    });
  });

  describe('throttling at the documented limits, on by default', () => {
    const THROTTLED = { error: { code: 'Throttled', message: 'Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached' } };
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    const vaults: KeyVaultEmulator[] = [];
    afterAll(async () => {
      for (const each of vaults) await each.stop();
    });
    async function freshVault(options: Partial<Parameters<typeof startKeyVaultEmulator>[0]> = {}): Promise<KeyVaultEmulator> {
      const started = await startKeyVaultEmulator({ ca, tenantId: TENANT, ...options });
      vaults.push(started);
      return started;
    }

    it('the 11th certificate create within 10 s answers 429 Throttled without Retry-After, and the SDK does not retry it; other classes still answer', async () => {
      const own = new Counters();
      const throttled = await freshVault({ counters: own });
      const client = new CertificateClient(throttled.url, new ManagedIdentityCredential(), clientOptions);
      const policy = { issuerName: 'Unknown', subject: 'CN=burst.example.com', keyType: 'EC' as const, keyCurveName: 'P-256' as const };
      const started = Date.now();
      for (let i = 0; i < 10; i++) await client.beginCreateCertificate(`burst-${i}`, policy);

      await expect(client.beginCreateCertificate('burst-10', policy)).rejects.toMatchObject({ statusCode: 429, code: 'Throttled', message: THROTTLED.error.message });

      expect(Date.now() - started).toBeLessThan(10_000);
      expect(own.get('keyvault', 'throttled')).toBe(1);
      const answer = await raw('POST', '/certificates/burst-11/create', throttled.url);
      expect(answer.status).toBe(429);
      expect(answer.headers['retry-after']).toBeUndefined();
      expect(answer.body).toEqual(THROTTLED);
      expect((await raw('GET', '/certificates/burst-0/pending', throttled.url)).status).toBe(200);
      expect((await raw('PUT', '/secrets/unthrottled', throttled.url)).status).toBe(400);
    });

    it('the window slides; refused requests count too, so a client retrying at once stays throttled', async () => {
      const armed = await freshVault({ throttle: { limits: { vault: 3 }, windowMs: 2000 } });
      const list = async () => (await raw('GET', '/certificates', armed.url)).status;
      expect([await list(), await list(), await list()]).toEqual([200, 200, 200]);
      await sleep(1000);
      expect(await list()).toBe(429);
      // The three admitted requests have left the window; the refused one has not.
      await sleep(1200);
      expect([await list(), await list(), await list()]).toEqual([200, 200, 429]);
    });

    it('is re-armed at runtime (limits, scale, Retry-After) or turned off', async () => {
      const armed = await freshVault();
      armed.throttle({ limits: { secretCreate: 1 }, retryAfterSeconds: 3 });
      expect((await raw('PUT', '/secrets/armed', armed.url)).status).toBe(400);
      const refused = await raw('PUT', '/secrets/armed', armed.url);
      expect(refused.status).toBe(429);
      expect(refused.headers['retry-after']).toBe('3');

      armed.throttle({ scale: 0.0001 });
      expect((await raw('GET', '/certificates', armed.url)).status).toBe(200);
      expect((await raw('GET', '/certificates', armed.url)).status).toBe(429);

      armed.throttle(false);
      expect((await raw('PUT', '/secrets/armed', armed.url)).status).toBe(400);
    });
  });

  it('stores plain secrets (the ACME account key) with versions', async () => {
    const first = await secrets.setSecret('acme-account-key', 'first-value', { contentType: 'application/x-pem-file' });
    const second = await secrets.setSecret('acme-account-key', 'second-value');

    expect((await secrets.getSecret('acme-account-key')).value).toBe('second-value');
    expect((await secrets.getSecret('acme-account-key', { version: first.properties.version })).value).toBe('first-value');
    const versions: string[] = [];
    for await (const version of secrets.listPropertiesOfSecretVersions('acme-account-key')) versions.push(version.version!);
    expect(versions.sort()).toEqual([first.properties.version, second.properties.version].sort());
    await expect(secrets.getSecret('never-set')).rejects.toMatchObject({ statusCode: 404, code: 'SecretNotFound' });
  });

  it('resolveSecret follows the newest version for a versionless id and pins a versioned one', async () => {
    const name = 'gateway-cert';
    const firstLeaf = await issue(name, 'gw.example.com');
    const firstVersion = (await certificates.getCertificate(name)).properties.version!;
    const secondLeaf = await issue(name, 'gw.example.com');

    const latest = await vault.resolveSecret(`${vault.url}/secrets/${name}`);
    const pinned = await vault.resolveSecret(`${vault.url}/secrets/${name}/${firstVersion}`);

    expect(latest?.contentType).toBe('application/x-pkcs12');
    expect(readPfx(latest!.pfxBase64).certsDer[0]).toEqual(secondLeaf);
    expect(readPfx(pinned!.pfxBase64).certsDer[0]).toEqual(firstLeaf);
    expect(await vault.resolveSecret(`${vault.url}/secrets/unknown-name`)).toBeUndefined();
  });

  const SECRET_DISABLED = { error: { code: 'Forbidden', message: 'Operation get is not allowed on a disabled secret.', innererror: { code: 'SecretDisabled' } } };

  it('refuses a versionless read whose latest secret version is disabled (403 SecretDisabled) instead of serving an older one', async () => {
    const name = 'disabled-latest';
    const first = await secrets.setSecret(name, 'first');
    const second = await secrets.setSecret(name, 'second');
    await secrets.updateSecretProperties(name, second.properties.version!, { enabled: false });

    await expect(secrets.getSecret(name)).rejects.toMatchObject({ statusCode: 403, code: 'Forbidden', message: 'Operation get is not allowed on a disabled secret.' });
    expect((await raw('GET', `/secrets/${name}/`)).body).toEqual(SECRET_DISABLED);
    expect((await raw('GET', `/secrets/${name}/${second.properties.version}`)).body).toEqual(SECRET_DISABLED);
    expect((await secrets.getSecret(name, { version: first.properties.version })).value).toBe('first');
  });

  it("refuses a certificate's versionless secret, and resolveSecret serves nothing, when its latest issued version is disabled; the certificate itself still reads", async () => {
    const name = 'disabled-cert-latest';
    const firstLeaf = await issue(name, 'disabled-latest.example.com');
    const firstVersion = (await certificates.getCertificate(name)).properties.version!;
    await issue(name, 'disabled-latest.example.com');
    const secondVersion = (await certificates.getCertificate(name)).properties.version!;

    await certificates.updateCertificateProperties(name, secondVersion, { enabled: false });

    await expect(secrets.getSecret(name)).rejects.toMatchObject({ statusCode: 403, code: 'Forbidden' });
    expect((await raw('GET', `/secrets/${name}/`)).body).toEqual(SECRET_DISABLED);
    expect((await raw('GET', `/secrets/${name}/${secondVersion}`)).body).toEqual(SECRET_DISABLED);
    expect(await vault.resolveSecret(`${vault.url}/secrets/${name}`)).toBeUndefined();
    expect(await vault.resolveSecret(`${vault.url}/secrets/${name}/${secondVersion}`)).toBeUndefined();
    expect(readPfx((await vault.resolveSecret(`${vault.url}/secrets/${name}/${firstVersion}`))!.pfxBase64).certsDer[0]).toEqual(firstLeaf);
    // Disabled versions are still returned by certificate reads (azure-cli#26044: by design).
    const certificate = await certificates.getCertificate(name);
    expect(certificate.properties).toMatchObject({ version: secondVersion, enabled: false });
    expect(certificate.cer).toBeDefined();
  });

  it('a versionless secret keeps serving the current version while a renewal is pending', async () => {
    const name = 'renewal-pending';
    const leaf = await issue(name, 'pending-renewal.example.com');
    await certificates.beginCreateCertificate(name, { issuerName: 'Unknown', subject: 'CN=pending-renewal.example.com' });

    const resolved = await vault.resolveSecret(`${vault.url}/secrets/${name}`);

    expect(readPfx(resolved!.pfxBase64).certsDer[0]).toEqual(leaf);
  });

  it('gives the SDK an armed fault with a Key Vault error body and counts it', async () => {
    const noRetry = new CertificateClient(vault.url, new ManagedIdentityCredential(), { ...clientOptions, retryOptions: { maxRetries: 0 } });
    faults.arm({ service: 'keyvault', status: 503, code: 'ServiceUnavailable', message: 'Vault is busy.', retryAfterSeconds: 7, count: 1, match: 'GET /certificates/www-example-com' });
    const before = counters.get('keyvault', 'certificates.get.fault');

    type SdkError = { statusCode?: number; code?: string; response?: { headers: { get(name: string): string | undefined } } };
    const error = await noRetry.getCertificate('www-example-com').then(
      () => ({}) as SdkError,
      (e: unknown) => e as SdkError,
    );

    expect(error).toMatchObject({ statusCode: 503, code: 'ServiceUnavailable', message: 'Vault is busy.' });
    expect(error.response?.headers.get('retry-after')).toBe('7');
    expect(counters.get('keyvault', 'certificates.get.fault')).toBe(before + 1);
    // The fault was used up: the next call succeeds.
    expect((await noRetry.getCertificate('www-example-com')).cer).toBeDefined();
  });

  it('answers 401 to a token for another audience or tenant', async () => {
    const call = (token: string): Promise<{ status: number; body: string }> =>
      new Promise((resolve, reject) => {
        const request = https.get(`${vault.url}/certificates?api-version=2025-07-01`, { ca: ca.certPem, headers: { authorization: `Bearer ${token}` } }, (response) => {
          let body = '';
          response.on('data', (chunk: Buffer) => (body += chunk.toString()));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
        });
        request.on('error', reject);
      });
    const storageToken = mintToken({ tenantId: TENANT, resource: 'https://storage.azure.com', clientId: 'c' }).token;
    const otherTenant = mintToken({ tenantId: 'another-tenant', resource: 'https://vault.azure.net', clientId: 'c' }).token;
    const good = mintToken({ tenantId: TENANT, resource: 'https://vault.azure.net', clientId: 'c' }).token;

    expect((await call(storageToken)).status).toBe(401);
    expect((await call(otherTenant)).status).toBe(401);
    const ok = await call(good);
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toHaveProperty('value');
  });
});

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import forge from 'node-forge';
import * as acme from 'acme-client';
import https from 'node:https';
import { NetworkManagementClient, ApplicationGateway } from '@azure/arm-network';
import { CertificateClient, CertificatePolicy } from '@azure/keyvault-certificates';
import { SecretClient } from '@azure/keyvault-secrets';
import { ContainerClient } from '@azure/storage-blob';
import { Sandbox, SANDBOX_SUBSCRIPTION, startSandbox } from '../../sandbox';
import { readPkcs12 } from '../../sandbox/emulators/keyVaultCrypto';
import { SandboxCredential } from '../support/sandboxClient';

/** Each emulator driven through the real SDK the app uses, as the REST specs describe them. */
describe('sandbox emulators through the real SDKs', () => {
  let sandbox: Sandbox;
  let stateDir: string;
  let certificates: CertificateClient;
  let secrets: SecretClient;
  let network: NetworkManagementClient;
  const credential = new SandboxCredential();

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'emulators-'));
    sandbox = await startSandbox({ stateDir, withHost: false, armOperationDelayMs: 400 });
    const tls = { tlsOptions: { ca: sandbox.ca.certPem } };
    const kv = { ...tls, disableChallengeResourceVerification: true };
    certificates = new CertificateClient(sandbox.endpoints.keyVaultUrl, credential, kv);
    secrets = new SecretClient(sandbox.endpoints.keyVaultUrl, credential, kv);
    network = new NetworkManagementClient(credential, SANDBOX_SUBSCRIPTION, { ...tls, endpoint: sandbox.endpoints.armUrl });
  });
  afterAll(async () => {
    await sandbox?.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  /** A throwaway CA that signs CSRs the way a CA would (test-side, not product code). */
  function signCsr(csrDer: Uint8Array, caKey: forge.pki.rsa.PrivateKey, caCert: forge.pki.Certificate): Uint8Array {
    const csr = forge.pki.certificationRequestFromAsn1(forge.asn1.fromDer(Buffer.from(csrDer).toString('binary')));
    const cert = forge.pki.createCertificate();
    cert.publicKey = csr.publicKey as forge.pki.PublicKey;
    cert.serialNumber = '0' + Date.now().toString(16);
    cert.validity.notBefore = new Date(Date.now() - 60_000);
    cert.validity.notAfter = new Date(Date.now() + 30 * 86400_000);
    cert.setSubject(csr.subject.attributes);
    cert.setIssuer(caCert.subject.attributes);
    cert.sign(caKey, forge.md.sha256.create());
    return new Uint8Array(Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes(), 'binary'));
  }

  function testCa(): { key: forge.pki.rsa.PrivateKey; cert: forge.pki.Certificate } {
    const pem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    const key = forge.pki.privateKeyFromPem(pem) as forge.pki.rsa.PrivateKey;
    const cert = forge.pki.createCertificate();
    cert.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
    cert.serialNumber = '01';
    cert.validity.notBefore = new Date(Date.now() - 60_000);
    cert.validity.notAfter = new Date(Date.now() + 365 * 86400_000);
    cert.setSubject([{ name: 'commonName', value: 'test CA' }]);
    cert.setIssuer([{ name: 'commonName', value: 'test CA' }]);
    cert.setExtensions([{ name: 'basicConstraints', cA: true }]);
    cert.sign(key, forge.md.sha256.create());
    return { key, cert };
  }

  describe('Key Vault', () => {
    it('answers an unauthenticated request with the 401 challenge the SDK expects', async () => {
      const response = await new Promise<{ status: number; challenge: string }>((resolve, reject) =>
        https
          .get(`${sandbox.endpoints.keyVaultUrl}/certificates?api-version=2025-07-01`, { ca: sandbox.ca.certPem }, (r) => {
            r.resume();
            resolve({ status: r.statusCode ?? 0, challenge: String(r.headers['www-authenticate']) });
          })
          .on('error', reject),
      );
      expect(response.status).toBe(401);
      expect(response.challenge).toMatch(/^Bearer authorization="https:\/\/login\.microsoftonline\.com\/[0-9a-f-]+", resource="https:\/\/vault\.azure\.net"$/);
    });

    it('creates with issuer Unknown (CSR), refuses a second create while pending, merges the chain', async () => {
      const policy: CertificatePolicy = { issuerName: 'Unknown', subject: 'CN=merge.example', subjectAlternativeNames: { dnsNames: ['merge.example'] } } as CertificatePolicy;
      await certificates.beginCreateCertificate('merge-example', policy, { tags: { source: 'acme' } });
      await expect(certificates.beginCreateCertificate('merge-example', policy)).rejects.toMatchObject({ statusCode: 409 });
      const operation = (await certificates.getCertificateOperation('merge-example')).getOperationState().certificateOperation!;
      expect(operation.status).toBe('inProgress');
      const pending = await certificates.getCertificate('merge-example');
      expect(pending.properties.enabled).toBe(false);
      expect(pending.cer).toBeUndefined();

      const ca = testCa();
      const leaf = signCsr(operation.csr!, ca.key, ca.cert);
      const caDer = new Uint8Array(Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(ca.cert)).getBytes(), 'binary'));
      const merged = await certificates.mergeCertificate('merge-example', [leaf, caDer]);
      expect(new X509Certificate(Buffer.from(merged.cer!)).subject).toBe('CN=merge.example');
      expect(merged.properties.tags).toEqual({ source: 'acme' });
      expect((await certificates.getCertificateOperation('merge-example')).getOperationState().certificateOperation?.status).toBe('completed');

      const secret = await secrets.getSecret('merge-example');
      expect(secret.properties.contentType).toBe('application/x-pkcs12');
      const p12 = readPkcs12(Buffer.from(secret.value!, 'base64'), undefined);
      expect(p12.getBags({ bagType: forge.pki.oids.certBag })[forge.pki.oids.certBag]).toHaveLength(2);
    });

    it('rejects a merge whose leaf does not match the pending key', async () => {
      await certificates.beginCreateCertificate('mismatch', { issuerName: 'Unknown', subject: 'CN=mismatch.example' });
      const ca = testCa();
      const otherKey = forge.pki.rsa.generateKeyPair(1024);
      const csr = forge.pki.createCertificationRequest();
      csr.publicKey = otherKey.publicKey;
      csr.setSubject([{ name: 'commonName', value: 'mismatch.example' }]);
      csr.sign(otherKey.privateKey);
      const leaf = signCsr(Buffer.from(forge.asn1.toDer(forge.pki.certificationRequestToAsn1(csr)).getBytes(), 'binary'), ca.key, ca.cert);
      await expect(certificates.mergeCertificate('mismatch', [leaf])).rejects.toMatchObject({ statusCode: 400 });
    });

    it('imports a PKCS#12, lists with paging, updates tags, soft-deletes and purges', async () => {
      const ca = testCa();
      const keys = forge.pki.rsa.generateKeyPair(1024);
      const cert = forge.pki.createCertificate();
      cert.publicKey = keys.publicKey;
      cert.serialNumber = '02';
      cert.validity.notBefore = new Date(Date.now() - 60_000);
      cert.validity.notAfter = new Date(Date.now() + 86400_000);
      cert.setSubject([{ name: 'commonName', value: 'import.example' }]);
      cert.setIssuer(ca.cert.subject.attributes);
      cert.sign(ca.key, forge.md.sha256.create());
      const pfx = Buffer.from(forge.asn1.toDer(forge.pkcs12.toPkcs12Asn1(keys.privateKey, [cert, ca.cert], 'pw')).getBytes(), 'binary');
      for (let i = 0; i < 27; i++) await certificates.importCertificate(`import-${i}`, new Uint8Array(pfx), { password: 'pw' });
      const names: string[] = [];
      for await (const properties of certificates.listPropertiesOfCertificates()) names.push(properties.name!);
      expect(names.filter((n) => n.startsWith('import-'))).toHaveLength(27);

      await certificates.updateCertificateProperties('import-0', '', { tags: { source: 'import' } });
      expect((await certificates.getCertificate('import-0')).properties.tags).toEqual({ source: 'import' });

      const deletion = await certificates.beginDeleteCertificate('import-0');
      await deletion.pollUntilDone();
      expect((await certificates.getDeletedCertificate('import-0')).recoveryId).toContain('/deletedcertificates/import-0');
      await expect(certificates.getCertificate('import-0')).rejects.toMatchObject({ statusCode: 404 });
      await certificates.purgeDeletedCertificate('import-0');
      await expect(certificates.getDeletedCertificate('import-0')).rejects.toMatchObject({ statusCode: 404 });
    });

    it('stores plain secrets (the ACME account key) and reports armed faults to the SDK', async () => {
      await secrets.setSecret('plain', 'value-1', { contentType: 'text/plain', tags: { purpose: 'test' } });
      const read = await secrets.getSecret('plain');
      expect(read.value).toBe('value-1');
      expect(read.properties.tags).toEqual({ purpose: 'test' });
      sandbox.faults.arm({ service: 'keyvault', status: 403, code: 'Forbidden', message: 'Caller is not authorized.', count: 2, match: '/secrets/plain' });
      await expect(secrets.getSecret('plain')).rejects.toMatchObject({ statusCode: 403, code: 'Forbidden' });
      sandbox.faults.clear();
    });
  });

  describe('Azure Resource Manager (Application Gateway)', () => {
    const rg = 'rg-appgw-sandbox';
    const gw = 'appgw-sandbox';
    const read = () => network.applicationGateways.get(rg, gw);
    const child = (gateway: ApplicationGateway, collection: string, name: string) => ({ id: `${gateway.id}/${collection}/${name}` });

    function withHttpsSite(gateway: ApplicationGateway, name: string, hostname: string, priority: number | undefined): ApplicationGateway {
      const copy: ApplicationGateway = JSON.parse(JSON.stringify(gateway));
      copy.sslCertificates = [...(copy.sslCertificates ?? []), { name, keyVaultSecretId: `${sandbox.endpoints.keyVaultUrl}/secrets/${name}` }];
      copy.httpListeners = [
        ...(copy.httpListeners ?? []),
        {
          name: `${name}-https`,
          frontendIPConfiguration: child(copy, 'frontendIPConfigurations', 'appGwPublicFrontendIp'),
          frontendPort: child(copy, 'frontendPorts', 'port_443'),
          protocol: 'Https',
          hostName: hostname,
          requireServerNameIndication: true,
          sslCertificate: child(copy, 'sslCertificates', name),
        },
      ];
      copy.requestRoutingRules = [
        ...(copy.requestRoutingRules ?? []),
        {
          name: `${name}-rule`,
          ruleType: 'Basic',
          priority,
          httpListener: child(copy, 'httpListeners', `${name}-https`),
          backendAddressPool: child(copy, 'backendAddressPools', 'app-backend-pool'),
          backendHttpSettings: child(copy, 'backendHttpSettingsCollection', 'app-http-settings'),
        },
      ];
      return copy;
    }

    it('reads the gateway and its public IP', async () => {
      const gateway = await read();
      expect(gateway.sku?.name).toBe('Standard_v2');
      const pipId = gateway.frontendIPConfigurations?.[0].publicIPAddress?.id ?? '';
      const pip = await network.publicIPAddresses.get(rg, pipId.split('/').pop()!);
      expect(pip.ipAddress).toBe('127.0.0.1');
    });

    it('applies a PUT through the long-running operation protocol', async () => {
      sandbox.counters.reset();
      const updated = await network.applicationGateways.createOrUpdate(rg, gw, withHttpsSite(await read(), 'site-a', 'a.example', 20001 - 1), { updateIntervalInMs: 100 });
      expect(updated.provisioningState).toBe('Succeeded');
      expect((await read()).httpListeners?.map((l) => l.name)).toContain('site-a-https');
      const arm = sandbox.counters.snapshot().arm;
      expect(arm['applicationGateways.put']).toBe(1);
      expect(arm['operations.get']).toBeGreaterThanOrEqual(1);
    });

    it('answers 409 AnotherOperationInProgress to a PUT while another runs', async () => {
      const gateway = await read();
      const first = network.applicationGateways.createOrUpdate(rg, gw, withHttpsSite(gateway, 'site-b', 'b.example', 300), { updateIntervalInMs: 100 });
      await new Promise((resolve) => setTimeout(resolve, 100));
      await expect(network.applicationGateways.createOrUpdate(rg, gw, withHttpsSite(gateway, 'site-c', 'c.example', 301)).pollUntilDone()).rejects.toMatchObject({
        statusCode: 409,
        code: 'AnotherOperationInProgress',
      });
      await first.pollUntilDone();
    });

    it.each([
      ['a rule without priority', (g: ApplicationGateway) => withHttpsSite(g, 'bad1', 'bad1.example', undefined), 'ApplicationGatewayRequestRoutingRulePriorityCannotBeEmpty'],
      ['a duplicate priority', (g: ApplicationGateway) => withHttpsSite(g, 'bad2', 'bad2.example', 100), 'ApplicationGatewayRequestRoutingRulePriorityAlreadyUsed'],
      ['a priority out of range', (g: ApplicationGateway) => withHttpsSite(g, 'bad3', 'bad3.example', 20001), 'ApplicationGatewayRequestRoutingRulePriorityOutOfRange'],
      ['a duplicate hostname on a port', (g: ApplicationGateway) => withHttpsSite(g, 'bad4', 'a.example', 400), 'ApplicationGatewayHttpListenersUsingSameFrontendPortAndHostName'],
      ['an HTTPS listener without certificate', (g: ApplicationGateway) => {
        const copy = withHttpsSite(g, 'bad5', 'bad5.example', 401);
        delete copy.httpListeners![copy.httpListeners!.length - 1].sslCertificate;
        return copy;
      }, 'ApplicationGatewayHttpsListenerMustReferenceSslCertificate'],
      ['a reference to nothing', (g: ApplicationGateway) => {
        const copy = withHttpsSite(g, 'bad6', 'bad6.example', 402);
        copy.requestRoutingRules![copy.requestRoutingRules!.length - 1].backendAddressPool = child(copy, 'backendAddressPools', 'missing');
        return copy;
      }, 'InvalidResourceReference'],
    ])('refuses %s with the service error code and applies nothing', async (_what, change, code) => {
      const before = await read();
      await expect(network.applicationGateways.createOrUpdate(rg, gw, change(before)).pollUntilDone()).rejects.toMatchObject({ statusCode: 400, code });
      expect((await read()).httpListeners?.length).toBe(before.httpListeners?.length);
    });

    it('throttles with 429 + Retry-After, which the SDK retries by itself', async () => {
      sandbox.faults.arm({ service: 'arm', status: 429, code: 'TooManyRequests', retryAfterSeconds: 1, count: 1, match: 'GET' });
      expect((await read()).name).toBe(gw);
    });
  });

  describe('Blob Storage and the gateway path rule', () => {
    it('serves a blob uploaded with a bearer token anonymously through /.well-known/acme-challenge/*', async () => {
      const container = new ContainerClient(sandbox.endpoints.blobContainerUrl, credential, { tlsOptions: { ca: sandbox.ca.certPem } } as object);
      await container.getBlockBlobClient('.well-known/acme-challenge/token-1').upload('key-authorization', 17);
      const viaGateway = await fetch(`${sandbox.endpoints.gatewayHttpUrl}/.well-known/acme-challenge/token-1`, { headers: { host: 'any.example' } });
      expect(viaGateway.status).toBe(200);
      expect(await viaGateway.text()).toBe('key-authorization');
      expect((await fetch(`${sandbox.endpoints.gatewayHttpUrl}/.well-known/acme-challenge/missing`)).status).toBe(404);
      await container.getBlockBlobClient('.well-known/acme-challenge/token-1').delete();
    });
  });

  describe('ACME CA (Pebble behind the counting proxy)', () => {
    it('serves acme-client, counts requests by type and injects problem documents', async () => {
      acme.axios.defaults.httpsAgent = new https.Agent({ ca: sandbox.ca.certPem });
      const client = new acme.Client({ directoryUrl: sandbox.endpoints.acmeDirectoryUrl, accountKey: await acme.crypto.createPrivateEcdsaKey() });
      sandbox.counters.reset();
      await client.createAccount({ termsOfServiceAgreed: true });
      const order = await client.createOrder({ identifiers: [{ type: 'dns', value: 'count.example' }] });
      expect(order.status).toBe('pending');
      expect(sandbox.counters.snapshot().acme).toMatchObject({ directory: 1, newAccount: 1, newOrder: 1 });

      sandbox.faults.arm({ service: 'acme', status: 429, code: 'rateLimited', message: 'slow down', retryAfterSeconds: 0, count: 10, match: '/order-plz' });
      (acme.axios.defaults as unknown as { acmeSettings: { retryMaxAttempts: number } }).acmeSettings.retryMaxAttempts = 0;
      await expect(client.createOrder({ identifiers: [{ type: 'dns', value: 'limited.example' }] })).rejects.toThrow('slow down');
      sandbox.faults.clear();
    });
  });
});

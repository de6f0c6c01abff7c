import { CertificateClient } from '@azure/keyvault-certificates';
import forge from 'node-forge';
import type { Sandbox } from '../../sandbox';
import { certificateNameFor } from '../../src/azure/keyVault';
import { SandboxCredential } from './sandboxClient';

/**
 * Puts in the sandbox's Key Vault an ACME certificate for `hostname` issued `90 - daysLeft` days ago
 * that expires in `daysLeft` days, as an earlier run of the app left it: due for the renewal timer.
 */
export async function storeOldAcmeCertificate(sandbox: Sandbox, hostname: string, daysLeft = 5): Promise<void> {
  const keys = forge.pki.rsa.generateKeyPair(2048);
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = '0badc0de';
  cert.validity.notBefore = new Date(Date.now() - (90 - daysLeft) * 86400_000);
  cert.validity.notAfter = new Date(Date.now() + daysLeft * 86400_000);
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

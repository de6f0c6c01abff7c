import { generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';

/**
 * The sandbox's own certificate authority: every emulator (Key Vault, ARM, Blob, Pebble's API)
 * serves HTTPS with a leaf from it, and clients trust it (NODE_EXTRA_CA_CERTS or `tlsOptions.ca`).
 * Keys come from node:crypto (fast, native); node-forge only assembles and signs the X.509 bodies.
 */
export interface KeyAndCert {
  keyPem: string;
  certPem: string;
}

export interface SandboxCa extends KeyAndCert {
  /** A server certificate for the given DNS names and IP addresses, signed by this CA. */
  issueServerCert(names: string[]): KeyAndCert;
}

function rsaKeyPair(): { privatePem: string; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

function serialNumber(): string {
  // Positive 16-byte serial (leading nibble below 8 keeps the DER INTEGER positive).
  const bytes = randomBytes(16);
  bytes[0] &= 0x7f;
  return bytes.toString('hex');
}

function validity(cert: forge.pki.Certificate, days: number): void {
  const now = Date.now();
  cert.validity.notBefore = new Date(now - 60 * 60 * 1000);
  cert.validity.notAfter = new Date(now + days * 24 * 60 * 60 * 1000);
}

const isIp = (name: string): boolean => /^[0-9.]+$/.test(name) || name.includes(':');

export function createSandboxCa(commonName = 'appgw-certbot sandbox CA'): SandboxCa {
  const caKeys = rsaKeyPair();
  const caKey = forge.pki.privateKeyFromPem(caKeys.privatePem);
  const caCert = forge.pki.createCertificate();
  caCert.publicKey = forge.pki.publicKeyFromPem(caKeys.publicPem);
  caCert.serialNumber = serialNumber();
  validity(caCert, 30);
  const caSubject = [{ name: 'commonName', value: commonName }];
  caCert.setSubject(caSubject);
  caCert.setIssuer(caSubject);
  caCert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  caCert.sign(caKey, forge.md.sha256.create());
  const caCertPem = forge.pki.certificateToPem(caCert);

  return {
    keyPem: caKeys.privatePem,
    certPem: caCertPem,
    issueServerCert(names: string[]): KeyAndCert {
      const keys = rsaKeyPair();
      const cert = forge.pki.createCertificate();
      cert.publicKey = forge.pki.publicKeyFromPem(keys.publicPem);
      cert.serialNumber = serialNumber();
      validity(cert, 30);
      cert.setSubject([{ name: 'commonName', value: names[0] ?? 'localhost' }]);
      cert.setIssuer(caCert.subject.attributes);
      cert.setExtensions([
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
        { name: 'extKeyUsage', serverAuth: true },
        {
          name: 'subjectAltName',
          altNames: names.map((n) => (isIp(n) ? { type: 7, ip: n } : { type: 2, value: n })),
        },
        { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
      ]);
      cert.sign(caKey, forge.md.sha256.create());
      return { keyPem: keys.privatePem, certPem: forge.pki.certificateToPem(cert) };
    },
  };
}

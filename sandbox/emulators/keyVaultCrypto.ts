import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import forge from 'node-forge';

/**
 * The key material work Key Vault does for the emulator: key pairs and PKCS#10 CSRs for
 * issuer-Unknown certificates, and password-less PKCS#12 for certificate-backed secrets.
 * node:crypto makes the keys; node-forge (RSA only) writes CSR and PKCS#12 structures.
 */
export function generateRsaKey(bits: number): string {
  return generateKeyPairSync('rsa', { modulusLength: bits }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/** DER of a CSR for the subject ("CN=...") and DNS names, signed by the key. */
export function createCsr(keyPem: string, subject: string, dnsNames: string[]): Buffer {
  const key = forge.pki.privateKeyFromPem(toPkcs1(keyPem)) as forge.pki.rsa.PrivateKey;
  const csr = forge.pki.createCertificationRequest();
  csr.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
  csr.setSubject(
    subject
      .split(',')
      .map((part) => part.trim().split('='))
      .filter(([name, value]) => name && value)
      .map(([name, value]) => ({ shortName: name.trim(), value: value.trim() })),
  );
  if (dnsNames.length) {
    csr.setAttributes([
      { name: 'extensionRequest', extensions: [{ name: 'subjectAltName', altNames: dnsNames.map((value) => ({ type: 2, value })) }] },
    ]);
  }
  csr.sign(key, forge.md.sha256.create());
  return Buffer.from(forge.asn1.toDer(forge.pki.certificationRequestToAsn1(csr)).getBytes(), 'binary');
}

function toPkcs1(keyPem: string): string {
  return createPrivateKey(keyPem).export({ type: 'pkcs1', format: 'pem' }).toString();
}

export function publicKeyMatches(keyPem: string, certDer: Buffer): boolean {
  const fromKey = createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'der' });
  const fromCert = new X509Certificate(certDer).publicKey.export({ type: 'spki', format: 'der' });
  return Buffer.compare(fromKey, fromCert) === 0;
}

/** A PKCS#12 with the key and the chain (leaf first) and no password, as Key Vault serves it. */
export function toPkcs12(keyPem: string, chainDer: Buffer[]): Buffer {
  const key = forge.pki.privateKeyFromPem(toPkcs1(keyPem));
  const certs = chainDer.map((der) => forge.pki.certificateFromAsn1(forge.asn1.fromDer(der.toString('binary'))));
  const asn1 = forge.pkcs12.toPkcs12Asn1(key, certs, null, { algorithm: '3des' });
  return Buffer.from(forge.asn1.toDer(asn1).getBytes(), 'binary');
}

/**
 * Parses a PKCS#12. A password-less file's MAC is keyed either with no password (forge, Key
 * Vault) or with the empty one (openssl): both are tried.
 */
export function readPkcs12(pfx: Buffer, password: string | undefined): forge.pkcs12.Pkcs12Pfx {
  const asn1 = forge.asn1.fromDer(pfx.toString('binary'));
  if (password) return forge.pkcs12.pkcs12FromAsn1(asn1, false, password);
  try {
    // Reason: forge's typings say string, but its code accepts null for "no password".
    return forge.pkcs12.pkcs12FromAsn1(asn1, false, null as unknown as string);
  } catch {
    return forge.pkcs12.pkcs12FromAsn1(asn1, false, '');
  }
}

/** Key (PKCS#8 PEM) and chain (leaf first) from a PKCS#12; throws with a reason when unreadable. */
export function fromPkcs12(pfx: Buffer, password: string | undefined): { keyPem: string; chainDer: Buffer[] } {
  const p12 = readPkcs12(pfx, password);
  const keyBag = [
    ...(p12.getBags({ bagType: forge.pki.oids.pkcs8ShroudedKeyBag })[forge.pki.oids.pkcs8ShroudedKeyBag] ?? []),
    ...(p12.getBags({ bagType: forge.pki.oids.keyBag })[forge.pki.oids.keyBag] ?? []),
  ][0];
  if (!keyBag?.key) throw new Error('the PKCS#12 holds no private key');
  const keyPem = createPrivateKey(forge.pki.privateKeyToPem(keyBag.key)).export({ type: 'pkcs8', format: 'pem' }).toString();
  const certs = (p12.getBags({ bagType: forge.pki.oids.certBag })[forge.pki.oids.certBag] ?? [])
    .map((bag) => bag.cert)
    .filter((cert): cert is forge.pki.Certificate => !!cert)
    .map((cert) => Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes(), 'binary'));
  // Leaf first: the certificate whose key matches.
  const leafIndex = certs.findIndex((der) => publicKeyMatches(keyPem, der));
  if (leafIndex < 0) throw new Error('no certificate in the PKCS#12 matches its private key');
  const chainDer = [certs[leafIndex], ...certs.filter((_, i) => i !== leafIndex)];
  return { keyPem, chainDer };
}

export const x5t = (der: Buffer): string => createHash('sha1').update(der).digest('base64url');

import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, KeyObject, randomBytes, sign, X509Certificate } from 'node:crypto';
import forge from 'node-forge';

/**
 * The key work Key Vault does for certificates: key pairs per the policy's key_props, PKCS#10
 * CSRs for issuer-Unknown creates, and the password-less PKCS#12 a certificate's secret holds.
 * node:crypto makes keys and signatures (RSA and EC alike); node-forge only writes and reads the
 * ASN.1 structures, so EC keys work although forge's own key types are RSA-only.
 */
import { asn1, Asn1, derBytes, fromDer, oid, seq } from '../../src/crypto/asn1';
export { toPkcs12 } from '../../src/crypto/pkcs12';

export class KeyPropertiesError extends Error {}

/** key_props of a certificate policy (REST: CertificatePolicy.key_props). */
export interface WireKeyProperties {
  kty?: string;
  key_size?: number;
  crv?: string;
  exportable?: boolean;
  reuse_key?: boolean;
}

const RSA_SIZES = [2048, 3072, 4096];
const CURVES: Record<string, string> = { 'P-256': 'prime256v1', 'P-384': 'secp384r1', 'P-521': 'secp521r1' };

/** A new private key (PKCS#8 PEM) for the policy; throws KeyPropertiesError for what Key Vault refuses. */
export function generateKey(props: WireKeyProperties = {}): string {
  const kty = props.kty ?? 'RSA';
  if (kty === 'RSA' || kty === 'RSA-HSM') {
    const size = props.key_size ?? 2048;
    if (!RSA_SIZES.includes(size)) throw new KeyPropertiesError(`The key size ${size} is not supported for RSA keys; use 2048, 3072 or 4096.`);
    return exportKey(generateKeyPairSync('rsa', { modulusLength: size }).privateKey);
  }
  if (kty === 'EC' || kty === 'EC-HSM') {
    const curve = CURVES[props.crv ?? 'P-256'];
    if (!curve) throw new KeyPropertiesError(`The curve ${props.crv} is not supported; use P-256, P-384 or P-521.`);
    return exportKey(generateKeyPairSync('ec', { namedCurve: curve }).privateKey);
  }
  throw new KeyPropertiesError(`The key type ${kty} is not supported for certificates.`);
}

const exportKey = (key: KeyObject): string => key.export({ type: 'pkcs8', format: 'pem' }).toString();


/** "CN=a, O=b" -> forge subject attributes (Key Vault's x509_props.subject is an X.500 name). */
export function parseSubject(subject: string): forge.pki.CertificateField[] {
  return subject
    .split(/,(?=\s*[A-Za-z.0-9]+=)/)
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const eq = part.indexOf('=');
      if (eq < 1) throw new KeyPropertiesError(`The subject "${subject}" is not a valid X.500 name.`);
      return { shortName: part.slice(0, eq).trim().toUpperCase() === 'E' ? 'E' : part.slice(0, eq).trim(), value: part.slice(eq + 1).trim() };
    });
}

/** Signature algorithm for the key: sha256WithRSAEncryption or ecdsa-with-SHA256/384/512. */
function signatureAlgorithm(key: KeyObject): { digest: string; identifier: Asn1 } {
  if (key.asymmetricKeyType === 'rsa') {
    return { digest: 'sha256', identifier: seq([oid('1.2.840.113549.1.1.11'), asn1.create(asn1.Class.UNIVERSAL, asn1.Type.NULL, false, '')]) };
  }
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (curve === 'secp384r1') return { digest: 'sha384', identifier: seq([oid('1.2.840.10045.4.3.3')]) };
  if (curve === 'secp521r1') return { digest: 'sha512', identifier: seq([oid('1.2.840.10045.4.3.4')]) };
  return { digest: 'sha256', identifier: seq([oid('1.2.840.10045.4.3.2')]) };
}

/** forge exports this (x509.js) but @types/node-forge does not declare it. */
const certificationRequestInfo = (csr: forge.pki.CertificateSigningRequest): Asn1 =>
  (forge.pki as unknown as { getCertificationRequestInfo(request: forge.pki.CertificateSigningRequest): Asn1 }).getCertificationRequestInfo(csr);

/**
 * DER of a PKCS#10 CSR for the subject and DNS names, signed by the key. forge assembles the
 * CertificationRequestInfo (subject, extensionRequest with subjectAltName); the public key is
 * node's SubjectPublicKeyInfo and the signature node's, so RSA and EC keys are handled alike.
 */
export function createCsr(keyPem: string, subject: string, dnsNames: string[]): Buffer {
  const privateKey = createPrivateKey(keyPem);
  const csr = forge.pki.createCertificationRequest();
  // Placeholder so forge can write the structure; replaced below by the real SubjectPublicKeyInfo.
  csr.publicKey = forge.pki.setRsaPublicKey(new forge.jsbn.BigInteger('3'), new forge.jsbn.BigInteger('3'));
  csr.setSubject(parseSubject(subject));
  if (dnsNames.length) {
    csr.setAttributes([{ name: 'extensionRequest', extensions: [{ name: 'subjectAltName', altNames: dnsNames.map((value) => ({ type: 2, value })) }] }]);
  }
  const info = certificationRequestInfo(csr);
  (info.value as Asn1[])[2] = fromDer(createPublicKey(privateKey).export({ type: 'spki', format: 'der' }));
  const algorithm = signatureAlgorithm(privateKey);
  const signature = sign(algorithm.digest, derBytes(info), privateKey);
  return derBytes(
    seq([info, algorithm.identifier, asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BITSTRING, false, `\u0000${signature.toString('binary')}`)]),
  );
}

/** forge exports this (x509.js) but @types/node-forge does not declare it. */
const tbsCertificate = (cert: forge.pki.Certificate): Asn1 =>
  (forge.pki as unknown as { getTBSCertificate(certificate: forge.pki.Certificate): Asn1 }).getTBSCertificate(cert);

/**
 * DER of a self-signed certificate (issuer "Self"): subject = issuer, the SANs, serverAuth, valid
 * from now for `validityMonths` (Key Vault's x509_props.validity_months). Built like createCsr:
 * forge writes the TBSCertificate, node's key fills in the public key and signs, so EC works too.
 */
export function createSelfSignedCertificate(keyPem: string, subject: string, dnsNames: string[], validityMonths: number, now = new Date()): Buffer {
  const privateKey = createPrivateKey(keyPem);
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(new forge.jsbn.BigInteger('3'), new forge.jsbn.BigInteger('3'));
  // A positive 16-byte serial (RFC 5280 4.1.2.2: at most 20 octets, positive).
  cert.serialNumber = `7${randomBytes(15).toString('hex')}`;
  cert.validity.notBefore = now;
  const notAfter = new Date(now);
  notAfter.setUTCMonth(notAfter.getUTCMonth() + validityMonths);
  cert.validity.notAfter = notAfter;
  const name = subject ? parseSubject(subject) : [];
  cert.setSubject(name);
  cert.setIssuer(name);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', critical: true, digitalSignature: true, keyEncipherment: privateKey.asymmetricKeyType === 'rsa' },
    { name: 'extKeyUsage', serverAuth: true },
    ...(dnsNames.length ? [{ name: 'subjectAltName', altNames: dnsNames.map((value) => ({ type: 2, value })) }] : []),
  ]);
  // forge writes the signature algorithm it would sign with; replaced below by the key's.
  cert.siginfo.algorithmOid = forge.pki.oids.sha256WithRSAEncryption;
  const tbs = tbsCertificate(cert);
  const algorithm = signatureAlgorithm(privateKey);
  const fields = tbs.value as Asn1[];
  // TBSCertificate: [0] version, serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo, [3] extensions.
  fields[2] = algorithm.identifier;
  fields[6] = fromDer(createPublicKey(privateKey).export({ type: 'spki', format: 'der' }));
  const signature = sign(algorithm.digest, derBytes(tbs), privateKey);
  return derBytes(seq([tbs, algorithm.identifier, asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BITSTRING, false, `\u0000${signature.toString('binary')}`)]));
}

/** True when the certificate (DER) carries the public half of the key. */
export function publicKeyMatches(keyPem: string, certDer: Buffer): boolean {
  const fromKey = createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'der' });
  const fromCert = new X509Certificate(certDer).publicKey.export({ type: 'spki', format: 'der' });
  return fromKey.equals(fromCert);
}

/** base64url SHA-1 of the DER: the bundle's x5t. */
export const thumbprint = (der: Buffer): string => createHash('sha1').update(der).digest('base64url');

/**
 * Key (PKCS#8 PEM) and chain (leaf first) from a PKCS#12, RSA or EC. forge parses the container
 * (it hands back raw ASN.1 for key and certificate types it cannot model, e.g. EC); a
 * password-less file's MAC may be keyed with no password (forge, Key Vault) or the empty one
 * (OpenSSL), so both are tried. Throws a message without secret material when unreadable.
 */
export function fromPkcs12(pfx: Buffer, password: string | undefined): { keyPem: string; chainDer: Buffer[] } {
  const p12 = readPkcs12(pfx, password);
  const bags = (type: string): forge.pkcs12.Bag[] => p12.getBags({ bagType: type })[type] ?? [];
  const keyBag = [...bags(forge.pki.oids.pkcs8ShroudedKeyBag), ...bags(forge.pki.oids.keyBag)][0];
  if (!keyBag) throw new Error('the PKCS#12 holds no private key');
  const keyPem = keyBag.key
    ? exportKey(createPrivateKey(forge.pki.privateKeyToPem(keyBag.key)))
    : exportKey(createPrivateKey({ key: derBytes(keyBag.asn1), format: 'der', type: 'pkcs8' }));
  const certs = bags(forge.pki.oids.certBag).map((bag) => derBytes(bag.cert ? forge.pki.certificateToAsn1(bag.cert) : bag.asn1));
  const leafIndex = certs.findIndex((der) => publicKeyMatches(keyPem, der));
  if (leafIndex < 0) throw new Error('no certificate in the PKCS#12 matches its private key');
  return { keyPem, chainDer: [certs[leafIndex], ...certs.filter((_, i) => i !== leafIndex)] };
}

function readPkcs12(pfx: Buffer, password: string | undefined): forge.pkcs12.Pkcs12Pfx {
  let container: Asn1;
  try {
    container = fromDer(pfx);
  } catch {
    throw new Error('the value is not a DER-encoded PKCS#12');
  }
  const attempts = password ? [password] : [null, ''];
  for (const attempt of attempts) {
    try {
      // Reason: forge's typings want a string password; its code takes null for "no password".
      return forge.pkcs12.pkcs12FromAsn1(container, false, attempt as string);
    } catch {
      // Try the next password form; the last failure is reported below without details.
    }
  }
  throw new Error('the PKCS#12 could not be read (wrong password or unsupported encryption)');
}

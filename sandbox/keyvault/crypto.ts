import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, KeyObject, sign, X509Certificate } from 'node:crypto';
import forge from 'node-forge';

/**
 * The key work Key Vault does for certificates: key pairs per the policy's key_props, PKCS#10
 * CSRs for issuer-Unknown creates, and the password-less PKCS#12 a certificate's secret holds.
 * node:crypto makes keys and signatures (RSA and EC alike); node-forge only writes and reads the
 * ASN.1 structures, so EC keys work although forge's own key types are RSA-only.
 */
const { asn1 } = forge;
type Asn1 = forge.asn1.Asn1;

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

const derBytes = (node: Asn1): Buffer => Buffer.from(asn1.toDer(node).getBytes(), 'binary');
const fromDer = (der: Buffer): Asn1 => asn1.fromDer(der.toString('binary'));
const oid = (id: string): Asn1 => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(id).getBytes());
const seq = (items: Asn1[]): Asn1 => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, items);
const octets = (bytes: Buffer): Asn1 => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OCTETSTRING, false, bytes.toString('binary'));
const explicit0 = (inner: Asn1): Asn1 => asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, true, [inner]);

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

/** True when the certificate (DER) carries the public half of the key. */
export function publicKeyMatches(keyPem: string, certDer: Buffer): boolean {
  const fromKey = createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'der' });
  const fromCert = new X509Certificate(certDer).publicKey.export({ type: 'spki', format: 'der' });
  return fromKey.equals(fromCert);
}

/** base64url SHA-1 of the DER: the bundle's x5t. */
export const thumbprint = (der: Buffer): string => createHash('sha1').update(der).digest('base64url');

const OID = {
  data: '1.2.840.113549.1.7.1',
  keyBag: '1.2.840.113549.1.12.10.1.1',
  certBag: '1.2.840.113549.1.12.10.1.3',
  x509Certificate: '1.2.840.113549.1.9.22.1',
  localKeyId: '1.2.840.113549.1.9.21',
  sha1: '1.3.14.3.2.26',
};

const dataContentInfo = (content: Asn1): Asn1 => seq([oid(OID.data), explicit0(octets(derBytes(content)))]);

/**
 * A password-less PKCS#12 (RFC 7292) with the key and the chain, leaf first, as Key Vault serves
 * a certificate's secret: unencrypted bags, a localKeyId pairing the key with the leaf, and a
 * SHA-1 MAC keyed with no password (OpenSSL and node's tls accept both "no" and "empty").
 */
export function toPkcs12(keyPem: string, chainDer: Buffer[]): Buffer {
  const localKeyId = createHash('sha1').update(chainDer[0]).digest();
  const attributes = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SET, true, [
    seq([oid(OID.localKeyId), asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SET, true, [octets(localKeyId)])]),
  ]);
  const certBags = chainDer.map((der, index) => {
    const bag = [oid(OID.certBag), explicit0(seq([oid(OID.x509Certificate), explicit0(octets(der))]))];
    return seq(index === 0 ? [...bag, attributes] : bag);
  });
  const pkcs8 = fromDer(createPrivateKey(keyPem).export({ type: 'pkcs8', format: 'der' }));
  const keyBag = seq([oid(OID.keyBag), explicit0(pkcs8), attributes]);
  const authenticatedSafe = seq([dataContentInfo(seq(certBags)), dataContentInfo(seq([keyBag]))]);

  const salt = forge.random.getBytesSync(8);
  const iterations = 2048;
  // Reason: forge's typings want a string password; its code takes null for "no password".
  const macKey = forge.pkcs12.generateKey(null as unknown as string, forge.util.createBuffer(salt), 3, iterations, 20);
  const hmac = forge.hmac.create();
  hmac.start('sha1', macKey.getBytes());
  hmac.update(asn1.toDer(authenticatedSafe).getBytes());
  const macData = seq([
    seq([seq([oid(OID.sha1), asn1.create(asn1.Class.UNIVERSAL, asn1.Type.NULL, false, '')]), octets(Buffer.from(hmac.digest().getBytes(), 'binary'))]),
    octets(Buffer.from(salt, 'binary')),
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.INTEGER, false, asn1.integerToDer(iterations).getBytes()),
  ]);
  const version = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.INTEGER, false, asn1.integerToDer(3).getBytes());
  return derBytes(seq([version, dataContentInfo(authenticatedSafe), macData]));
}

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

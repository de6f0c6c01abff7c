import { createPrivateKey, KeyObject, X509Certificate } from 'node:crypto';
import { normaliseHostname } from './hostname';
import { FieldError, Parsed } from './requests';

/**
 * Validation of a certificate the user brings (AddCertificateWithPrivateKeyFunctions), before
 * anything starts: the key reads (PEM or base64 DER; PKCS#8, PKCS#1, SEC1, encrypted PKCS#8 with
 * `password`), the certificate or chain reads, the key matches a certificate (the leaf), the leaf
 * covers the hostname (SAN, wildcard rules of RFC 6125), is valid now and is a TLS server
 * certificate. Reasons never quote key material.
 */
export interface ValidImport {
  hostname: string;
  key: KeyObject;
  /** Leaf first. */
  chain: X509Certificate[];
}

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const ANY_EKU = '2.5.29.37.0';

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function derFromBase64(text: string): Buffer | undefined {
  const compact = text.replace(/\s+/g, '');
  return /^[A-Za-z0-9+/]+={0,2}$/.test(compact) ? Buffer.from(compact, 'base64') : undefined;
}

function readKey(text: string, password: string | undefined): KeyObject | string {
  const encrypted = /ENCRYPTED PRIVATE KEY|Proc-Type: 4,ENCRYPTED/.test(text);
  if (text.includes('-----BEGIN')) {
    if (encrypted && !password) return 'is encrypted: send its password in "password"';
    try {
      return createPrivateKey({ key: text, passphrase: password });
    } catch {
      return encrypted ? 'could not be decrypted with the given password' : 'is not a readable private key (PEM)';
    }
  }
  const der = derFromBase64(text);
  if (!der) return 'is neither PEM nor base64 DER';
  for (const type of ['pkcs8', 'pkcs1', 'sec1'] as const) {
    try {
      return createPrivateKey({ key: der, format: 'der', type, passphrase: type === 'pkcs8' ? password : undefined });
    } catch {
      // try the next encoding
    }
  }
  return password ? 'could not be decrypted with the given password, or is not a PKCS#8, PKCS#1 or SEC1 key' : 'is not a PKCS#8, PKCS#1 or SEC1 key (base64 DER); an encrypted key needs "password"';
}

function readCertificates(text: string): X509Certificate[] | string {
  try {
    if (text.includes('-----BEGIN')) {
      const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
      if (blocks.length === 0) return 'holds no PEM CERTIFICATE block';
      return blocks.map((block) => new X509Certificate(block));
    }
    const der = derFromBase64(text);
    if (!der) return 'is neither PEM nor base64 DER';
    return [new X509Certificate(der)];
  } catch {
    return 'is not a readable X.509 certificate';
  }
}

function checkLeaf(leaf: X509Certificate, hostname: string, now: Date): string | undefined {
  if (leaf.ca) return 'is a CA certificate, not a server certificate';
  if (Date.parse(leaf.validTo) <= now.getTime()) return `expired on ${new Date(leaf.validTo).toISOString()}`;
  if (Date.parse(leaf.validFrom) > now.getTime()) return `is not valid before ${new Date(leaf.validFrom).toISOString()}`;
  // Browsers take names from the subjectAltName only (CA/Browser Forum BR 7.1.2.7; RFC 6125
  // section 6.4.4 allows the CN only without SANs, which browsers no longer honour).
  if (!leaf.subjectAltName?.includes('DNS:')) return `has no DNS name in its subjectAltName (browsers ignore the CN "${leaf.subject.replace(/\n/g, ', ')}")`;
  if (!leaf.checkHost(hostname, { subject: 'never', wildcards: true, partialWildcards: false })) {
    return `does not cover ${hostname} (names: ${leaf.subjectAltName})`;
  }
  const ekus = leaf.keyUsage;
  if (ekus && ekus.length > 0 && !ekus.includes(SERVER_AUTH) && !ekus.includes(ANY_EKU)) {
    return 'is not a TLS server certificate (its extended key usage lacks serverAuth)';
  }
  return undefined;
}

/**
 * The chain as a server must send it (RFC 8446 section 4.4.2: each certificate certifies the one
 * before it), built from what was given in any order: leaf first, then the certificate whose key
 * signed it, and so on. A certificate that is not on that path is refused, not stored.
 */
function buildChain(leaf: X509Certificate, others: X509Certificate[]): X509Certificate[] | string {
  const chain = [leaf];
  const pool = [...others];
  for (;;) {
    const last = chain[chain.length - 1];
    if (last.checkIssued(last) && last.verify(last.publicKey)) break; // a self-signed root ends it
    const next = pool.findIndex((candidate) => last.checkIssued(candidate) && last.verify(candidate.publicKey));
    if (next < 0) break;
    chain.push(...pool.splice(next, 1));
  }
  if (pool.length > 0) {
    const stray = pool[0].subject.replace(/\n/g, ', ');
    return `holds ${pool.length} certificate(s) that are not in the chain of the certificate matching privatekey (first: "${stray}"); send the leaf and its issuers only`;
  }
  return chain;
}

export function parseImportRequest(body: unknown, max: number, now = new Date()): Parsed<ValidImport[]> {
  if (!isObject(body)) return { ok: false, errors: [{ field: '(body)', reason: 'must be a JSON object' }] };
  const list = body.hostnames;
  if (!Array.isArray(list) || list.length === 0) {
    return { ok: false, errors: [{ field: 'hostnames', reason: 'must list at least one {hostname, privatekey, certificate}' }] };
  }
  if (list.length > max) return { ok: false, errors: [{ field: 'hostnames', reason: `lists ${list.length} items; at most ${max} are allowed` }] };

  const errors: FieldError[] = [];
  const valid: ValidImport[] = [];
  list.forEach((item, index) => {
    const at = (name: string): string => `hostnames[${index}].${name}`;
    if (!isObject(item)) return errors.push({ field: `hostnames[${index}]`, reason: 'must be an object {hostname, privatekey, certificate, password?}' });
    const hostname = normaliseHostname(item.hostname);
    if (!hostname.ok) return errors.push({ field: at('hostname'), reason: item.hostname === undefined ? 'is required' : hostname.reason.replace(/; HTTP-01.*$/, '') });
    if (valid.some((v) => v.hostname === hostname.hostname) || errors.some((e) => e.reason === `repeats ${hostname.hostname}`)) {
      return errors.push({ field: at('hostname'), reason: `repeats ${hostname.hostname}` });
    }
    if (item.password !== undefined && typeof item.password !== 'string') return errors.push({ field: at('password'), reason: 'must be a string' });
    if (typeof item.privatekey !== 'string' || !item.privatekey.trim()) return errors.push({ field: at('privatekey'), reason: 'is required (PEM or base64 DER)' });
    if (typeof item.certificate !== 'string' || !item.certificate.trim()) return errors.push({ field: at('certificate'), reason: 'is required (PEM or base64 DER, leaf or full chain)' });
    const key = readKey(item.privatekey.trim(), item.password as string | undefined);
    if (typeof key === 'string') return errors.push({ field: at('privatekey'), reason: key });
    const certificates = readCertificates(item.certificate.trim());
    if (typeof certificates === 'string') return errors.push({ field: at('certificate'), reason: certificates });
    const leafIndex = certificates.findIndex((cert) => cert.checkPrivateKey(key));
    if (leafIndex < 0) return errors.push({ field: at('certificate'), reason: 'does not match privatekey' });
    const leaf = certificates[leafIndex];
    const problem = checkLeaf(leaf, hostname.hostname, now);
    if (problem) return errors.push({ field: at('certificate'), reason: problem });
    const chain = buildChain(leaf, certificates.filter((_, i) => i !== leafIndex));
    if (typeof chain === 'string') return errors.push({ field: at('certificate'), reason: chain });
    valid.push({ hostname: hostname.hostname, key, chain });
  });
  return errors.length ? { ok: false, errors } : { ok: true, value: valid };
}

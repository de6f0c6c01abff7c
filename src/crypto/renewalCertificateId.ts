import { asn1, fromDer, type Asn1 } from './asn1';

// The certificate identifier of ACME Renewal Information (RFC 9773 section 4.1).
const AUTHORITY_KEY_IDENTIFIER = '2.5.29.35';

const base64url = (bytes: Buffer): string => bytes.toString('base64url');

/** RFC 9773 section 4.1: base64url(keyIdentifier of the AKI) "." base64url(DER serial content octets). */
export function renewalCertificateId(authorityKeyIdentifier: Buffer, serialContentOctets: Buffer): string {
  return `${base64url(authorityKeyIdentifier)}.${base64url(serialContentOctets)}`;
}

const children = (node: Asn1): Asn1[] => (Array.isArray(node.value) ? node.value : []);
const bytesOf = (node: Asn1): Buffer => Buffer.from(typeof node.value === 'string' ? node.value : '', 'binary');

/**
 * The ARI certificate id of a DER certificate, or undefined when it has no authority key
 * identifier (then the CA cannot have issued it under RFC 5280 rules, and ARI does not apply).
 */
export function renewalCertificateIdOf(certificateDer: Buffer): string | undefined {
  const [tbs] = children(fromDer(certificateDer));
  const fields = children(tbs);
  // tbsCertificate: [0] version (explicit, optional), serialNumber, ..., [3] extensions.
  const hasVersion = fields[0]?.tagClass === asn1.Class.CONTEXT_SPECIFIC && fields[0].type === 0;
  const serial = fields[hasVersion ? 1 : 0];
  const extensions = fields.find((f) => f.tagClass === asn1.Class.CONTEXT_SPECIFIC && f.type === 3);
  if (!serial || !extensions) return undefined;
  for (const extension of children(children(extensions)[0] ?? asn1.create(0, 0, true, []))) {
    const [id, ...rest] = children(extension);
    if (!id || asn1.derToOid(id.value as string) !== AUTHORITY_KEY_IDENTIFIER) continue;
    const value = rest[rest.length - 1];
    // AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] IMPLICIT OCTET STRING OPTIONAL, ... }
    const keyIdentifier = children(fromDer(bytesOf(value))).find((f) => f.tagClass === asn1.Class.CONTEXT_SPECIFIC && f.type === 0);
    return keyIdentifier ? renewalCertificateId(bytesOf(keyIdentifier), bytesOf(serial)) : undefined;
  }
  return undefined;
}


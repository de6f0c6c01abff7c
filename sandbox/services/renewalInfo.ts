import { X509Certificate } from 'node:crypto';

/**
 * ACME Renewal Information (RFC 9773) for the sandbox CA, which Pebble 2.4 lacks (added in 2.6):
 * the ACME proxy records every certificate it hands out, answers GET renewalInfo/{certID}, and
 * checks the `replaces` member of newOrder (section 5). Tests move a certificate's window to ask
 * for an early renewal, as a CA does before a mass revocation.
 */
export interface SuggestedWindow {
  start: Date;
  end: Date;
}

interface IssuedCertificate {
  certificateId: string;
  hostnames: string[];
  account: string;
  notBefore: Date;
  notAfter: Date;
  /** The order id that replaced it, once a newOrder named it in `replaces`. */
  replacedBy?: string;
}

export interface Replacement {
  certificateId: string;
  orderId: string;
  hostnames: string[];
}

export type ReplacesProblem = { status: number; type: string; detail: string };

/** DER length at `offset`: [length, offset of the contents]. */
function readLength(der: Buffer, offset: number): [number, number] {
  const first = der[offset];
  if (first < 0x80) return [first, offset + 1];
  const size = first & 0x7f;
  return [der.readUIntBE(offset + 1, size), offset + 1 + size];
}

/**
 * Section 4.1's id, worked out here independently of the app's implementation (which walks the
 * ASN.1 tree): find the authorityKeyIdentifier extension's OID in the DER and read its [0]
 * keyIdentifier; take the serial from OpenSSL through node:crypto, restoring the sign octet DER has.
 */
export function certificateIdOf(pem: string): string | undefined {
  const x509 = new X509Certificate(pem);
  const der = x509.raw;
  const akiOid = Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x23]);
  let offset = der.indexOf(akiOid);
  if (offset < 0) return undefined;
  offset += akiOid.length;
  if (der[offset] === 0x01) offset += 3; // critical BOOLEAN
  if (der[offset] !== 0x04) return undefined; // extnValue OCTET STRING
  [, offset] = readLength(der, offset + 1);
  if (der[offset] !== 0x30) return undefined; // AuthorityKeyIdentifier SEQUENCE
  [, offset] = readLength(der, offset + 1);
  if (der[offset] !== 0x80) return undefined; // [0] IMPLICIT keyIdentifier
  const [length, start] = readLength(der, offset + 1);
  const keyIdentifier = der.subarray(start, start + length);
  let serialHex = x509.serialNumber.length % 2 ? `0${x509.serialNumber}` : x509.serialNumber;
  if (parseInt(serialHex.slice(0, 2), 16) >= 0x80) serialHex = `00${serialHex}`;
  return `${keyIdentifier.toString('base64url')}.${Buffer.from(serialHex, 'hex').toString('base64url')}`;
}

export class RenewalInfoRegistry {
  private readonly issued = new Map<string, IssuedCertificate>();
  private readonly orderStatus = new Map<string, string>();
  private readonly windows = new Map<string, SuggestedWindow>();
  readonly replacements: Replacement[] = [];

  /** A certificate chain the CA handed to `account`; the leaf comes first (RFC 8555 section 7.4.2). */
  recordIssued(chainPem: string, account: string): void {
    const leafPem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(chainPem)?.[0];
    if (!leafPem) return;
    const certificateId = certificateIdOf(leafPem);
    if (!certificateId || this.issued.has(certificateId)) return;
    const leaf = new X509Certificate(leafPem);
    const hostnames = (leaf.subjectAltName ?? '').split(', ').filter((n) => n.startsWith('DNS:')).map((n) => n.slice(4));
    this.issued.set(certificateId, { certificateId, hostnames, account, notBefore: new Date(leaf.validFrom), notAfter: new Date(leaf.validTo) });
  }

  recordOrderStatus(orderId: string, status: string): void {
    this.orderStatus.set(orderId, status);
  }

  /**
   * The window for a certificate: the one a test set, else about two thirds into its lifetime
   * with a width of 2% of it (Let's Encrypt's shape); undefined for a certificate it never issued.
   */
  windowFor(certificateId: string): SuggestedWindow | undefined {
    const certificate = this.issued.get(certificateId);
    if (!certificate) return undefined;
    const set = this.windows.get(certificateId);
    if (set) return set;
    const lifetime = certificate.notAfter.getTime() - certificate.notBefore.getTime();
    const ideal = certificate.notAfter.getTime() - lifetime / 3;
    return { start: new Date(ideal - lifetime / 100), end: new Date(ideal + lifetime / 100) };
  }

  /** Moves the window of every certificate issued for the hostname; returns their ids. */
  suggestWindow(hostname: string, window: SuggestedWindow): string[] {
    const ids = this.certificateIdsFor(hostname);
    for (const id of ids) this.windows.set(id, window);
    return ids;
  }

  certificateIdsFor(hostname: string): string[] {
    return [...this.issued.values()].filter((c) => c.hostnames.includes(hostname)).map((c) => c.certificateId);
  }

  /**
   * RFC 9773 section 5: the replaced certificate must be known, belong to the same account, share
   * an identifier with the order, and not be replaced already by an order that is not invalid
   * (409 alreadyReplaced).
   */
  checkReplaces(certificateId: string, account: string, identifiers: string[]): ReplacesProblem | undefined {
    const certificate = this.issued.get(certificateId);
    const malformed = (detail: string): ReplacesProblem => ({ status: 400, type: 'urn:ietf:params:acme:error:malformed', detail });
    if (!certificate) return malformed(`replaces names an unknown certificate ${certificateId}`);
    if (certificate.account !== account) return malformed('replaces names a certificate of another account');
    if (!certificate.hostnames.some((h) => identifiers.includes(h))) return malformed('replaces names a certificate with no identifier in common');
    const by = certificate.replacedBy;
    if (by && this.orderStatus.get(by) !== 'invalid') {
      return { status: 409, type: 'urn:ietf:params:acme:error:alreadyReplaced', detail: `certificate ${certificateId} is already replaced by order ${by}` };
    }
    return undefined;
  }

  recordReplacement(certificateId: string, orderId: string): void {
    const certificate = this.issued.get(certificateId);
    if (!certificate) return;
    certificate.replacedBy = orderId;
    this.replacements.push({ certificateId, orderId, hostnames: certificate.hostnames });
  }
}

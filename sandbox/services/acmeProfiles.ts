import { createPrivateKey, KeyObject, sign } from 'node:crypto';
import https from 'node:https';
import { Asn1, asn1, derBytes } from '../../src/crypto/asn1';

/**
 * ACME certificate profiles (draft-aaron-acme-profiles-01, "Automated Certificate Management
 * Environment (ACME) Profiles Extension"), which Pebble 2.4 lacks (profiles came in Pebble 2.7),
 * for the ACME proxy in front of it:
 * - the directory's `meta.profiles` maps each profile's name to a description;
 * - a newOrder naming a profile the CA does not advertise is refused with the draft's
 *   `urn:ietf:params:acme:error:invalidProfile` (400; Boulder answers the same for an unknown one);
 *   a newOrder naming none gets the CA's default profile;
 * - the order object echoes the `profile` it was created with.
 * Lifetimes are Let's Encrypt's (letsencrypt.org/docs/profiles): classic 90 days (here: Pebble's
 * own certificate, unchanged), tlsserver 45 days, shortlived 160 hours.
 *
 * Pebble cannot issue with a per-order lifetime (one global certificateValidityPeriod), so the
 * proxy re-signs the leaf of a profile with a lifetime: the same TBSCertificate with only notAfter
 * changed (serial, issuer, subject, key and extensions kept), signed with Pebble's intermediate key
 * (management API /intermediate-keys/0; every chain's intermediate shares that key and subject,
 * Pebble ca/ca.go New, so the leaf verifies under each alternate chain too).
 * Known difference from a real CA: Pebble does not know the re-signed certificate's DER, so
 * revoking a tlsserver or shortlived certificate through the sandbox fails with Pebble's "Unable to
 * find specified certificate" (wfe.go revokeCertificate compares the DER it issued).
 */
export interface ProfileSpec {
  description: string;
  /** The leaf's lifetime (notAfter - notBefore + 1 s, as Pebble's ca.go counts); undefined = Pebble's own certificate. */
  validitySeconds?: number;
}

export type ProfileSpecs = Record<string, ProfileSpec>;

const HOUR = 60 * 60;
const DAY = 24 * HOUR;

/** Let's Encrypt's profiles (letsencrypt.org/docs/profiles); its directory's descriptions are those pages' URLs. */
export const LETS_ENCRYPT_PROFILES: ProfileSpecs = {
  classic: { description: 'https://letsencrypt.org/docs/profiles#classic' },
  tlsserver: { description: 'https://letsencrypt.org/docs/profiles#tlsserver', validitySeconds: 45 * DAY },
  shortlived: { description: 'https://letsencrypt.org/docs/profiles#shortlived', validitySeconds: 160 * HOUR },
};

const SHA256_WITH_RSA = '1.2.840.113549.1.1.11';

export interface ProblemAnswer {
  status: number;
  type: string;
  detail: string;
}

const lastSegment = (path: string): string => path.split('/').filter(Boolean).pop() ?? '';

/** The proxy's profile state: which order and which certificate was made under which profile. */
export class ProfileGate {
  private readonly orderProfiles = new Map<string, string>();
  private readonly certificateProfiles = new Map<string, string>();
  private key?: Promise<KeyObject>;

  constructor(
    private readonly specs: ProfileSpecs,
    /** Pebble's management API (https) and the CA its TLS certificate chains to. */
    private readonly management: { url: string; caPem: string },
  ) {}

  /** The directory's meta with `profiles` {name: description} (draft section "Directory Metadata Fields"). */
  meta(meta: Record<string, unknown>): Record<string, unknown> {
    if (Object.keys(this.specs).length === 0) return meta;
    return { ...meta, profiles: Object.fromEntries(Object.entries(this.specs).map(([name, spec]) => [name, spec.description])) };
  }

  /** A newOrder's `profile` the CA does not advertise: the draft's invalidProfile problem. */
  refuseNewOrder(payload: Record<string, unknown> | undefined): ProblemAnswer | undefined {
    // A CA without profiles ignores the field (RFC 8555 section 7.4: unknown fields are ignored), as Pebble 2.4 does.
    if (payload?.profile === undefined || Object.keys(this.specs).length === 0) return undefined;
    const profile = payload.profile;
    if (typeof profile === 'string' && Object.hasOwn(this.specs, profile)) return undefined;
    return {
      status: 400,
      type: 'urn:ietf:params:acme:error:invalidProfile',
      detail: `profile ${JSON.stringify(profile)} is not one of this CA's profiles (${Object.keys(this.specs).join(', ')})`,
    };
  }

  /**
   * An order object as the client sees it: with its `profile` (draft section "Order Objects"), and
   * its certificate remembered under that profile. `orderUrl`: the order's path (newOrder: its Location).
   */
  order(orderUrl: string, body: Buffer, requestedProfile?: string): Buffer {
    const orderId = lastSegment(orderUrl);
    if (!orderId) return body;
    if (requestedProfile !== undefined) this.orderProfiles.set(orderId, requestedProfile);
    const profile = this.orderProfiles.get(orderId);
    if (profile === undefined) return body;
    const order = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    if (typeof order.certificate === 'string') this.certificateProfiles.set(lastSegment(order.certificate.replace(/\/alternate\/\d+$/, '')), profile);
    return Buffer.from(JSON.stringify({ ...order, profile }));
  }

  /** A certificate chain download (/certZ/<id>[/alternate/<n>]): the leaf re-signed with its profile's lifetime. */
  async certificate(path: string, pem: Buffer): Promise<Buffer> {
    const id = lastSegment(path.replace(/\/alternate\/\d+$/, ''));
    const profile = this.certificateProfiles.get(id);
    const validity = profile === undefined ? undefined : this.specs[profile]?.validitySeconds;
    if (validity === undefined) return pem;
    const blocks = pem.toString('utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];
    const [first, ...issuers] = blocks;
    if (first === undefined) return pem;
    const leaf = Buffer.from(first.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64');
    const resigned = withNotAfter(leaf, validity, await this.intermediateKey());
    return Buffer.from([toPem(resigned), ...issuers].join(''));
  }

  private intermediateKey(): Promise<KeyObject> {
    this.key ??= fetchText(`${this.management.url}/intermediate-keys/0`, this.management.caPem).then((pem) => createPrivateKey(pem));
    return this.key;
  }
}

/** The certificate with notAfter = notBefore + validity - 1 s (Pebble ca.go's count), re-signed; everything else kept. */
export function withNotAfter(der: Buffer, validitySeconds: number, key: KeyObject): Buffer {
  // decodeBitStrings off: the key and signature BIT STRINGs stay bytes, so the TBS re-encodes to the same DER.
  // Reason for the cast: @types/node-forge types the second argument as `strict` only; forge 1.x takes an options object.
  const certificate = (asn1.fromDer as unknown as (bytes: string, options: { decodeBitStrings: boolean }) => Asn1)(der.toString('binary'), { decodeBitStrings: false });
  const [tbs, algorithm] = certificate.value as Asn1[];
  const algorithmOid = asn1.derToOid(((algorithm.value as Asn1[])[0].value as string));
  if (algorithmOid !== SHA256_WITH_RSA) throw new Error(`re-signing supports sha256WithRSAEncryption only (Pebble's RSA intermediate), got ${algorithmOid}`);
  const fields = tbs.value as Asn1[];
  // RFC 5280 section 4.1: version [0] EXPLICIT (present in v3), serialNumber, signature, issuer, validity, ...
  const hasVersion = fields[0].tagClass === asn1.Class.CONTEXT_SPECIFIC;
  const validity = fields[hasVersion ? 4 : 3].value as Asn1[];
  const notBefore = readTime(validity[0]);
  validity[1] = timeNode(new Date(notBefore.getTime() + (validitySeconds - 1) * 1000));
  const tbsDer = derBytes(tbs);
  const signature = sign('sha256', tbsDer, key);
  const bitString = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BITSTRING, false, `\u0000${signature.toString('binary')}`);
  return derBytes(asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [tbs, algorithm, bitString]));
}

function readTime(node: Asn1): Date {
  return node.type === asn1.Type.UTCTIME ? asn1.utcTimeToDate(node.value as string) : asn1.generalizedTimeToDate(node.value as string);
}

/** RFC 5280 section 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050. */
function timeNode(date: Date): Asn1 {
  return date.getUTCFullYear() < 2050
    ? asn1.create(asn1.Class.UNIVERSAL, asn1.Type.UTCTIME, false, asn1.dateToUtcTime(date))
    : asn1.create(asn1.Class.UNIVERSAL, asn1.Type.GENERALIZEDTIME, false, asn1.dateToGeneralizedTime(date));
}

function toPem(der: Buffer): string {
  return `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;
}

function fetchText(url: string, caPem: string): Promise<string> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca: caPem }, (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () => (response.statusCode === 200 ? resolve(body) : reject(new Error(`${url} answered ${response.statusCode}`))));
      })
      .on('error', reject);
  });
}

import { createHash } from 'node:crypto';
import { ChallengeType, ChallengeTypes, PROFILE_NAME } from './config';
import { normaliseHostname } from './hostname';

/** A field-level reason a request is refused, e.g. {field: "hostnames[0].hostname", reason: "..."}. */
export interface FieldError {
  field: string;
  reason: string;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * `{"hostnames":[{"hostname":"..."}]}` with between 1 and `max` items, each a valid, distinct
 * hostname after normalisation. Every problem is reported, not just the first.
 */
export function parseHostnameList(body: unknown, max: number): Parsed<string[]> {
  const entries = parseHostnameEntries(body, max, 'http-01');
  return entries.ok ? { ok: true, value: entries.value.map((e) => e.hostname) } : entries;
}

/** One hostname of a request, with the challenge type it names (the contract's entries name none). */
export interface HostnameEntry {
  hostname: string;
  challengeType?: ChallengeType;
  /** The ACME profile it names (draft-aaron-acme-profiles); none: AcmeProfile, or the CA's default. */
  profile?: string;
  /** Entries with the same group share one certificate (the multiple-hostname starter). */
  group?: string;
}

/**
 * A multi-site listener holds at most 5 host names (Learn, "Application Gateway multiple site
 * hosting"), and a certificate for several names is bound to one such listener; CAs allow more
 * (Let's Encrypt: 100 names per certificate), so the gateway's limit is the one that binds.
 */
export const MAX_NAMES_PER_CERTIFICATE = 5;
const GROUP = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * As parseHostnameList, keeping each entry's optional `challengeType` (`http-01` or `dns-01`);
 * an entry proven by DNS-01 (its own type, or `defaultType`) may be a wildcard.
 */
export function parseHostnameEntries(body: unknown, max: number, defaultType: ChallengeType): Parsed<HostnameEntry[]> {
  if (!isObject(body)) return { ok: false, errors: [{ field: '(body)', reason: 'must be a JSON object' }] };
  const list = body.hostnames;
  if (list === undefined) return { ok: false, errors: [{ field: 'hostnames', reason: 'is required' }] };
  if (!Array.isArray(list)) return { ok: false, errors: [{ field: 'hostnames', reason: 'must be an array' }] };
  if (list.length === 0) return { ok: false, errors: [{ field: 'hostnames', reason: 'must list at least one hostname' }] };
  if (list.length > max) {
    return { ok: false, errors: [{ field: 'hostnames', reason: `lists ${list.length} hostnames; at most ${max} are allowed per request` }] };
  }
  const errors: FieldError[] = [];
  const hostnames: string[] = [];
  const entries: HostnameEntry[] = [];
  list.forEach((item, index) => {
    const field = `hostnames[${index}].hostname`;
    if (!isObject(item)) {
      errors.push({ field: `hostnames[${index}]`, reason: 'must be an object like {"hostname": "www.example.com"}' });
      return;
    }
    const challengeType = item.challengeType;
    const group = item.group;
    const profile = item.profile;
    if (profile !== undefined && (typeof profile !== 'string' || !PROFILE_NAME.test(profile))) {
      errors.push({ field: `hostnames[${index}].profile`, reason: 'must be the name of a profile the CA lists (meta.profiles in its directory), like tlsserver' });
    }
    if (group !== undefined && (typeof group !== 'string' || !GROUP.test(group))) {
      errors.push({ field: `hostnames[${index}].group`, reason: 'must be a name of 1 to 64 letters, digits, dots, dashes or underscores, starting with a letter or digit' });
    }
    if (challengeType !== undefined && !ChallengeTypes.includes(challengeType as ChallengeType)) {
      errors.push({ field: `hostnames[${index}].challengeType`, reason: `must be one of ${ChallengeTypes.join(', ')}` });
    }
    const effectiveType = ChallengeTypes.includes(challengeType as ChallengeType) ? (challengeType as ChallengeType) : defaultType;
    const verdict = normaliseHostname(item.hostname, { wildcard: effectiveType === 'dns-01' });
    if (!verdict.ok) {
      errors.push({ field, reason: item.hostname === undefined ? 'is required' : verdict.reason });
    } else if (hostnames.includes(verdict.hostname)) {
      errors.push({ field, reason: `repeats ${verdict.hostname}` });
    } else {
      hostnames.push(verdict.hostname);
      entries.push({
        hostname: verdict.hostname,
        ...(challengeType === undefined ? {} : { challengeType: challengeType as ChallengeType }),
        ...(typeof profile === 'string' ? { profile } : {}),
        ...(typeof group === 'string' ? { group } : {}),
      });
    }
  });
  return errors.length ? { ok: false, errors } : { ok: true, value: entries };
}

/** One certificate to issue: its first name (the subject's, and its identity here) and every name it holds. */
export interface CertificateRequest {
  hostname: string;
  /** `hostname` first; more than one only for a group. */
  names: string[];
  challengeType: ChallengeType;
  /** The profile its order names (the entry's, else the default given); absent: none sent. */
  profile?: string;
}

/**
 * The certificates a list of entries asks for: one per entry, or one per group (in the order the
 * group's first entry comes, names in request order). A group holds 1 to MAX_NAMES_PER_CERTIFICATE
 * names proven by one challenge type.
 */
export function certificatesOf(entries: HostnameEntry[], defaultType: ChallengeType, defaultProfile?: string): Parsed<CertificateRequest[]> {
  const errors: FieldError[] = [];
  const certificates: CertificateRequest[] = [];
  const byGroup = new Map<string, { certificate: CertificateRequest; firstIndex: number }>();
  entries.forEach((entry, index) => {
    const challengeType = entry.challengeType ?? defaultType;
    const profile = entry.profile ?? defaultProfile;
    const grouped = entry.group === undefined ? undefined : byGroup.get(entry.group);
    if (!grouped) {
      const certificate: CertificateRequest = { hostname: entry.hostname, names: [entry.hostname], challengeType, ...(profile === undefined ? {} : { profile }) };
      certificates.push(certificate);
      if (entry.group !== undefined) byGroup.set(entry.group, { certificate, firstIndex: index });
      return;
    }
    const { certificate, firstIndex } = grouped;
    if (certificate.challengeType !== challengeType) {
      errors.push({ field: `hostnames[${index}].challengeType`, reason: `is ${challengeType}, but group "${entry.group}" is proven by ${certificate.challengeType} (hostnames[${firstIndex}]): one certificate, one challenge type` });
    } else if (certificate.profile !== profile) {
      errors.push({ field: `hostnames[${index}].profile`, reason: `is ${profile ?? '(none)'}, but group "${entry.group}" is ordered with profile ${certificate.profile ?? '(none)'} (hostnames[${firstIndex}]): one certificate, one profile` });
    } else if (certificate.names.length >= MAX_NAMES_PER_CERTIFICATE) {
      errors.push({ field: `hostnames[${index}].group`, reason: `group "${entry.group}" already has ${MAX_NAMES_PER_CERTIFICATE} names, the most one gateway listener holds` });
    } else {
      certificate.names.push(entry.hostname);
    }
  });
  // A group with a wildcard is ordered among the gateway's rules as a wildcard (gatewayPlan.ts
  // firstPriorityFor): a name outside that wildcard's domain could then be shadowed by another
  // wildcard rule, so such a group is refused.
  for (const certificate of certificates) {
    const wildcard = certificate.names.find((n) => n.startsWith('*.'));
    const domain = wildcard?.slice(2);
    const outside = domain ? certificate.names.find((n) => n !== domain && !n.endsWith(`.${domain}`)) : undefined;
    if (outside) {
      const index = entries.findIndex((e) => e.hostname === outside);
      errors.push({ field: `hostnames[${index}].group`, reason: `puts ${outside} in one certificate with ${wildcard}; a certificate with a wildcard may hold only names within ${domain} (the gateway orders its rule as a wildcard's)` });
    }
  }
  return errors.length ? { ok: false, errors } : { ok: true, value: certificates };
}

/** The single-hostname endpoint: exactly one item. */
export function parseSingleHostname(body: unknown): Parsed<string> {
  const entry = parseSingleEntry(body, 'http-01');
  return entry.ok ? { ok: true, value: entry.value.hostname } : entry;
}

export function parseSingleEntry(body: unknown, defaultType: ChallengeType): Parsed<HostnameEntry> {
  if (isObject(body) && Array.isArray(body.hostnames) && body.hostnames.length > 1) {
    return {
      ok: false,
      errors: [
        {
          field: 'hostnames',
          reason: `lists ${body.hostnames.length} hostnames; this endpoint takes exactly one: use AddMultipleCertificatesFunctions_HttpStart for several`,
        },
      ],
    };
  }
  const parsed = parseHostnameEntries(body, 1, defaultType);
  return parsed.ok ? { ok: true, value: parsed.value[0] } : parsed;
}

/** The Durable client refuses longer instance ids (DurableClient.cs, MaxInstanceIdLength). */
const MAX_INSTANCE_ID = 256;

/**
 * `<prefix><hostname>`, or for names too long for that, the prefix, the name cut short and a
 * hash of the whole name (deterministic, and distinct for distinct names).
 */
function operationInstanceId(prefix: string, hostname: string): string {
  const plain = `${prefix}${hostname}`;
  if (plain.length <= MAX_INSTANCE_ID) return plain;
  const hash = createHash('sha256').update(hostname).digest('hex').slice(0, 32);
  return `${prefix}${hostname.slice(0, MAX_INSTANCE_ID - prefix.length - hash.length - 1)}~${hash}`;
}

/** One instance per hostname at a time: the id derives from the hostname (already normalised). */
export function instanceIdFor(hostname: string): string {
  return operationInstanceId('certificate-', hostname);
}

/** A hostname's removal runs under its own id, so that it is seen as busy meanwhile. */
export function removalInstanceIdFor(hostname: string): string {
  return operationInstanceId('removal-', hostname);
}

/** A hostname's revocation runs under its own id too (a replacement it issues runs as `instanceIdFor`). */
export function revocationInstanceIdFor(hostname: string): string {
  return operationInstanceId('revocation-', hostname);
}

/** The timer's renewal run: one per timer run (its time, to the second). */
export function renewalRunInstanceId(now: Date): string {
  return `renewals-${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}`;
}

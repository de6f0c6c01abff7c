import { createHash } from 'node:crypto';
import { ChallengeType, ChallengeTypes } from './config';
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
}

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
      entries.push(challengeType === undefined ? { hostname: verdict.hostname } : { hostname: verdict.hostname, challengeType: challengeType as ChallengeType });
    }
  });
  return errors.length ? { ok: false, errors } : { ok: true, value: entries };
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

/** The timer's renewal run: one per timer run (its time, to the second). */
export function renewalRunInstanceId(now: Date): string {
  return `renewals-${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}`;
}

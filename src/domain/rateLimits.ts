/**
 * The CA's rate limits, counted by the app before it asks (pure logic; the ledger is stored in the
 * state container by src/azure/rateLimitLedger.ts). Let's Encrypt's limits as its docs state them
 * (https://letsencrypt.org/docs/rate-limits/) and as Boulder evaluates them:
 * - each limit is a token bucket evaluated with GCRA (boulder ratelimits/gcra.go `decide`): a
 *   bucket's state is its theoretical arrival time (TAT); a request of cost 1 moves it
 *   max(TAT, now) + period/count ahead and is allowed while that stays within count * period/count
 *   of now; a refused request may retry when the TAT minus the burst has passed;
 * - at newOrder (boulder ratelimits/transaction.go NewOrderLimitTransactions): NewOrdersPerAccount
 *   (spent), FailedAuthorizationsPerDomainPerAccount for each identifier, CertificatesPerDomain for
 *   each registered domain (Public Suffix List) and CertificatesPerFQDNSet (checked);
 *   a renewal (the exact set issued in the last 120 days, boulder wfe2/wfe.go NewOrder) skips the
 *   first and third; an ARI renewal (`replaces`, RFC 9773) skips every one;
 * - at issuance (boulder ra/ra.go countCertificateIssued): CertificatesPerDomain unless a renewal,
 *   and CertificatesPerFQDNSet are spent; a failed authorization spends its identifier's bucket.
 *
 * The app must never be kinder than the CA, though it sees the CA's state only through its own
 * requests. So it counts what the CA will count before the CA does: an order's certificate is
 * counted (per domain and per exact set) when the order is placed, counted again from the moment
 * of finalize (the CA counts at issuance, later), and given back only when the order can no longer
 * issue (an authorization failed). Every count here is therefore at least the CA's.
 */
import { createHash } from 'node:crypto';
import { getDomain } from 'tldts';

export const RateLimitNames = ['NewOrdersPerAccount', 'CertificatesPerDomain', 'CertificatesPerFQDNSet', 'FailedAuthorizationsPerDomainPerAccount'] as const;
export type RateLimitName = (typeof RateLimitNames)[number];

export interface RateLimit {
  count: number;
  periodMs: number;
}

/** Each limit, or null where it is not counted. */
export type RateLimits = Record<RateLimitName, RateLimit | null>;

const HOUR = 3600_000;
const DAY = 24 * HOUR;

/** https://letsencrypt.org/docs/rate-limits/ (300 / 3 h, 50 / 7 d, 5 / 7 d, 5 / 1 h). */
export const LETS_ENCRYPT_RATE_LIMITS: RateLimits = {
  NewOrdersPerAccount: { count: 300, periodMs: 3 * HOUR },
  CertificatesPerDomain: { count: 50, periodMs: 7 * DAY },
  CertificatesPerFQDNSet: { count: 5, periodMs: 7 * DAY },
  FailedAuthorizationsPerDomainPerAccount: { count: 5, periodMs: HOUR },
};

/**
 * boulder wfe2/wfe.go NewOrder: the exact set issued within 120 days makes an order a renewal. The
 * app learns of an issuance after the CA made it, so it looks back a day less.
 */
export const RENEWAL_LOOKBACK_MS = 119 * DAY;

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: HOUR, d: DAY };

/**
 * The setting AcmeRateLimits: `LetsEncrypt` (the default), `None` (a private CA without limits),
 * or Let's Encrypt's limits with some replaced: `CertificatesPerDomain=20/7d, NewOrdersPerAccount=none`
 * (count/period with s, m, h or d). Returns the reason when malformed.
 */
export function parseRateLimits(value: string | undefined): RateLimits | { invalid: string } {
  const text = (value ?? '').trim();
  if (!text || text.toLowerCase() === 'letsencrypt') return { ...LETS_ENCRYPT_RATE_LIMITS };
  if (text.toLowerCase() === 'none') return { NewOrdersPerAccount: null, CertificatesPerDomain: null, CertificatesPerFQDNSet: null, FailedAuthorizationsPerDomainPerAccount: null };
  const limits: RateLimits = { ...LETS_ENCRYPT_RATE_LIMITS };
  for (const part of text.split(/[,;]/).map((p) => p.trim()).filter(Boolean)) {
    const match = /^(\w+)\s*=\s*(?:(none)|(\d+)\s*\/\s*(\d+)\s*([smhd]))$/i.exec(part);
    const name = RateLimitNames.find((n) => n.toLowerCase() === match?.[1].toLowerCase());
    if (!match || !name) {
      return { invalid: `must be LetsEncrypt, None, or entries like CertificatesPerDomain=50/7d (names: ${RateLimitNames.join(', ')}; got "${part}")` };
    }
    if (match[2]) {
      limits[name] = null;
      continue;
    }
    const count = Number(match[3]);
    const periodMs = Number(match[4]) * UNITS[match[5].toLowerCase()];
    if (count < 1 || periodMs < 1000) return { invalid: `needs a count of 1 or more and a period of 1s or more (got "${part}")` };
    limits[name] = { count, periodMs };
  }
  return limits;
}

/**
 * Bucket state: key -> theoretical arrival time (ms since the epoch); exact sets issued -> when;
 * failed authorizations counted (their URLs' hashes) -> when, so that each counts once.
 */
export interface RateLimitLedger {
  tat: Record<string, number>;
  issuedSets: Record<string, number>;
  failedAuthorizations?: Record<string, number>;
}

export const emptyLedger = (): RateLimitLedger => ({ tat: {}, issuedSets: {}, failedAuthorizations: {} });

/** A failed authorization is remembered this long (Let's Encrypt's authorizations live at most 30 days). */
const FAILED_AUTHORIZATION_MEMORY_MS = 31 * DAY;

const emission = (limit: RateLimit): number => Math.round(limit.periodMs / limit.count);

/** GCRA for cost 1 (boulder ratelimits/gcra.go `decide`): whether allowed, the new TAT, and when a refused request may come. */
export function decide(limit: RateLimit, tat: number | undefined, now: number): { allowed: boolean; newTat: number; retryAt: number } {
  const start = Math.max(tat ?? now, now);
  const newTat = start + emission(limit);
  const burstOffset = emission(limit) * limit.count;
  const allowed = newTat - burstOffset <= now;
  return { allowed, newTat, retryAt: newTat - burstOffset };
}

/** boulder ratelimits/gcra.go `maybeRefund`: gives one request back, never to before now. */
function refund(limit: RateLimit, tat: number | undefined, now: number): number {
  return Math.max(now, Math.max(tat ?? now, now) - emission(limit));
}

const hash = (text: string): string => createHash('sha256').update(text).digest('hex').slice(0, 32);

/** The registered domain of a name (Public Suffix List; a wildcard counts for its base name), as Let's Encrypt computes it. */
export function registeredDomain(name: string): string {
  const base = name.toLowerCase().replace(/^\*\./, '');
  return getDomain(base, { allowPrivateDomains: false }) ?? base;
}

/** The exact set of identifiers, order and case aside (boulder core.HashIdentifiers). */
export const fqdnSetKey = (names: string[]): string => hash([...new Set(names.map((n) => n.toLowerCase()))].sort().join(','));

const accountKey = (account: string): string => hash(account);

export interface BucketRef {
  limit: RateLimitName;
  key: string;
  /** What the bucket counts, for messages (a domain, a set of names, the account). */
  subject: string;
}

function orderBuckets(account: string, names: string[]): { perAccount: BucketRef; failed: BucketRef[]; domains: BucketRef[]; set: BucketRef } {
  const domains = [...new Set(names.map(registeredDomain))];
  return {
    perAccount: { limit: 'NewOrdersPerAccount', key: newOrderKey(account), subject: 'this ACME account' },
    failed: [...new Set(names.map((n) => n.toLowerCase()))].map((name) => failedBucket(account, name)),
    domains: domains.map((domain) => ({ limit: 'CertificatesPerDomain', key: `CertificatesPerDomain:${domain}`, subject: domain })),
    set: { limit: 'CertificatesPerFQDNSet', key: `CertificatesPerFQDNSet:${fqdnSetKey(names)}`, subject: [...names].sort().join(', ') },
  };
}

function failedBucket(account: string, name: string): BucketRef {
  const base = name.toLowerCase().replace(/^\*\./, '');
  return { limit: 'FailedAuthorizationsPerDomainPerAccount', key: `FailedAuthorizationsPerDomainPerAccount:${accountKey(account)}:${base}`, subject: base };
}

export interface RateLimitRefusal {
  limit: RateLimitName;
  subject: string;
  count: number;
  periodMs: number;
  /** When one more request fits (UTC). */
  freeAt: Date;
}

export type OrderDecision =
  | { ok: true; ledger: RateLimitLedger; /** The per-domain and exact-set buckets counted for this order's certificate. */ pendingKeys: string[]; exempt: 'ari' | 'renewal' | null }
  | { ok: false; refusal: RateLimitRefusal };

const formatPeriod = (ms: number): string => (ms % DAY === 0 ? `${ms / DAY} d` : ms % HOUR === 0 ? `${ms / HOUR} h` : ms % 60_000 === 0 ? `${ms / 60_000} min` : `${ms / 1000} s`);

/** The detail of AcmeRateLimitWouldBeExceeded: the limit, its subject, and when it frees up. */
export function describeRefusal(refusal: RateLimitRefusal): string {
  return `The order was not sent: it would exceed the CA's ${refusal.limit} limit (${refusal.count} per ${formatPeriod(refusal.periodMs)}) for ${refusal.subject}; it frees up at ${refusal.freeAt.toISOString()}.`;
}

/** Drops buckets that are full again and exact sets older than the renewal window: the ledger stays small. */
export function pruned(ledger: RateLimitLedger, now: number): RateLimitLedger {
  const tat = Object.fromEntries(Object.entries(ledger.tat).filter(([, at]) => at > now));
  const issuedSets = Object.fromEntries(Object.entries(ledger.issuedSets).filter(([, at]) => now - at < RENEWAL_LOOKBACK_MS));
  const failedAuthorizations = Object.fromEntries(Object.entries(ledger.failedAuthorizations ?? {}).filter(([, at]) => now - at < FAILED_AUTHORIZATION_MEMORY_MS));
  return { tat, issuedSets, failedAuthorizations };
}

/**
 * Before newOrder: refuses with the first limit that would be exceeded, or returns the ledger with
 * this order counted. `ari`: the order carries `replaces` to a CA that offers ARI.
 */
export function reserveNewOrder(ledger: RateLimitLedger, limits: RateLimits, request: { account: string; names: string[]; ari: boolean; now: number }): OrderDecision {
  const { account, names, ari, now } = request;
  const current = pruned(ledger, now);
  if (ari) return { ok: true, ledger: current, pendingKeys: [], exempt: 'ari' };
  const buckets = orderBuckets(account, names);
  const renewal = current.issuedSets[fqdnSetKey(names)] !== undefined;
  const checks: BucketRef[] = [...(renewal ? [] : [buckets.perAccount]), ...buckets.failed, ...(renewal ? [] : buckets.domains), buckets.set];
  for (const bucket of checks) {
    const limit = limits[bucket.limit];
    if (!limit) continue;
    const decision = decide(limit, current.tat[bucket.key], now);
    if (!decision.allowed) {
      return { ok: false, refusal: { limit: bucket.limit, subject: bucket.subject, count: limit.count, periodMs: limit.periodMs, freeAt: new Date(decision.retryAt) } };
    }
  }
  // Spent now: the order itself, and (ahead of the CA, which counts at issuance) its certificate.
  const spend: BucketRef[] = [...(renewal ? [] : [buckets.perAccount]), ...(renewal ? [] : buckets.domains), buckets.set];
  const tat = { ...current.tat };
  const pendingKeys: string[] = [];
  for (const bucket of spend) {
    const limit = limits[bucket.limit];
    if (!limit) continue;
    tat[bucket.key] = decide(limit, tat[bucket.key], now).newTat;
    if (bucket.limit !== 'NewOrdersPerAccount') pendingKeys.push(bucket.key);
  }
  return { ok: true, ledger: { ...current, tat }, pendingKeys, exempt: renewal ? 'renewal' : null };
}

const limitOfKey = (key: string): RateLimitName => key.split(':')[0] as RateLimitName;

/**
 * Right before finalize: the certificate is counted again from now (the CA counts it at issuance,
 * after this), so a count made at newOrder that has since drained is never less than the CA's.
 */
export function countIssuance(ledger: RateLimitLedger, limits: RateLimits, pendingKeys: string[], now: number): RateLimitLedger {
  const tat = { ...ledger.tat };
  for (const key of pendingKeys) {
    const limit = limits[limitOfKey(key)];
    if (!limit) continue;
    tat[key] = decide(limit, refund(limit, tat[key], now), now).newTat;
  }
  return { ...ledger, tat };
}

/** The certificate was issued (downloaded): its exact set makes the next order for it a renewal. Only then: an order that failed at finalize issued nothing. */
export function rememberIssuedSet(ledger: RateLimitLedger, names: string[], now: number): RateLimitLedger {
  return { ...ledger, issuedSets: { ...ledger.issuedSets, [fqdnSetKey(names)]: now } };
}

/**
 * An authorization failed: its identifier's failed-validation bucket is spent (as the CA spends
 * it), and the order can no longer issue, so its certificate's counts are given back.
 */
export function countFailedAuthorization(
  ledger: RateLimitLedger,
  limits: RateLimits,
  request: { account: string; identifier: string; pendingKeys: string[]; authorizationUrl: string; orderUrl?: string; now: number },
): RateLimitLedger {
  const { account, identifier, authorizationUrl, orderUrl, now } = request;
  const seen = hash(authorizationUrl);
  if (ledger.failedAuthorizations?.[seen] !== undefined) return ledger;
  // The order's certificate is given back once, however many of its authorizations failed.
  const order = orderUrl ? hash(`order:${orderUrl}`) : undefined;
  const pendingKeys = order && ledger.failedAuthorizations?.[order] !== undefined ? [] : request.pendingKeys;
  const tat = { ...ledger.tat };
  const failed = failedBucket(account, identifier);
  const failedLimit = limits.FailedAuthorizationsPerDomainPerAccount;
  if (failedLimit) tat[failed.key] = decide(failedLimit, tat[failed.key], now).newTat;
  for (const key of pendingKeys) {
    const limit = limits[limitOfKey(key)];
    if (limit) tat[key] = refund(limit, tat[key], now);
  }
  return { ...ledger, tat, failedAuthorizations: { ...ledger.failedAuthorizations, [seen]: now, ...(order ? { [order]: now } : {}) } };
}

/** The per-account new-order bucket of an account (spent at newOrder unless the order is a renewal). */
export const newOrderKey = (account: string): string => `NewOrdersPerAccount:${accountKey(account)}`;

/**
 * A newOrder that did not go through: what its reservation spent is given back. The certificate's
 * buckets always (the CA counts those at issuance only); the account's new-order token only when
 * `orderNotCreated` (the CA answered with a problem: Boulder refunds NewOrdersPerAccount when no
 * order is created, wfe2/wfe.go NewOrder), never after a network error, where it may have been.
 */
export function releaseReservation(ledger: RateLimitLedger, limits: RateLimits, request: { account: string; pendingKeys: string[]; orderNotCreated: boolean; now: number }): RateLimitLedger {
  const { account, pendingKeys, orderNotCreated, now } = request;
  const keys = [...pendingKeys, ...(orderNotCreated ? [newOrderKey(account)] : [])];
  const tat = { ...ledger.tat };
  for (const key of keys) {
    const limit = limits[limitOfKey(key)];
    if (limit && tat[key] !== undefined) tat[key] = refund(limit, tat[key], now);
  }
  return { ...ledger, tat };
}

/** Whether any limit is counted at all (AcmeRateLimits=None turns the accounting off). */
export const countsAnything = (limits: RateLimits): boolean => RateLimitNames.some((name) => limits[name] !== null);

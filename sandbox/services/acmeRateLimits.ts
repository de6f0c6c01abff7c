/**
 * Let's Encrypt's rate limits in front of Pebble (which has none), as Boulder enforces them, for
 * the ACME proxy (acmeProxy.ts). Sources: https://letsencrypt.org/docs/rate-limits/ and Boulder:
 * - every limit is a GCRA token bucket (ratelimits/gcra.go `decide`): emission interval
 *   period/count, burst count; a refused request's Retry-After is when the bucket has room again;
 * - newOrder (wfe2/wfe.go NewOrder, ratelimits/transaction.go NewOrderLimitTransactions): an ARI
 *   renewal (a `replaces` the CA accepted) is checked against nothing; otherwise
 *   NewOrdersPerAccount is spent (given back if the order is not created), and checked only:
 *   FailedAuthorizationsPerDomainPerAccount per identifier, CertificatesPerDomain per registered
 *   domain (Public Suffix List) and CertificatesPerFQDNSet; a renewal (the exact set was issued in
 *   the last 120 days, by anyone) skips NewOrdersPerAccount and CertificatesPerDomain;
 * - issuance (ra/ra.go countCertificateIssued): CertificatesPerDomain (not for a renewal) and
 *   CertificatesPerFQDNSet are spent;
 * - a failed authorization spends its identifier's FailedAuthorizationsPerDomainPerAccount
 *   (ra/ra.go, on a failed validation; here when the failure is first served, never earlier);
 * - refused with 429 `urn:ietf:params:acme:error:rateLimited`, a Retry-After and a detail naming
 *   the limit (web/probs.go RateLimited; RFC 8555 section 6.6).
 * Time is wall time (`now`, injectable): the app's accounting runs in activities on wall time too;
 * the durable host's virtual clock moves only orchestration timers.
 */
import { createHash } from 'node:crypto';
import { getDomain } from 'tldts';

export const SANDBOX_RATE_LIMIT_NAMES = ['NewOrdersPerAccount', 'CertificatesPerDomain', 'CertificatesPerFQDNSet', 'FailedAuthorizationsPerDomainPerAccount'] as const;
export type SandboxRateLimitName = (typeof SANDBOX_RATE_LIMIT_NAMES)[number];
export type SandboxRateLimits = Record<SandboxRateLimitName, { count: number; periodMs: number } | null>;

const HOUR = 3600_000;
const DAY = 24 * HOUR;

/**
 * https://letsencrypt.org/docs/rate-limits/. Written here again on purpose, not imported from
 * src/domain/rateLimits.ts: the stand-in CA is an independent model of Boulder, so an app that
 * miscounts is refused by it instead of agreeing with itself.
 */
export const LETS_ENCRYPT_LIMITS: SandboxRateLimits = {
  NewOrdersPerAccount: { count: 300, periodMs: 3 * HOUR },
  CertificatesPerDomain: { count: 50, periodMs: 7 * DAY },
  CertificatesPerFQDNSet: { count: 5, periodMs: 7 * DAY },
  FailedAuthorizationsPerDomainPerAccount: { count: 5, periodMs: HOUR },
};

/** wfe2/wfe.go NewOrder: FQDNSetTimestampsForWindow over 120 days decides a renewal. */
const RENEWAL_WINDOW_MS = 120 * DAY;

/** Where each limit is documented (the detail links it, as Boulder's do). */
const DOC_ANCHORS: Record<SandboxRateLimitName, string> = {
  NewOrdersPerAccount: 'new-orders-per-account',
  CertificatesPerDomain: 'new-certificates-per-registered-domain',
  CertificatesPerFQDNSet: 'new-certificates-per-exact-set-of-identifiers',
  FailedAuthorizationsPerDomainPerAccount: 'authorization-failures-per-identifier-per-account',
};

export interface RateLimitedAnswer {
  limit: SandboxRateLimitName;
  kid: string;
  identifiers: string[];
  retryAfterSeconds: number;
  detail: string;
}

export type NewOrderVerdict = { allowed: true; commit: (created: boolean) => void } | { allowed: false; status: 429; type: string; detail: string; retryAfterSeconds: number };

export class AcmeRateLimiter {
  private readonly tat = new Map<string, number>();
  /** Exact set -> when it was last issued. */
  private readonly issuedSets = new Map<string, number>();
  private readonly countedOrders = new Set<string>();
  private readonly countedAuthorizations = new Set<string>();
  /** For tests: every rateLimited answer, in order. */
  readonly answers: RateLimitedAnswer[] = [];

  constructor(
    private readonly limits: SandboxRateLimits,
    private readonly now: () => number = Date.now,
  ) {}

  private decide(name: SandboxRateLimitName, key: string): { allowed: boolean; newTat: number; retryIn: number } | undefined {
    const limit = this.limits[name];
    if (!limit) return undefined;
    const now = this.now();
    const interval = Math.round(limit.periodMs / limit.count);
    const newTat = Math.max(this.tat.get(key) ?? now, now) + interval;
    const difference = now - (newTat - interval * limit.count);
    return { allowed: difference >= 0, newTat, retryIn: Math.max(0, -difference) };
  }

  private spend(name: SandboxRateLimitName, key: string): void {
    const decision = this.decide(name, key);
    if (decision) this.tat.set(key, decision.newTat);
  }

  private refund(name: SandboxRateLimitName, key: string): void {
    const limit = this.limits[name];
    if (!limit) return;
    const now = this.now();
    this.tat.set(key, Math.max(now, Math.max(this.tat.get(key) ?? now, now) - Math.round(limit.periodMs / limit.count)));
  }

  private isRenewal(names: string[]): boolean {
    const issued = this.issuedSets.get(setKey(names));
    return issued !== undefined && this.now() - issued < RENEWAL_WINDOW_MS;
  }

  /** A newOrder from account `kid` for `identifiers`; `ari`: its `replaces` was accepted. */
  newOrder(kid: string, identifiers: string[], ari: boolean): NewOrderVerdict {
    if (ari) return { allowed: true, commit: () => undefined };
    const renewal = this.isRenewal(identifiers);
    const checks: [SandboxRateLimitName, string, string][] = [];
    if (!renewal) checks.push(['NewOrdersPerAccount', `orders:${kid}`, 'this account']);
    for (const name of new Set(identifiers.map(baseName))) checks.push(['FailedAuthorizationsPerDomainPerAccount', `failed:${kid}:${name}`, name]);
    if (!renewal) for (const domain of new Set(identifiers.map(registeredDomain))) checks.push(['CertificatesPerDomain', `domain:${domain}`, domain]);
    checks.push(['CertificatesPerFQDNSet', `set:${setKey(identifiers)}`, identifiers.join(', ')]);
    for (const [name, key, subject] of checks) {
      const decision = this.decide(name, key);
      if (decision && !decision.allowed) {
        const limit = this.limits[name] as { count: number; periodMs: number };
        const retryAfterSeconds = Math.max(1, Math.ceil(decision.retryIn / 1000));
        const retryAt = new Date(this.now() + decision.retryIn).toISOString();
        const detail = `too many requests under ${name} (${limit.count} per ${limit.periodMs / 1000}s) for ${subject}: retry after ${retryAt}: see https://letsencrypt.org/docs/rate-limits/#${DOC_ANCHORS[name]}`;
        this.answers.push({ limit: name, kid, identifiers, retryAfterSeconds, detail });
        return { allowed: false, status: 429, type: 'urn:ietf:params:acme:error:rateLimited', detail, retryAfterSeconds };
      }
    }
    // Only NewOrdersPerAccount is spent at newOrder; given back when the order is not created (wfe2 refundLimits).
    if (!renewal) this.spend('NewOrdersPerAccount', `orders:${kid}`);
    return { allowed: true, commit: (created) => (created || renewal ? undefined : this.refund('NewOrdersPerAccount', `orders:${kid}`)) };
  }

  /** An order seen valid (issued) for the first time. */
  issued(orderUrl: string, identifiers: string[]): void {
    if (this.countedOrders.has(orderUrl)) return;
    this.countedOrders.add(orderUrl);
    if (!this.isRenewal(identifiers)) for (const domain of new Set(identifiers.map(registeredDomain))) this.spend('CertificatesPerDomain', `domain:${domain}`);
    this.spend('CertificatesPerFQDNSet', `set:${setKey(identifiers)}`);
    this.issuedSets.set(setKey(identifiers), this.now());
  }

  /** An authorization seen invalid for the first time. */
  failedAuthorization(authorizationUrl: string, kid: string, identifier: string): void {
    if (this.countedAuthorizations.has(authorizationUrl)) return;
    this.countedAuthorizations.add(authorizationUrl);
    this.spend('FailedAuthorizationsPerDomainPerAccount', `failed:${kid}:${baseName(identifier)}`);
  }
}

const baseName = (name: string): string => name.toLowerCase().replace(/^\*\./, '');
const registeredDomain = (name: string): string => getDomain(baseName(name), { allowPrivateDomains: false }) ?? baseName(name);
const setKey = (names: string[]): string => createHash('sha256').update([...new Set(names.map((n) => n.toLowerCase()))].sort().join(',')).digest('hex');

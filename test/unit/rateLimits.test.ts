import { loadConfig } from '../../src/domain/config';
import {
  countFailedAuthorization,
  countIssuance,
  decide,
  describeRefusal,
  emptyLedger,
  LETS_ENCRYPT_RATE_LIMITS,
  parseRateLimits,
  RateLimitLedger,
  RateLimits,
  registeredDomain,
  releaseReservation,
  rememberIssuedSet,
  reserveNewOrder,
} from '../../src/domain/rateLimits';

const HOUR = 3600_000;
const DAY = 24 * HOUR;
const T0 = Date.parse('2026-12-01T00:00:00Z');
const account = 'https://acme.example/acct/1';

/** Places `n` orders for distinct names of one domain at `now`; returns the ledger and how many were refused. */
function orders(ledger: RateLimitLedger, limits: RateLimits, names: string[], now: number): { ledger: RateLimitLedger; refused: number; keys: string[][] } {
  let refused = 0;
  const keys: string[][] = [];
  for (const name of names) {
    const decision = reserveNewOrder(ledger, limits, { account, names: [name], ari: false, now });
    if (decision.ok) {
      ledger = decision.ledger;
      keys.push(decision.pendingKeys);
    } else refused++;
  }
  return { ledger, refused, keys };
}

describe("the CA's rate limits, counted before each order", () => {
  it("defaults to Let's Encrypt's documented limits; None counts nothing; entries replace one limit", () => {
    expect(parseRateLimits(undefined)).toEqual(LETS_ENCRYPT_RATE_LIMITS);
    expect(LETS_ENCRYPT_RATE_LIMITS).toEqual({
      NewOrdersPerAccount: { count: 300, periodMs: 3 * HOUR },
      CertificatesPerDomain: { count: 50, periodMs: 7 * DAY },
      CertificatesPerFQDNSet: { count: 5, periodMs: 7 * DAY },
      FailedAuthorizationsPerDomainPerAccount: { count: 5, periodMs: HOUR },
    });
    expect(Object.values(parseRateLimits('None'))).toEqual([null, null, null, null]);
    expect(parseRateLimits('CertificatesPerDomain=20/7d, newordersperaccount=none')).toEqual({
      ...LETS_ENCRYPT_RATE_LIMITS,
      CertificatesPerDomain: { count: 20, periodMs: 7 * DAY },
      NewOrdersPerAccount: null,
    });
    expect(parseRateLimits('CertificatesPerWeek=5/7d')).toEqual({ invalid: expect.stringMatching(/CertificatesPerWeek=5\/7d/) });
  });

  it('a malformed AcmeRateLimits setting is ConfigurationInvalid naming it', () => {
    const env = {
      AcmeEndpoint: 'https://acme-v02.api.letsencrypt.org/directory', AcmeAccountEmail: 'ops@example.com', TenantId: '11111111-2222-3333-4444-555555555555',
      SubscriptionId: '66666666-7777-8888-9999-000000000000', ApplicationGatewayResourceGroup: 'rg', ApplicationGatewayName: 'gw', ApplicationGatewayHttpSettingsName: 's',
      ApplicationGatewayBackendName: 'p', BlobContainerUrl: 'https://st.blob.core.windows.net/acme', KeyVaultBaseUrl: 'https://kv.vault.azure.net/',
    };
    expect(loadConfig(env).acmeRateLimits).toEqual(LETS_ENCRYPT_RATE_LIMITS);
    expect(() => loadConfig({ ...env, AcmeRateLimits: 'lots' })).toThrow(/ConfigurationInvalid: Setting AcmeRateLimits must be LetsEncrypt, None/);
  });

  it('GCRA as Boulder decides it: a full burst, then one more each period/count', () => {
    const limit = { count: 5, periodMs: HOUR };
    let tat: number | undefined;
    for (let i = 0; i < 5; i++) {
      const d = decide(limit, tat, T0);
      expect(d.allowed).toBe(true);
      tat = d.newTat;
    }
    const refused = decide(limit, tat, T0);
    expect(refused.allowed).toBe(false);
    // One token frees up after period/count (12 minutes).
    expect(refused.retryAt).toBe(T0 + 12 * 60_000);
    expect(decide(limit, tat, refused.retryAt).allowed).toBe(true);
  });

  it('counts certificates per registered domain (Public Suffix List) and refuses the 51st with when it frees up', () => {
    expect(registeredDomain('a.b.contoso.co.uk')).toBe('contoso.co.uk');
    expect(registeredDomain('*.shop.contoso.example')).toBe('contoso.example');
    const names = Array.from({ length: 60 }, (_, i) => `h${i}.contoso.co.uk`);
    const { refused, ledger } = orders(emptyLedger(), LETS_ENCRYPT_RATE_LIMITS, names, T0);
    expect(refused).toBe(10);
    const decision = reserveNewOrder(ledger, LETS_ENCRYPT_RATE_LIMITS, { account, names: ['new.contoso.co.uk'], ari: false, now: T0 });
    expect(decision.ok).toBe(false);
    if (decision.ok) return;
    expect(decision.refusal).toMatchObject({ limit: 'CertificatesPerDomain', subject: 'contoso.co.uk', count: 50 });
    // 7 days / 50 = 201.6 minutes until one certificate's worth frees up.
    expect(decision.refusal.freeAt.toISOString()).toBe(new Date(T0 + Math.round((7 * DAY) / 50)).toISOString());
    expect(describeRefusal(decision.refusal)).toBe(`The order was not sent: it would exceed the CA's CertificatesPerDomain limit (50 per 7 d) for contoso.co.uk; it frees up at ${decision.refusal.freeAt.toISOString()}.`);
    // Another registered domain is unaffected.
    expect(reserveNewOrder(ledger, LETS_ENCRYPT_RATE_LIMITS, { account, names: ['www.fabrikam.example'], ari: false, now: T0 }).ok).toBe(true);
  });

  it('refuses the 301st new order of the account in 3 hours', () => {
    const names = Array.from({ length: 301 }, (_, i) => `www.d${i}.example`);
    const { refused, ledger } = orders(emptyLedger(), LETS_ENCRYPT_RATE_LIMITS, names.slice(0, 300), T0);
    expect(refused).toBe(0);
    const decision = reserveNewOrder(ledger, LETS_ENCRYPT_RATE_LIMITS, { account, names: [names[300]], ari: false, now: T0 });
    expect(decision).toMatchObject({ ok: false, refusal: { limit: 'NewOrdersPerAccount', count: 300 } });
    // Another account has its own.
    expect(reserveNewOrder(ledger, LETS_ENCRYPT_RATE_LIMITS, { account: `${account}0`, names: [names[300]], ari: false, now: T0 }).ok).toBe(true);
  });

  it('allows 5 certificates for one exact set in 7 days; a renewal of that set is exempt from the per-domain and per-account limits only', () => {
    let ledger = emptyLedger();
    const set = ['www.contoso.example', 'contoso.example'];
    for (let i = 0; i < 5; i++) {
      const d = reserveNewOrder(ledger, LETS_ENCRYPT_RATE_LIMITS, { account, names: set, ari: false, now: T0 });
      expect(d).toMatchObject({ ok: true, exempt: i === 0 ? null : 'renewal' });
      if (!d.ok) return;
      ledger = rememberIssuedSet(countIssuance(d.ledger, LETS_ENCRYPT_RATE_LIMITS, d.pendingKeys, T0), set, T0);
    }
    expect(reserveNewOrder(ledger, LETS_ENCRYPT_RATE_LIMITS, { account, names: [...set].reverse().map((n) => n.toUpperCase()), ari: false, now: T0 })).toMatchObject({
      ok: false,
      refusal: { limit: 'CertificatesPerFQDNSet' },
    });
  });

  it('an order that failed at finalize issued nothing: the next order for its names is no renewal', () => {
    const d = reserveNewOrder(emptyLedger(), LETS_ENCRYPT_RATE_LIMITS, { account, names: ['a.contoso.example'], ari: false, now: T0 });
    if (!d.ok) throw new Error('expected ok');
    const ledger = countIssuance(d.ledger, LETS_ENCRYPT_RATE_LIMITS, d.pendingKeys, T0);
    expect(reserveNewOrder(ledger, LETS_ENCRYPT_RATE_LIMITS, { account, names: ['a.contoso.example'], ari: false, now: T0 })).toMatchObject({ ok: true, exempt: null });
    // Issued 119 days ago it is one; the app looks back a day less than the CA's 120, having learnt of it later.
    const issued = rememberIssuedSet(ledger, ['a.contoso.example'], T0);
    expect(reserveNewOrder(issued, LETS_ENCRYPT_RATE_LIMITS, { account, names: ['a.contoso.example'], ari: false, now: T0 + 118 * DAY })).toMatchObject({ ok: true, exempt: 'renewal' });
    expect(reserveNewOrder(issued, LETS_ENCRYPT_RATE_LIMITS, { account, names: ['a.contoso.example'], ari: false, now: T0 + 119 * DAY })).toMatchObject({ ok: true, exempt: null });
  });

  it('an ARI renewal (replaces) is counted against nothing', () => {
    const tight: RateLimits = { NewOrdersPerAccount: { count: 1, periodMs: HOUR }, CertificatesPerDomain: { count: 1, periodMs: DAY }, CertificatesPerFQDNSet: { count: 1, periodMs: DAY }, FailedAuthorizationsPerDomainPerAccount: { count: 1, periodMs: HOUR } };
    let ledger = emptyLedger();
    for (let i = 0; i < 10; i++) {
      const d = reserveNewOrder(ledger, tight, { account, names: ['www.contoso.example'], ari: true, now: T0 });
      expect(d).toMatchObject({ ok: true, exempt: 'ari', pendingKeys: [] });
      if (d.ok) ledger = d.ledger;
    }
    expect(ledger.tat).toEqual({});
  });

  it('after 5 failed validations of a name in an hour its orders are refused; the failed order no longer counts for its domain', () => {
    const limits: RateLimits = { ...LETS_ENCRYPT_RATE_LIMITS, CertificatesPerDomain: { count: 5, periodMs: DAY } };
    let ledger = emptyLedger();
    for (let i = 0; i < 5; i++) {
      const d = reserveNewOrder(ledger, limits, { account, names: ['bad.contoso.example'], ari: false, now: T0 + i });
      expect(d.ok).toBe(true);
      if (!d.ok) return;
      const failed = { account, identifier: 'bad.contoso.example', pendingKeys: d.pendingKeys, authorizationUrl: `https://ca.example/authz/${i}`, now: T0 + i };
      ledger = countFailedAuthorization(d.ledger, limits, failed);
      // Read again (an activity runs at least once; the poll that saw it repeated): counted once.
      expect(countFailedAuthorization(ledger, limits, failed)).toBe(ledger);
    }
    expect(reserveNewOrder(ledger, limits, { account, names: ['bad.contoso.example'], ari: false, now: T0 + 10 })).toMatchObject({ ok: false, refusal: { limit: 'FailedAuthorizationsPerDomainPerAccount', subject: 'bad.contoso.example' } });
    // The five failed orders gave their per-domain counts back: five other names still fit.
    expect(orders(ledger, limits, ['a', 'b', 'c', 'd', 'e'].map((n) => `${n}.contoso.example`), T0 + 10).refused).toBe(0);
    // An hour on, the name may be tried again.
    expect(reserveNewOrder(ledger, limits, { account, names: ['bad.contoso.example'], ari: false, now: T0 + 12 * 60_000 + 10 }).ok).toBe(true);
  });

  it('counts a certificate again at finalize, so a count made at the order that has drained never leaves the app below the CA', () => {
    const limits: RateLimits = { ...LETS_ENCRYPT_RATE_LIMITS, CertificatesPerDomain: { count: 2, periodMs: 2 * HOUR } };
    const first = reserveNewOrder(emptyLedger(), limits, { account, names: ['a.contoso.example'], ari: false, now: T0 });
    if (!first.ok) throw new Error('expected ok');
    // The order took two hours to finalize: its count at the order has drained meanwhile.
    const later = T0 + 2 * HOUR;
    const ledger = countIssuance(first.ledger, limits, first.pendingKeys, later);
    // The CA counts it now, so only one more fits right now.
    const { refused } = orders(ledger, limits, ['b.contoso.example', 'c.contoso.example'], later);
    expect(refused).toBe(1);
  });

  it('gives a failed newOrder\'s reservation back: retries through a CA outage never use up a limit the CA never counted', () => {
    const names = ['www.contoso.com'];
    let ledger = emptyLedger();
    // Twenty attempts of one step, each refused by a failing CA and released: the exact set (5 per week) still has room.
    for (let attempt = 0; attempt < 20; attempt++) {
      const decision = reserveNewOrder(ledger, LETS_ENCRYPT_RATE_LIMITS, { account, names, ari: false, now: T0 + attempt * 1000 });
      if (!decision.ok) throw new Error(`attempt ${attempt} refused: ${describeRefusal(decision.refusal)}`);
      ledger = releaseReservation(decision.ledger, LETS_ENCRYPT_RATE_LIMITS, { account, pendingKeys: decision.pendingKeys, orderNotCreated: true, now: T0 + attempt * 1000 });
    }
    expect(reserveNewOrder(ledger, LETS_ENCRYPT_RATE_LIMITS, { account, names, ari: false, now: T0 + 30_000 }).ok).toBe(true);
    // Without the release the sixth attempt is refused: the test above can fail.
    let leaky = emptyLedger();
    const outcomes = Array.from({ length: 6 }, (_, attempt) => {
      const decision = reserveNewOrder(leaky, LETS_ENCRYPT_RATE_LIMITS, { account, names, ari: false, now: T0 + attempt * 1000 });
      if (decision.ok) leaky = decision.ledger;
      return decision.ok;
    });
    expect(outcomes).toEqual([true, true, true, true, true, false]);
  });

  it('keeps the account\'s new-order token after a network error (the order may exist), gives it back after a CA problem', () => {
    const limits: RateLimits = { ...LETS_ENCRYPT_RATE_LIMITS, NewOrdersPerAccount: { count: 1, periodMs: 3 * HOUR } };
    const first = reserveNewOrder(emptyLedger(), limits, { account, names: ['a.contoso.com'], ari: false, now: T0 });
    if (!first.ok) throw new Error('refused');
    const kept = releaseReservation(first.ledger, limits, { account, pendingKeys: first.pendingKeys, orderNotCreated: false, now: T0 });
    expect(reserveNewOrder(kept, limits, { account, names: ['b.contoso.com'], ari: false, now: T0 }).ok).toBe(false);
    const refunded = releaseReservation(first.ledger, limits, { account, pendingKeys: first.pendingKeys, orderNotCreated: true, now: T0 });
    expect(reserveNewOrder(refunded, limits, { account, names: ['b.contoso.com'], ari: false, now: T0 }).ok).toBe(true);
  });

  it("gives an order's certificate back once however many of its authorizations failed, and counts each failure", () => {
    const limits: RateLimits = { ...LETS_ENCRYPT_RATE_LIMITS, CertificatesPerDomain: { count: 2, periodMs: 7 * DAY } };
    const names = ['a.contoso.com', 'b.contoso.com'];
    const first = reserveNewOrder(emptyLedger(), limits, { account, names, ari: false, now: T0 });
    const second = first.ok ? reserveNewOrder(first.ledger, limits, { account, names: ['c.contoso.com'], ari: false, now: T0 }) : first;
    if (!first.ok || !second.ok) throw new Error('refused');
    const orderUrl = 'https://acme.example/order/1';
    let ledger = second.ledger;
    for (const [identifier, url] of [['a.contoso.com', 'https://acme.example/authz/a'], ['b.contoso.com', 'https://acme.example/authz/b']]) {
      ledger = countFailedAuthorization(ledger, limits, { account, identifier, pendingKeys: first.pendingKeys, authorizationUrl: url, orderUrl, now: T0 });
    }
    // One certificate given back (two were counted, the domain allows two): room for exactly one more.
    const third = reserveNewOrder(ledger, limits, { account, names: ['d.contoso.com'], ari: false, now: T0 });
    expect(third.ok).toBe(true);
    if (third.ok) expect(reserveNewOrder(third.ledger, limits, { account, names: ['e.contoso.com'], ari: false, now: T0 }).ok).toBe(false);
    // Both names' failures were counted.
    expect(Object.keys(ledger.tat).filter((key) => key.startsWith('FailedAuthorizationsPerDomainPerAccount:'))).toHaveLength(2);
  });
});

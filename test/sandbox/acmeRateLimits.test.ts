import { AcmeRateLimiter, LETS_ENCRYPT_LIMITS } from '../../sandbox/services/acmeRateLimits';

const HOUR = 3600_000;
const KID = 'https://ca.example/my-account/1';

/** A limiter on a clock the test moves. */
function limiter(limits = LETS_ENCRYPT_LIMITS): { rl: AcmeRateLimiter; advance: (ms: number) => void } {
  let now = Date.parse('2026-12-01T00:00:00Z');
  return { rl: new AcmeRateLimiter(limits, () => now), advance: (ms) => (now += ms) };
}

/** Places and issues an order (as the proxy sees a newOrder, then the order valid). */
function issue(rl: AcmeRateLimiter, names: string[], id: string, ari = false): ReturnType<AcmeRateLimiter['newOrder']> {
  const verdict = rl.newOrder(KID, names, ari);
  if (verdict.allowed) {
    verdict.commit(true);
    rl.issued(id, names);
  }
  return verdict;
}

describe("the sandbox CA's rate limits (Boulder's)", () => {
  it('refuses the 51st certificate for a registered domain in a week with 429 rateLimited, Retry-After and the limit named', () => {
    const { rl, advance } = limiter();
    for (let i = 0; i < 50; i++) expect(issue(rl, [`h${i}.shop.contoso.co.uk`], `o${i}`).allowed).toBe(true);
    const refused = rl.newOrder(KID, ['new.contoso.co.uk'], false);
    expect(refused).toMatchObject({ allowed: false, status: 429, type: 'urn:ietf:params:acme:error:rateLimited', retryAfterSeconds: Math.ceil(7 * 24 * 3600 / 50) });
    if (refused.allowed) return;
    expect(refused.detail).toMatch(/CertificatesPerDomain .* for contoso\.co\.uk: retry after 2026-12-01T03:21:36\.000Z: see https:\/\/letsencrypt\.org\/docs\/rate-limits\/#new-certificates-per-registered-domain/);
    expect(rl.answers).toHaveLength(1);
    // Another domain is not affected; a renewal of an exact set issued before is exempt; an ARI renewal is exempt.
    expect(rl.newOrder(KID, ['www.fabrikam.example'], false).allowed).toBe(true);
    expect(rl.newOrder(KID, ['h1.shop.contoso.co.uk'], false).allowed).toBe(true);
    expect(rl.newOrder(KID, ['other.contoso.co.uk'], true).allowed).toBe(true);
    // One certificate's worth frees up after 7 days / 50.
    advance(refused.retryAfterSeconds * 1000);
    expect(rl.newOrder(KID, ['new.contoso.co.uk'], false).allowed).toBe(true);
  });

  it('gives the new order back when the order is not created', () => {
    const { rl } = limiter({ ...LETS_ENCRYPT_LIMITS, NewOrdersPerAccount: { count: 1, periodMs: HOUR } });
    const first = rl.newOrder(KID, ['a.contoso.example'], false);
    if (!first.allowed) throw new Error('expected allowed');
    first.commit(false);
    expect(rl.newOrder(KID, ['b.contoso.example'], false).allowed).toBe(true);
    expect(rl.newOrder(KID, ['c.contoso.example'], false)).toMatchObject({ allowed: false, detail: expect.stringMatching(/^too many requests under NewOrdersPerAccount/) });
  });

  it('counts 5 certificates per exact set a week, renewals included, ARI renewals not', () => {
    const { rl } = limiter();
    for (let i = 0; i < 5; i++) expect(issue(rl, ['a.contoso.example', 'b.contoso.example'], `o${i}`).allowed).toBe(true);
    expect(rl.newOrder(KID, ['B.contoso.example', 'a.contoso.example'], false)).toMatchObject({ allowed: false, detail: expect.stringMatching(/CertificatesPerFQDNSet/) });
    expect(issue(rl, ['a.contoso.example', 'b.contoso.example'], 'ari', true).allowed).toBe(true);
  });

  it('counts an order seen valid twice once', () => {
    const { rl } = limiter({ ...LETS_ENCRYPT_LIMITS, CertificatesPerDomain: { count: 2, periodMs: HOUR } });
    expect(issue(rl, ['a.contoso.example'], 'o1').allowed).toBe(true);
    rl.issued('o1', ['a.contoso.example']);
    expect(issue(rl, ['b.contoso.example'], 'o2').allowed).toBe(true);
    expect(rl.newOrder(KID, ['c.contoso.example'], false).allowed).toBe(false);
  });

  it('refuses orders for a name after 5 failed validations in an hour, per account', () => {
    const { rl, advance } = limiter();
    for (let i = 0; i < 5; i++) {
      expect(rl.newOrder(KID, ['bad.contoso.example'], false).allowed).toBe(true);
      rl.failedAuthorization(`/authZ/${i}`, KID, 'bad.contoso.example');
      rl.failedAuthorization(`/authZ/${i}`, KID, 'bad.contoso.example');
    }
    expect(rl.newOrder(KID, ['bad.contoso.example'], false)).toMatchObject({ allowed: false, retryAfterSeconds: 720, detail: expect.stringMatching(/FailedAuthorizationsPerDomainPerAccount .* for bad\.contoso\.example/) });
    expect(rl.newOrder(`${KID}2`, ['bad.contoso.example'], false).allowed).toBe(true);
    advance(720_000);
    expect(rl.newOrder(KID, ['bad.contoso.example'], false).allowed).toBe(true);
  });
});

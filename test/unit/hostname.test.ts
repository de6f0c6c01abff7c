import { hostnameSlug, normaliseHostname, wildcardProbeName } from '../../src/domain/hostname';

describe('hostname rules', () => {
  it.each([
    ['Example.COM', 'example.com'],
    ['www.example.com.', 'www.example.com'],
    ['  api.example.org ', 'api.example.org'],
    ['bücher.example', 'xn--bcher-kva.example'],
    ['a-b.c-d.example.net', 'a-b.c-d.example.net'],
  ])('normalises %s to %s', (input, expected) => {
    expect(normaliseHostname(input)).toEqual({ ok: true, hostname: expected });
  });

  it.each([
    [42, 'must be a string'],
    ['', 'must not be empty'],
    ['*.example.com', 'wildcard'],
    ['10.0.0.1', 'IP address'],
    ['[2001:db8::1]', 'IP address'],
    ['https://example.com', 'bare hostname'],
    ['example.com:443', 'bare hostname'],
    ['localhost', 'at least two labels'],
    ['-bad.example.com', 'invalid label'],
    ['bad-.example.com', 'invalid label'],
    ['under_score.example.com', 'invalid label'],
    ['a..example.com', 'invalid label'],
    [`${'a'.repeat(64)}.example.com`, 'invalid label'],
    [`${'abcdefghi.'.repeat(26)}com`, 'longer than 253'],
    ['example.123', 'not a valid DNS name'],
  ])('refuses %p with a reason', (input, reason) => {
    const verdict = normaliseHostname(input);
    expect(verdict.ok).toBe(false);
    if (!verdict.ok) expect(verdict.reason).toContain(reason);
  });

  it('takes a wildcard only where DNS-01 proves it: a whole leftmost label over a valid name', () => {
    expect(normaliseHostname('*.Example.COM.', { wildcard: true })).toEqual({ ok: true, hostname: '*.example.com' });
    expect(normaliseHostname('*.bücher.example', { wildcard: true })).toEqual({ ok: true, hostname: '*.xn--bcher-kva.example' });
    for (const [input, reason] of [
      ['*.example.com', 'use challengeType dns-01'],
      ['*', 'use challengeType dns-01'],
    ] as const) {
      const verdict = normaliseHostname(input);
      expect(verdict.ok).toBe(false);
      if (!verdict.ok) expect(verdict.reason).toContain(reason);
    }
    for (const [input, reason] of [
      ['*example.com', 'whole leftmost label'],
      ['www.*.example.com', 'whole leftmost label'],
      ['*.*.example.com', 'whole leftmost label'],
      ['*.com', 'at least two labels'],
      ['*.bad_label.example', 'invalid label'],
      [`*.${'abcdefghi.'.repeat(25)}com`, 'longer than 253'],
    ] as const) {
      const verdict = normaliseHostname(input, { wildcard: true });
      expect(verdict.ok).toBe(false);
      if (!verdict.ok) expect(verdict.reason).toContain(reason);
    }
  });

  it('names a wildcard for Key Vault without its star, apart from the same name spelled out', () => {
    const hash = (text: string): string => (text.startsWith('*') ? 'aaaaaaaaaaaa' : 'bbbbbbbbbbbb');
    expect(hostnameSlug('*.example.com', hash)).toBe('wildcard-example-com-aaaaaaaa');
    expect(hostnameSlug('wildcard.example.com', hash)).toBe('wildcard-example-com-bbbbbbbb');
    expect(wildcardProbeName('*.example.com')).toBe('appgw-certbot-probe.example.com');
    expect(wildcardProbeName('www.example.com')).toBe('www.example.com');
  });
});

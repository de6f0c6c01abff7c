import { normaliseHostname } from '../../src/domain/hostname';

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
});

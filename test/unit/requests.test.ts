import { certificatesOf, instanceIdFor, removalInstanceIdFor, parseHostnameEntries, parseHostnameList, parseSingleEntry, parseSingleHostname, renewalRunInstanceId } from '../../src/domain/requests';

describe('request bodies', () => {
  it('accepts one hostname and normalises it', () => {
    expect(parseSingleHostname({ hostnames: [{ hostname: 'WWW.Example.com.' }] })).toEqual({ ok: true, value: 'www.example.com' });
  });

  it.each([
    [null, '(body)', 'must be a JSON object'],
    [[], '(body)', 'must be a JSON object'],
    [{}, 'hostnames', 'is required'],
    [{ hostnames: 'a.example.com' }, 'hostnames', 'must be an array'],
    [{ hostnames: [] }, 'hostnames', 'at least one'],
    [{ hostnames: ['a.example.com'] }, 'hostnames[0]', 'must be an object'],
    [{ hostnames: [{}] }, 'hostnames[0].hostname', 'is required'],
    [{ hostnames: [{ hostname: '*.example.com' }] }, 'hostnames[0].hostname', 'wildcard'],
    [{ hostnames: [{ hostname: '192.0.2.1' }] }, 'hostnames[0].hostname', 'IP address'],
  ])('refuses %j naming %s', (body, field, reason) => {
    const parsed = parseSingleHostname(body);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) {
      expect(parsed.errors[0].field).toBe(field);
      expect(parsed.errors[0].reason).toContain(reason);
    }
  });

  it('sends callers with several hostnames to the multiple endpoint', () => {
    const parsed = parseSingleHostname({ hostnames: [{ hostname: 'a.example.com' }, { hostname: 'b.example.com' }] });
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.errors[0].reason).toContain('AddMultipleCertificatesFunctions_HttpStart');
  });

  it('reports every bad item of a list, duplicates after normalisation included', () => {
    const parsed = parseHostnameList(
      { hostnames: [{ hostname: 'a.example.com' }, { hostname: 'A.EXAMPLE.COM.' }, { hostname: 'bad_name.example.com' }] },
      10,
    );
    expect(parsed).toEqual({
      ok: false,
      errors: [
        { field: 'hostnames[1].hostname', reason: 'repeats a.example.com' },
        { field: 'hostnames[2].hostname', reason: expect.stringContaining('invalid label') },
      ],
    });
  });

  it('keeps each entry\'s optional challenge type, and names a wrong one with its index', () => {
    expect(parseSingleEntry({ hostnames: [{ hostname: 'a.example.com', challengeType: 'dns-01' }] }, 'http-01')).toEqual({ ok: true, value: { hostname: 'a.example.com', challengeType: 'dns-01' } });
    expect(parseHostnameEntries({ hostnames: [{ hostname: 'a.example.com' }, { hostname: 'b.example.com', challengeType: 'http-01' }] }, 10, 'http-01')).toEqual({
      ok: true,
      value: [{ hostname: 'a.example.com' }, { hostname: 'b.example.com', challengeType: 'http-01' }],
    });
    for (const wrong of ['DNS-01', 'tls-alpn-01', 1, null]) {
      expect(parseHostnameEntries({ hostnames: [{ hostname: 'a.example.com' }, { hostname: 'b.example.com', challengeType: wrong }] }, 10, 'http-01')).toEqual({
        ok: false,
        errors: [{ field: 'hostnames[1].challengeType', reason: 'must be one of http-01, dns-01' }],
      });
    }
  });

  it('groups entries into one certificate per group, names in request order, at most 5, one challenge type each', () => {
    const entries = parseHostnameEntries(
      {
        hostnames: [
          { hostname: 'a.example.com', group: 'g1' },
          { hostname: 'solo.example.com' },
          { hostname: 'b.example.com', group: 'g1' },
          { hostname: '*.example.org', group: 'wild', challengeType: 'dns-01' },
          { hostname: 'example.org', group: 'wild', challengeType: 'dns-01' },
        ],
      },
      10,
      'http-01',
    );
    expect(entries.ok).toBe(true);
    if (!entries.ok) return;
    expect(certificatesOf(entries.value, 'http-01')).toEqual({
      ok: true,
      value: [
        { hostname: 'a.example.com', names: ['a.example.com', 'b.example.com'], challengeType: 'http-01' },
        { hostname: 'solo.example.com', names: ['solo.example.com'], challengeType: 'http-01' },
        { hostname: '*.example.org', names: ['*.example.org', 'example.org'], challengeType: 'dns-01' },
      ],
    });

    const six = Array.from({ length: 6 }, (_, i) => ({ hostname: `h${i}.example.com`, group: 'big' }));
    const tooMany = parseHostnameEntries({ hostnames: six }, 10, 'dns-01');
    expect(tooMany.ok && certificatesOf(tooMany.value, 'dns-01')).toEqual({ ok: false, errors: [{ field: 'hostnames[5].group', reason: 'group "big" already has 5 names, the most one gateway listener holds' }] });

    const mixed = parseHostnameEntries({ hostnames: [{ hostname: 'a.example.com', group: 'g' }, { hostname: 'b.example.com', group: 'g', challengeType: 'dns-01' }] }, 10, 'http-01');
    const refused = mixed.ok ? certificatesOf(mixed.value, 'http-01') : mixed;
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.errors).toEqual([{ field: 'hostnames[1].challengeType', reason: expect.stringContaining('one certificate, one challenge type') }]);

    const outside = parseHostnameEntries({ hostnames: [{ hostname: '*.example.org', group: 'w' }, { hostname: 'shop.example.com', group: 'w' }] }, 10, 'dns-01');
    expect(outside.ok && certificatesOf(outside.value, 'dns-01')).toEqual({
      ok: false,
      errors: [{ field: 'hostnames[1].group', reason: expect.stringContaining('puts shop.example.com in one certificate with *.example.org') }],
    });

    for (const group of ['', ' g', 'g/1', 7, 'x'.repeat(65)]) {
      const parsed = parseHostnameEntries({ hostnames: [{ hostname: 'a.example.com', group }] }, 10, 'http-01');
      expect(parsed).toEqual({ ok: false, errors: [{ field: 'hostnames[0].group', reason: expect.stringContaining('1 to 64') }] });
    }
  });

  it('enforces the maximum list length', () => {
    const hostnames = Array.from({ length: 4 }, (_, i) => ({ hostname: `h${i}.example.com` }));
    const parsed = parseHostnameList({ hostnames }, 3);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.errors[0].reason).toContain('at most 3');
  });

  it('derives one instance id per hostname', () => {
    expect(instanceIdFor('www.example.com')).toBe('certificate-www.example.com');
    expect(removalInstanceIdFor('www.example.com')).toBe('removal-www.example.com');
  });

  it('keeps instance ids of the longest hostnames within the Durable client\'s 256 characters, distinct', () => {
    const base = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.`;
    const one = `${base}${'d'.repeat(61)}`;
    const other = `${base}${'d'.repeat(60)}e`;
    expect(one).toHaveLength(253);
    for (const derive of [instanceIdFor, removalInstanceIdFor]) {
      expect(derive(one).length).toBeLessThanOrEqual(256);
      expect(derive(one)).not.toBe(derive(other));
      expect(derive(one)).toBe(derive(one));
    }
    // Names that fit keep the plain form (instances started before stay found).
    const fits = `${base}${'d'.repeat(52)}`;
    expect(instanceIdFor(fits)).toBe(`certificate-${fits}`);
  });
});

describe('the renewal timer\'s run', () => {
  it('is named after the timer run\'s time, to the second (UTC)', () => {
    expect(renewalRunInstanceId(new Date('2026-12-04T03:00:00.000Z'))).toBe('renewals-20261204T030000Z');
    expect(renewalRunInstanceId(new Date('2026-12-04T03:00:07.999Z'))).toBe('renewals-20261204T030007Z');
  });

  it('is the same within one second and differs between timer runs', () => {
    const tick = new Date('2026-12-04T03:00:00.100Z');
    expect(renewalRunInstanceId(tick)).toBe(renewalRunInstanceId(new Date('2026-12-04T03:00:00.900Z')));
    expect(renewalRunInstanceId(tick)).not.toBe(renewalRunInstanceId(new Date('2026-12-05T03:00:00.100Z')));
  });

  it('is a valid instance id that no hostname\'s operation can take', () => {
    const id = renewalRunInstanceId(new Date('2026-12-04T03:00:00Z'));
    expect(id).toMatch(/^[A-Za-z0-9-]+$/);
    expect(id.length).toBeLessThanOrEqual(256);
    expect(id.startsWith('certificate-') || id.startsWith('removal-')).toBe(false);
  });
});

import { allowListErrors, isAllowed, parseAllowList } from '../../src/domain/allowList';

describe('the hostname allow-list (AllowedHostnames)', () => {
  it('allows nothing when the setting is absent, anything when it is set empty', () => {
    expect(isAllowed(parseAllowList(undefined), 'www.contoso.com')).toBe(false);
    expect(isAllowed(parseAllowList(''), 'www.contoso.com')).toBe(true);
    expect(isAllowed(parseAllowList('  '), '*.contoso.com')).toBe(true);
  });

  it('matches exact names and *.suffix patterns at any depth, never the bare suffix', () => {
    const list = parseAllowList('www.contoso.com, *.fabrikam.com\n*.Litware.EXAMPLE');
    expect(['www.contoso.com', 'a.fabrikam.com', 'a.b.fabrikam.com', '*.fabrikam.com', '*.x.fabrikam.com', 'shop.litware.example'].map((h) => isAllowed(list, h))).toEqual([true, true, true, true, true, true]);
    expect(['contoso.com', 'shop.contoso.com', 'fabrikam.com', 'evilfabrikam.com', 'fabrikam.com.evil.example', 'litware.example'].map((h) => isAllowed(list, h))).toEqual([false, false, false, false, false, false]);
  });

  it('normalises entries as requests are normalised (case, IDNA)', () => {
    const list = parseAllowList('WWW.Contoso.COM,bücher.example');
    expect(isAllowed(list, 'www.contoso.com')).toBe(true);
    expect(isAllowed(list, 'xn--bcher-kva.example')).toBe(true);
  });

  it('refuses a bad entry at startup, naming the setting and the entry', () => {
    expect(() => parseAllowList('www.contoso.com,not a name')).toThrow(/AllowedHostnames lists "not"/);
    expect(() => parseAllowList('*.*.contoso.com')).toThrow(/AllowedHostnames/);
    expect(() => parseAllowList('10.0.0.1')).toThrow(/AllowedHostnames lists "10\.0\.0\.1", which is an IP address/);
  });

  it('names each refused field and says what to do', () => {
    const errors = allowListErrors(parseAllowList('*.contoso.com'), [
      { field: 'hostnames[0].hostname', hostname: 'a.contoso.com' },
      { field: 'hostnames[1].hostname', hostname: 'a.fabrikam.com' },
    ]);
    expect(errors).toEqual([{ field: 'hostnames[1].hostname', reason: expect.stringMatching(/is not in AllowedHostnames; ask the operator/) }]);
    expect(allowListErrors(parseAllowList(undefined), [{ field: 'hostname', hostname: 'a.contoso.com' }])[0].reason).toMatch(/AllowedHostnames is not set, so no name may be ordered/);
  });
});

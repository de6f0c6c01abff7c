import { caaLookup, CaaResolver, toCaaRecord } from '../../src/dns/caaLookup';
import { CaaDecision, CaaLookup, CaaRecord, checkCaa, parseIssueValue } from '../../src/domain/caa';

/**
 * CAA decisions on a corpus of record sets, each with the RFC's answer (RFC 8659 sections 3 and 4,
 * RFC 8657 section 5). The zone is a map from name to its CAA records (CNAMEs already followed, as a
 * resolver answers), or to a lookup error.
 */
const LE = ['letsencrypt.org'];
const ACCOUNT = 'https://acme-v02.api.letsencrypt.org/acme/acct/1234';
const issue = (value: string, flags = 0): CaaRecord => ({ flags, tag: 'issue', value });
const issuewild = (value: string): CaaRecord => ({ flags: 0, tag: 'issuewild', value });

function zone(records: Record<string, CaaRecord[] | { error: string }>): CaaLookup & { asked: string[] } {
  const asked: string[] = [];
  const lookup = async (name: string) => {
    asked.push(name);
    return records[name] ?? [];
  };
  return Object.assign(lookup, { asked });
}

const check = (hostname: string, records: Record<string, CaaRecord[] | { error: string }>, method = 'http-01'): Promise<CaaDecision> =>
  checkCaa({ hostname, caaIdentities: LE, accountUri: ACCOUNT, validationMethod: method }, zone(records));

describe('CAA (RFC 8659, RFC 8657)', () => {
  const cases: [string, string, Record<string, CaaRecord[] | { error: string }>, string, boolean | 'unknown'][] = [
    ['no CAA anywhere: any CA', 'www.example.com', {}, 'http-01', true],
    ['issue for this CA on the name', 'www.example.com', { 'www.example.com': [issue('letsencrypt.org')] }, 'http-01', true],
    ['issue for another CA on the name', 'www.example.com', { 'www.example.com': [issue('pki.goog')] }, 'http-01', false],
    ['inherited from the parent when the name has none', 'www.example.com', { 'example.com': [issue('pki.goog')] }, 'http-01', false],
    ['the closest set wins: the name permits though the parent forbids', 'www.example.com', { 'www.example.com': [issue('letsencrypt.org')], 'example.com': [issue('pki.goog')] }, 'http-01', true],
    ['several issue properties: one naming this CA is enough', 'www.example.com', { 'example.com': [issue('pki.goog'), issue('letsencrypt.org')] }, 'http-01', true],
    ['the issuer is compared exactly, as Let\'s Encrypt does (caaDomainMatches)', 'www.example.com', { 'example.com': [issue('LetsEncrypt.org')] }, 'http-01', false],
    ['a ";" with no parameters after the issuer is in the grammar', 'www.example.com', { 'example.com': [issue('letsencrypt.org;')] }, 'http-01', true],
    ['a stray ";" after a parameter is not: no CA', 'www.example.com', { 'example.com': [issue('letsencrypt.org; validationmethods=http-01;')] }, 'http-01', false],
    ['";;" is not in the grammar: no CA', 'www.example.com', { 'example.com': [issue('letsencrypt.org;;')] }, 'http-01', false],
    ['a newline is not whitespace in the grammar: no CA', 'www.example.com', { 'example.com': [issue('letsencrypt.org\n')] }, 'http-01', false],
    ['a repeated accounturi is unsatisfiable (RFC 8657 section 3), even if one matches', 'www.example.com', { 'example.com': [issue(`letsencrypt.org; accounturi=https://x/acct/9; accounturi=${ACCOUNT}`)] }, 'http-01', false],
    ['parameter tags are compared exactly: AccountURI is an unknown parameter, ignored', 'www.example.com', { 'example.com': [issue('letsencrypt.org; AccountURI=https://x/acct/9')] }, 'http-01', true],
    ['validation methods are compared exactly (HTTP-01 is not http-01)', 'www.example.com', { 'example.com': [issue('letsencrypt.org; validationmethods=HTTP-01')] }, 'http-01', false],
    ['a validationmethods list outside its grammar allows nothing', 'www.example.com', { 'example.com': [issue('letsencrypt.org; validationmethods=dns-01,,http-01')] }, 'http-01', false],
    ['flag 1 on an unknown tag counts as critical, as Boulder reads it', 'www.example.com', { 'example.com': [{ flags: 1, tag: 'tbs', value: 'x' }, issue('letsencrypt.org')] }, 'http-01', false],
    ['a critical issuemail (a tag the CA knows) does not stop TLS issuance', 'www.example.com', { 'example.com': [{ flags: 128, tag: 'issuemail', value: 'pki.goog' }, issue('letsencrypt.org')] }, 'http-01', true],
    ['empty issuer ";" authorizes no CA', 'www.example.com', { 'example.com': [issue(';')] }, 'http-01', false],
    ['only iodef: any CA', 'www.example.com', { 'example.com': [{ flags: 0, tag: 'iodef', value: 'mailto:security@example.com' }] }, 'http-01', true],
    ['unknown tag, not critical: ignored', 'www.example.com', { 'example.com': [{ flags: 0, tag: 'tbs', value: 'x' }, issue('letsencrypt.org')] }, 'http-01', true],
    ['unknown tag with the critical flag: no CA may issue', 'www.example.com', { 'example.com': [{ flags: 128, tag: 'tbs', value: 'x' }, issue('letsencrypt.org')] }, 'http-01', false],
    ['critical flag on a known tag is fine', 'www.example.com', { 'example.com': [issue('letsencrypt.org', 128)] }, 'http-01', true],
    ['wildcard governed by issuewild when present', '*.example.com', { 'example.com': [issue('letsencrypt.org'), issuewild('pki.goog')] }, 'dns-01', false],
    ['wildcard falls back to issue without issuewild', '*.example.com', { 'example.com': [issue('letsencrypt.org')] }, 'dns-01', true],
    ['issuewild does not govern a non-wildcard name', 'www.example.com', { 'example.com': [issuewild(';'), issue('letsencrypt.org')] }, 'http-01', true],
    ['issuewild ";" forbids wildcards only', '*.example.com', { 'example.com': [issuewild(';'), issue('letsencrypt.org')] }, 'dns-01', false],
    ['accounturi of this account', 'www.example.com', { 'example.com': [issue(`letsencrypt.org; accounturi=${ACCOUNT}`)] }, 'http-01', true],
    ['accounturi of another account', 'www.example.com', { 'example.com': [issue('letsencrypt.org; accounturi=https://acme-v02.api.letsencrypt.org/acme/acct/9')] }, 'http-01', false],
    ['validationmethods that include the method', 'www.example.com', { 'example.com': [issue('letsencrypt.org; validationmethods=dns-01,http-01')] }, 'http-01', true],
    ['validationmethods that exclude the method', 'www.example.com', { 'example.com': [issue('letsencrypt.org; validationmethods=dns-01')] }, 'http-01', false],
    ['a malformed value names no CA', 'www.example.com', { 'example.com': [issue('letsencrypt.org; accounturi')] }, 'http-01', false],
    ['a lookup failure is not "no CAA"', 'www.example.com', { 'www.example.com': { error: 'SERVFAIL' } }, 'http-01', 'unknown'],
    ['a parent lookup failure is not "no CAA" either', 'a.b.example.com', { 'b.example.com': { error: 'SERVFAIL' } }, 'http-01', 'unknown'],
  ];

  it.each(cases)('%s', async (_label, hostname, records, method, expected) => {
    expect((await check(hostname, records, method)).permitted).toBe(expected);
  });

  it('has a corpus of at least 15 record sets', () => {
    expect(cases.length).toBeGreaterThanOrEqual(15);
  });

  it('climbs label by label up to, not including, the root, and stops at the first non-empty set', async () => {
    const lookup = zone({ 'example.com': [issue('letsencrypt.org')] });
    await checkCaa({ hostname: 'a.b.example.com..', caaIdentities: LE, accountUri: ACCOUNT, validationMethod: 'http-01' }, lookup);
    expect(lookup.asked).toEqual(['a.b.example.com', 'b.example.com', 'example.com']);
    const empty = zone({});
    await checkCaa({ hostname: 'a.example.com', caaIdentities: LE, accountUri: ACCOUNT, validationMethod: 'http-01' }, empty);
    expect(empty.asked).toEqual(['a.example.com', 'example.com', 'com']);
  });

  it('says which record forbids what, at which name', async () => {
    const decision = await check('www.example.com', { 'example.com': [issue('letsencrypt.org; validationmethods=dns-01')] });
    expect(decision).toEqual({ permitted: false, relevantName: 'example.com', record: '0 issue "letsencrypt.org; validationmethods=dns-01"', reason: 'it limits validation to dns-01, not http-01' });
    const other = await check('www.example.com', { 'www.example.com': [issue('pki.goog')] });
    expect(other).toMatchObject({ permitted: false, relevantName: 'www.example.com', reason: 'it names pki.goog, not this CA (letsencrypt.org)' });
  });

  it('parses issue values by the grammar', () => {
    expect(parseIssueValue(' letsencrypt.org\t; accounturi=https://x/acct/1 ; validationmethods=dns-01 ')).toEqual({
      issuer: 'letsencrypt.org',
      parameters: new Map([
        ['accounturi', 'https://x/acct/1'],
        ['validationmethods', 'dns-01'],
      ]),
    });
    expect(parseIssueValue(';')).toEqual({ issuer: '', parameters: new Map() });
    expect(parseIssueValue('not a domain!')).toBeUndefined();
    expect(parseIssueValue('letsencrypt.org; =x')).toBeUndefined();
    expect(parseIssueValue('letsencrypt.org; a=1; a=2')).toBeUndefined();
    expect(parseIssueValue('letsencrypt.org;')).toEqual({ issuer: 'letsencrypt.org', parameters: new Map() });
  });
});

describe('CAA answers as Node reads them', () => {
  it('turns Node\'s {critical, <tag>: value} into flags, tag and value, unknown tags included', () => {
    expect(toCaaRecord({ critical: 0, issue: 'letsencrypt.org; validationmethods=dns-01' })).toEqual({ flags: 0, tag: 'issue', value: 'letsencrypt.org; validationmethods=dns-01' });
    expect(toCaaRecord({ critical: 128, tbs: 'unknown' })).toEqual({ flags: 128, tag: 'tbs', value: 'unknown' });
    expect(toCaaRecord({ critical: 0 })).toBeUndefined();
  });
});

describe('CAA lookup: CNAMEs followed, failures kept apart from "no records"', () => {
  const failure = (code: string): Error => Object.assign(new Error(code), { code });
  /** A resolver over a table: CAA answers (Node's shape), CNAME targets, names that fail. */
  function resolver(caa: Record<string, object[]>, cnames: Record<string, string>, failing: Record<string, string> = {}): CaaResolver {
    return {
      resolveCaa: async (name) => {
        if (failing[name]) throw failure(failing[name]);
        if (caa[name]) return caa[name];
        throw failure(cnames[name] ? 'ENODATA' : 'ENOTFOUND');
      },
      resolveCname: async (name) => {
        if (failing[name]) throw failure(failing[name]);
        if (cnames[name]) return [cnames[name]];
        throw failure('ENODATA');
      },
    };
  }
  const forbid = [{ critical: 0, issue: 'pki.goog' }];
  const check = (hostname: string, lookup: ReturnType<typeof caaLookup>) =>
    checkCaa({ hostname, caaIdentities: ['letsencrypt.org'], accountUri: 'https://acme.example/acct/1', validationMethod: 'http-01' }, lookup);

  it('follows a chain of CNAMEs to the records at its end, which count for the name looked up (RFC 8659 section 3)', async () => {
    const lookup = caaLookup([], resolver({ 'edge.cdn.example': forbid }, { 'www.example.com': 'alias.example.net', 'alias.example.net': 'edge.cdn.example' }));
    expect(await lookup('www.example.com')).toEqual([{ flags: 0, tag: 'issue', value: 'pki.goog' }]);
    expect(await check('www.example.com', lookup)).toMatchObject({ permitted: false, relevantName: 'www.example.com' });
  });

  it('climbs from the name, not from the CNAME target, when the chain ends without records', async () => {
    const lookup = caaLookup([], resolver({ 'example.com': forbid, 'example.net': [{ critical: 0, issue: 'letsencrypt.org' }] }, { 'www.example.com': 'alias.example.net' }));
    expect(await check('www.example.com', lookup)).toMatchObject({ permitted: false, relevantName: 'example.com' });
  });

  it('ends a CNAME loop with no records, and keeps a SERVFAIL anywhere on the chain an error', async () => {
    expect(await caaLookup([], resolver({}, { 'a.example.com': 'b.example.com', 'b.example.com': 'a.example.com' }))('a.example.com')).toEqual([]);
    const servfail = caaLookup([], resolver({}, { 'www.example.com': 'alias.example.net' }, { 'alias.example.net': 'ESERVFAIL' }));
    expect(await servfail('www.example.com')).toEqual({ error: 'ESERVFAIL' });
    expect(await check('www.example.com', servfail)).toEqual({ permitted: 'unknown', name: 'www.example.com', error: 'ESERVFAIL' });
    expect(await caaLookup([], resolver({}, {}))('nothing.example.com')).toEqual([]);
  });
});

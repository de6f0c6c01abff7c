import http from 'node:http';
import https from 'node:https';
import { AddressInfo } from 'node:net';
import * as acme from 'acme-client';
import type { Authorization } from 'acme-client/types/rfc8555';
import { AcmeProxy, startAcmeProxy } from '../../sandbox/services/acmeProxy';
import { CaaAnswer, CaaDecision, CaaLookupError, CaaRecord, chasingCnames, checkCaa, DnsQueryError, MAX_CNAME_HOPS, SANDBOX_CAA_IDENTITY } from '../../sandbox/services/caaCheck';
import { PebbleCa, startPebble } from '../../sandbox/services/pebble';
import { createSandboxCa } from '../../sandbox/tls/ca';

/**
 * The sandbox CA's CAA check (sandbox/services/caaCheck.ts): Boulder's decisions (va/caa.go and its
 * caa_test.go cases, re-expressed) against a fake DNS, then the ACME proxy in front of Pebble driven
 * by acme-client, with CAA records served by pebble-challtestsrv.
 */
describe('CAA decisions (Boulder va/caa.go)', () => {
  const ACCOUNT = 'https://ca.test/my-account/1';
  type Zone = Record<string, CaaRecord[] | 'SERVFAIL'>;
  const issue = (value: string, flags = 0): CaaRecord => ({ flags, tag: 'issue', value });
  const issuewild = (value: string): CaaRecord => ({ flags: 0, tag: 'issuewild', value });

  async function decide(zone: Zone, identifier: string, options: { method?: string; account?: string } = {}): Promise<CaaDecision & { asked: string[] }> {
    const asked: string[] = [];
    const lookup = (name: string): Promise<CaaRecord[]> => {
      asked.push(name);
      const answer = zone[name] ?? [];
      if (answer === 'SERVFAIL') return Promise.reject(new CaaLookupError(`DNS problem: SERVFAIL looking up CAA for ${name} - the domain's nameservers may be malfunctioning`));
      return Promise.resolve(answer);
    };
    const decision = await checkCaa({ identifier, accountUri: options.account ?? ACCOUNT, validationMethod: options.method ?? 'http-01', issuerDomain: SANDBOX_CAA_IDENTITY }, lookup);
    return { ...decision, asked };
  }
  const allowed = async (zone: Zone, identifier: string, options?: { method?: string; account?: string }): Promise<boolean> => (await decide(zone, identifier, options)).allowed;

  it('asks every name from the FQDN to the TLD, and allows when none has CAA records', async () => {
    const result = await decide({}, 'www.shop.example.com');
    expect(result).toMatchObject({ allowed: true, foundAt: '' });
    expect(result.asked.sort()).toEqual(['com', 'example.com', 'shop.example.com', 'www.shop.example.com']);
  });

  it('takes the closest RRset up the tree, and words the refusal as Boulder does', async () => {
    const zone: Zone = { 'example.com': [issue('other-ca.example')], 'shop.example.com': [issue(SANDBOX_CAA_IDENTITY)] };
    expect(await decide(zone, 'www.shop.example.com')).toMatchObject({ allowed: true, foundAt: 'shop.example.com' });
    const refused = await decide(zone, 'Www.Example.com');
    expect(refused).toMatchObject({
      allowed: false,
      foundAt: 'example.com',
      problem: { type: 'urn:ietf:params:acme:error:caa', status: 403, detail: 'While processing CAA for Www.Example.com: CAA record for example.com prevents issuance' },
    });
    expect(await allowed({ com: [issue('other-ca.example')] }, 'example.com')).toBe(false);
  });

  it('matches the issuer domain exactly, and ";" forbids every CA', async () => {
    expect(await allowed({ 'a.test': [issue(SANDBOX_CAA_IDENTITY.toUpperCase())] }, 'a.test')).toBe(false);
    expect(await allowed({ 'a.test': [issue(`${SANDBOX_CAA_IDENTITY}.`)] }, 'a.test')).toBe(false);
    expect(await allowed({ 'a.test': [issue(';')] }, 'a.test')).toBe(false);
    expect(await allowed({ 'a.test': [issue('other-ca.example'), issue(SANDBOX_CAA_IDENTITY)] }, 'a.test')).toBe(true);
    // The tag is compared without case; the refusal here is other-ca's, not the tag's.
    expect(await allowed({ 'a.test': [{ flags: 0, tag: 'iSsUe', value: 'other-ca.example' }] }, 'a.test')).toBe(false);
    expect(await allowed({ 'a.test': [{ flags: 0, tag: 'ISSUE', value: SANDBOX_CAA_IDENTITY }] }, 'a.test')).toBe(true);
  });

  it('uses issuewild for a wildcard only when the RRset has one (RFC 8659 section 5.3)', async () => {
    expect(await allowed({ 'a.test': [issuewild(';')] }, 'a.test')).toBe(true);
    expect(await allowed({ 'a.test': [issuewild(';')] }, '*.a.test')).toBe(false);
    expect(await allowed({ 'a.test': [issue(SANDBOX_CAA_IDENTITY), issuewild('other-ca.example')] }, '*.a.test')).toBe(false);
    expect(await allowed({ 'a.test': [issue('other-ca.example'), issuewild(SANDBOX_CAA_IDENTITY)] }, '*.a.test')).toBe(true);
    expect(await allowed({ 'a.test': [issue(SANDBOX_CAA_IDENTITY)] }, '*.a.test')).toBe(true);
    expect(await allowed({ 'a.test': [issuewild('other-ca.example'), issuewild(SANDBOX_CAA_IDENTITY)] }, '*.a.test')).toBe(true);
    const refused = await decide({ 'a.test': [issuewild(';')] }, '*.a.test');
    expect(refused).toMatchObject({ foundAt: 'a.test', problem: { detail: 'While processing CAA for *.a.test: CAA record for a.test prevents issuance' } });
    expect(refused.asked).toEqual(expect.not.arrayContaining(['*.a.test']));
  });

  it('refuses on an unknown tag flagged critical (bit 128 or, as Boulder also reads it, bit 1)', async () => {
    const ours = issue(SANDBOX_CAA_IDENTITY);
    expect(await allowed({ 'a.test': [ours, { flags: 128, tag: 'tbs', value: 'x' }] }, 'a.test')).toBe(false);
    expect(await allowed({ 'a.test': [ours, { flags: 1, tag: 'tbs', value: 'x' }] }, 'a.test')).toBe(false);
    expect(await allowed({ 'a.test': [ours, { flags: 0x7e, tag: 'tbs', value: 'x' }] }, 'a.test')).toBe(true);
    for (const known of ['iodef', 'issuemail', 'issuevmc']) {
      expect(await allowed({ 'a.test': [ours, { flags: 128, tag: known, value: 'x' }] }, 'a.test')).toBe(true);
    }
    expect(await allowed({ 'a.test': [issue(SANDBOX_CAA_IDENTITY, 128)] }, 'a.test')).toBe(true);
    // Only non-issue records: the RRset is relevant (no climbing past it) but says nothing about issue.
    expect(await decide({ 'a.test': [{ flags: 0, tag: 'iodef', value: 'mailto:x@a.test' }], test: [issue(';')] }, 'a.test')).toMatchObject({ allowed: true, foundAt: 'a.test' });
  });

  it("parses parameters as Boulder's parseCAARecord: malformed records authorize nobody", async () => {
    const one = (value: string): Promise<boolean> => allowed({ 'a.test': [issue(value)] }, 'a.test');
    expect(await one(`  ${SANDBOX_CAA_IDENTITY}  ;foo=bar;baz=bar`)).toBe(true);
    expect(await one(`${SANDBOX_CAA_IDENTITY};`)).toBe(true);
    expect(await one(`${SANDBOX_CAA_IDENTITY}; ; `)).toBe(false);
    expect(await one(`${SANDBOX_CAA_IDENTITY}; novalue`)).toBe(false);
    expect(await one(`${SANDBOX_CAA_IDENTITY}; a_b=1`)).toBe(false);
    expect(await one(`${SANDBOX_CAA_IDENTITY}; a-b=1`)).toBe(false); // Boulder allows letters and digits only
    expect(await one(`${SANDBOX_CAA_IDENTITY}; ab=1 2 3`)).toBe(false);
    expect(await one(`${SANDBOX_CAA_IDENTITY}; ab=x=y`)).toBe(true);
    expect(await one(`${SANDBOX_CAA_IDENTITY}; ab = x ; cd=`)).toBe(true);
    expect(await one(`${SANDBOX_CAA_IDENTITY}; =x`)).toBe(false); // stricter than Boulder: RFC 8659's tag is never empty
    expect(await one(`${SANDBOX_CAA_IDENTITY};\tab=\u00e9`)).toBe(false);
    expect(await one(`${SANDBOX_CAA_IDENTITY}\u00a0`)).toBe(false); // only space and tab are trimmed
  });

  it('honours accounturi as Boulder does (RFC 8657 section 3)', async () => {
    const record = (params: string): Zone => ({ 'a.test': [issue(`${SANDBOX_CAA_IDENTITY}; ${params}`)] });
    expect(await allowed(record(`accounturi=${ACCOUNT}`), 'a.test')).toBe(true);
    expect(await allowed(record('accounturi=https://ca.test/my-account/2'), 'a.test')).toBe(false);
    expect(await allowed(record(`accounturi=${ACCOUNT}/`), 'a.test')).toBe(false);
    expect(await allowed(record(`accounturi=${ACCOUNT}; accounturi=${ACCOUNT}`), 'a.test')).toBe(false);
    expect(await allowed(record(`AccountURI=https://ca.test/my-account/2`), 'a.test')).toBe(true); // tags are case-sensitive: unknown, ignored
    const twoRecords: Zone = { 'a.test': [issue(`${SANDBOX_CAA_IDENTITY}; accounturi=https://ca.test/my-account/2`), issue(`${SANDBOX_CAA_IDENTITY}; accounturi=${ACCOUNT}`)] };
    expect(await allowed(twoRecords, 'a.test')).toBe(true);
  });

  it('honours validationmethods as Boulder does (RFC 8657 section 4)', async () => {
    const record = (params: string): Zone => ({ 'a.test': [issue(`${SANDBOX_CAA_IDENTITY}; ${params}`)] });
    expect(await allowed(record('validationmethods=dns-01'), 'a.test')).toBe(false);
    expect(await allowed(record('validationmethods=dns-01'), 'a.test', { method: 'dns-01' })).toBe(true);
    expect(await allowed(record('validationmethods=http-01,dns-01'), 'a.test')).toBe(true);
    expect(await allowed(record('validationmethods=future-method,http-01'), 'a.test')).toBe(true);
    expect(await allowed(record('validationmethods=HTTP-01'), 'a.test')).toBe(false);
    // Stricter than Boulder (which stops at the first match): a value off RFC 8657's grammar allows nothing.
    expect(await allowed(record('validationmethods=http-01,'), 'a.test')).toBe(false);
    expect(await allowed(record('validationmethods=http-01,http_01'), 'a.test')).toBe(false);
    expect(await allowed(record('validationmethods=http_01,http-01'), 'a.test')).toBe(false);
    expect(await allowed(record('validationmethods='), 'a.test')).toBe(false);
    expect(await allowed(record('validationmethods=http-01; validationmethods=http-01'), 'a.test')).toBe(false);
    expect(await allowed(record(`accounturi=${ACCOUNT}; validationmethods=dns-01`), 'a.test')).toBe(false);
  });

  it('refuses with a dns problem when a lookup fails before the relevant RRset is found', async () => {
    const servfail = await decide({ 'example.com': 'SERVFAIL' }, 'www.example.com');
    expect(servfail).toMatchObject({
      allowed: false,
      problem: {
        type: 'urn:ietf:params:acme:error:dns',
        status: 400,
        detail: "While processing CAA for www.example.com: DNS problem: SERVFAIL looking up CAA for example.com - the domain's nameservers may be malfunctioning",
      },
    });
    expect(await allowed({ 'www.example.com': 'SERVFAIL', 'example.com': [issue(SANDBOX_CAA_IDENTITY)] }, 'www.example.com')).toBe(false);
    // Boulder's "present.servfail.com": a failure above the relevant RRset does not matter.
    expect(await allowed({ 'www.example.com': [issue(SANDBOX_CAA_IDENTITY)], com: 'SERVFAIL' }, 'www.example.com')).toBe(true);
    // Anything else thrown by a lookup is a failure too, never "no records".
    const broken = await checkCaa({ identifier: 'a.test', accountUri: ACCOUNT, validationMethod: 'http-01', issuerDomain: SANDBOX_CAA_IDENTITY }, () => Promise.reject(new Error('boom')));
    expect(broken).toMatchObject({ allowed: false, problem: { type: 'urn:ietf:params:acme:error:dns' } });
  });
});

describe('CAA through CNAME chains (Boulder\'s resolver snaps the whole chain)', () => {
  const ACCOUNT = 'https://ca.test/my-account/1';
  /** Each name's own answer: CAA records, a CNAME target, or a failure; nothing followed. */
  type Names = Record<string, CaaRecord[] | { cname: string } | 'SERVFAIL'>;
  const issue = (value: string): CaaRecord => ({ flags: 0, tag: 'issue', value });

  function query(names: Names, asked: string[] = []) {
    return (name: string): Promise<CaaAnswer> => {
      asked.push(name);
      const answer = names[name] ?? [];
      if (answer === 'SERVFAIL') return Promise.reject(new DnsQueryError('ESERVFAIL'));
      return Promise.resolve(Array.isArray(answer) ? { records: answer } : { records: [], cname: answer.cname });
    };
  }
  const decide = (names: Names, identifier: string): Promise<CaaDecision> =>
    checkCaa({ identifier, accountUri: ACCOUNT, validationMethod: 'dns-01', issuerDomain: SANDBOX_CAA_IDENTITY }, chasingCnames(query(names)));

  it('sees a forbidding CAA two hops away, at the name asked (the chain\'s end is that name\'s RRset)', async () => {
    const names: Names = { 'www.a.test': { cname: 'one.b.test' }, 'one.b.test': { cname: 'two.c.test' }, 'two.c.test': [issue('other-ca.example')], 'a.test': [issue(SANDBOX_CAA_IDENTITY)] };
    expect(await decide(names, 'www.a.test')).toMatchObject({
      allowed: false,
      foundAt: 'www.a.test',
      problem: { type: 'urn:ietf:params:acme:error:caa', detail: 'While processing CAA for www.a.test: CAA record for www.a.test prevents issuance' },
    });
    // The target's parents are not climbed (RFC 8659): an empty chain's end falls back to the asked name's parents.
    const empty: Names = { 'www.a.test': { cname: 'one.b.test' }, 'b.test': [issue('other-ca.example')], 'a.test': [issue(SANDBOX_CAA_IDENTITY)] };
    expect(await decide(empty, 'www.a.test')).toMatchObject({ allowed: true, foundAt: 'a.test' });
  });

  it('fails with a dns problem, worded with the name asked, on a SERVFAIL two hops away', async () => {
    const names: Names = { 'www.a.test': { cname: 'one.b.test' }, 'one.b.test': { cname: 'two.c.test' }, 'two.c.test': 'SERVFAIL', 'a.test': [issue(SANDBOX_CAA_IDENTITY)] };
    expect(await decide(names, 'www.a.test')).toMatchObject({
      allowed: false,
      problem: {
        type: 'urn:ietf:params:acme:error:dns',
        status: 400,
        detail: "While processing CAA for www.a.test: DNS problem: SERVFAIL looking up CAA for www.a.test - the domain's nameservers may be malfunctioning",
      },
    });
  });

  it('fails on a CNAME loop and on a chain longer than MAX_CNAME_HOPS, and follows one of exactly that length', async () => {
    const loop: Names = { 'www.a.test': { cname: 'x.b.test' }, 'x.b.test': { cname: 'WWW.a.test.' } };
    expect(await decide(loop, 'www.a.test')).toMatchObject({ allowed: false, problem: { type: 'urn:ietf:params:acme:error:dns', detail: expect.stringContaining('SERVFAIL looking up CAA for www.a.test') } });
    const chain = (hops: number): Names => {
      const names: Names = {};
      for (let i = 0; i < hops; i += 1) names[i === 0 ? 'www.a.test' : `h${i}.b.test`] = { cname: `h${i + 1}.b.test` };
      names[`h${hops}.b.test`] = [issue('other-ca.example')];
      return names;
    };
    expect(await decide(chain(MAX_CNAME_HOPS), 'www.a.test')).toMatchObject({ allowed: false, problem: { type: 'urn:ietf:params:acme:error:caa' } });
    expect(await decide(chain(MAX_CNAME_HOPS + 1), 'www.a.test')).toMatchObject({ allowed: false, problem: { type: 'urn:ietf:params:acme:error:dns' } });
  });

  it('stops at the first name in the chain that has CAA records', async () => {
    const asked: string[] = [];
    const names: Names = { 'a.test': { cname: 'one.b.test' }, 'one.b.test': [issue(SANDBOX_CAA_IDENTITY)], 'two.c.test': [issue(';')] };
    const lookup = chasingCnames(query(names, asked));
    expect(await lookup('a.test')).toEqual([issue(SANDBOX_CAA_IDENTITY)]);
    expect(asked).toEqual(['a.test', 'one.b.test']);
    await expect(chasingCnames(() => Promise.reject(new Error('boom')))('a.test')).rejects.toThrow(CaaLookupError);
  });
});

describe('the ACME proxy refuses by CAA (Pebble + pebble-challtestsrv + acme-client)', () => {
  const ca = createSandboxCa();
  const keyAuthorizations = new Map<string, string>();
  let httpServer: http.Server;
  let pebble: PebbleCa;
  let proxy: AcmeProxy;
  let client: acme.Client;

  const challtestsrv = async (route: string, body: object): Promise<void> => {
    const response = await fetch(`${pebble.challtestsrvUrl}${route}`, { method: 'POST', body: JSON.stringify(body) });
    if (!response.ok) throw new Error(`challtestsrv ${route}: ${response.status}`);
  };
  const addCaa = (host: string, ...policies: { tag: string; value: string }[]): Promise<void> => challtestsrv('/add-caa', { host: `${host}.`, policies });

  beforeAll(async () => {
    // Pebble's HTTP-01 validator connects here (challtestsrv answers 127.0.0.1 for every name).
    httpServer = http.createServer((req, res) => {
      const token = (req.url ?? '').split('/').pop() ?? '';
      const keyAuthorization = keyAuthorizations.get(token);
      res.writeHead(keyAuthorization ? 200 : 404).end(keyAuthorization ?? '');
    });
    await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
    pebble = await startPebble({ ca, httpPort: (httpServer.address() as AddressInfo).port });
    proxy = await startAcmeProxy({ ca, upstreamDirectoryUrl: pebble.directoryUrl, dnsServer: pebble.dnsServer });
    acme.axios.defaults.httpsAgent = new https.Agent({ ca: ca.certPem });
    (acme.axios.defaults as unknown as { acmeSettings: { retryMaxAttempts: number } }).acmeSettings.retryMaxAttempts = 0;
    client = new acme.Client({ directoryUrl: proxy.directoryUrl, accountKey: await acme.crypto.createPrivateEcdsaKey() });
    await client.createAccount({ termsOfServiceAgreed: true });
  });
  afterAll(async () => {
    await proxy?.stop();
    await pebble?.stop();
    await new Promise((resolve) => httpServer?.close(resolve));
  });

  /** Orders `name`, answers its one challenge of `type`, and polls the authorization until it is no longer pending. */
  async function attempt(name: string, type = 'http-01', as = client) {
    const order = await as.createOrder({ identifiers: [{ type: 'dns', value: name }] });
    const [pending] = await as.getAuthorizations(order);
    const challenge = pending.challenges.find((c) => c.type === type);
    if (!challenge) throw new Error(`no ${type} challenge for ${name}`);
    keyAuthorizations.set(challenge.token, await as.getChallengeKeyAuthorization(challenge));
    const answered = await as.completeChallenge(challenge);
    let authz: Authorization = pending;
    for (let i = 0; i < 100 && ['pending', 'processing'].includes((authz = (await as.getAuthorizations(order))[0]).status); i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return { order, authz, answered, challengeUrl: challenge.url };
  }

  it('advertises its issuer domain in the directory meta (RFC 8555 section 7.1.1)', async () => {
    const directory = (await acme.axios.get<{ meta: { caaIdentities?: string[] } }>(proxy.directoryUrl)).data;
    expect(directory.meta.caaIdentities).toEqual([SANDBOX_CAA_IDENTITY]);
    expect(proxy.caaIdentity).toBe(SANDBOX_CAA_IDENTITY);
  });

  it('issues for a name whose CAA names the sandbox CA', async () => {
    await addCaa('allowed.caa.example', { tag: 'issue', value: SANDBOX_CAA_IDENTITY });
    const checks = proxy.caaChecks;
    const { order, authz } = await attempt('allowed.caa.example');
    expect(authz.status).toBe('valid');
    expect(proxy.caaChecks).toBe(checks + 1);
    const [, csr] = await acme.crypto.createCsr({ commonName: 'allowed.caa.example' });
    await client.finalizeOrder(order, csr);
    expect((await client.waitForValidStatus(order)).status).toBe('valid');
  });

  it('refuses a name whose CAA names another CA: invalid authorization and order, finalize refused', async () => {
    await addCaa('refused.caa.example', { tag: 'issue', value: 'other-ca.example' });
    const refusals = proxy.caaRefusals.length;
    const { order, authz, answered, challengeUrl } = await attempt('refused.caa.example');
    expect(answered.status).toBe('processing'); // RFC 8555 section 7.5.1: validation under way
    expect(authz.status).toBe('invalid');
    expect(authz.challenges).toHaveLength(1); // Boulder lists only the attempted challenge once one was
    expect(authz.challenges[0]).toMatchObject({
      type: 'http-01',
      status: 'invalid',
      error: { type: 'urn:ietf:params:acme:error:caa', status: 403, detail: 'While processing CAA for refused.caa.example: CAA record for refused.caa.example prevents issuance' },
    });
    // The challenge itself, read with POST-as-GET, carries the same problem.
    await expect(client.waitForValidStatus({ ...authz.challenges[0], url: challengeUrl })).rejects.toThrow('CAA record for refused.caa.example prevents issuance');
    expect((await client.getOrder(order)).status).toBe('invalid');
    const [, csr] = await acme.crypto.createCsr({ commonName: 'refused.caa.example' });
    await expect(client.finalizeOrder(order, csr)).rejects.toThrow('Order\'s status ("invalid") is not acceptable for finalization');
    await expect(client.completeChallenge(authz.challenges[0])).rejects.toThrow('authorization must be pending');
    expect(proxy.caaRefusals).toHaveLength(refusals + 1);
    expect(proxy.caaRefusals.at(-1)).toMatchObject({ identifier: 'refused.caa.example', accountUri: client.getAccountUrl(), validationMethod: 'http-01', challengeUrl });
  });

  it('refuses a wildcard by issuewild, naming the wildcard as Boulder does', async () => {
    await addCaa('wild.caa.example', { tag: 'issue', value: SANDBOX_CAA_IDENTITY }, { tag: 'issuewild', value: 'other-ca.example' });
    const { authz } = await attempt('*.wild.caa.example', 'dns-01');
    expect(authz).toMatchObject({ status: 'invalid', wildcard: true });
    expect(authz.challenges[0].error).toMatchObject({ detail: 'While processing CAA for *.wild.caa.example: CAA record for wild.caa.example prevents issuance' });
  });

  it('refuses with a dns problem when a CAA lookup up the tree fails (SERVFAIL)', async () => {
    await challtestsrv('/set-servfail', { host: 'servfail.caa.example.' });
    const { authz } = await attempt('www.servfail.caa.example');
    expect(authz.status).toBe('invalid');
    expect(authz.challenges[0].error).toEqual({
      type: 'urn:ietf:params:acme:error:dns',
      status: 400,
      detail: "While processing CAA for www.servfail.caa.example: DNS problem: SERVFAIL looking up CAA for servfail.caa.example - the domain's nameservers may be malfunctioning",
    });
  });

  it('follows a chain of two CNAMEs that challtestsrv would follow one level only: a forbidding CAA, then a SERVFAIL, at the end', async () => {
    await challtestsrv('/set-cname', { host: 'chain.caa.example.', target: 'hop1.caa-target.example.' });
    await challtestsrv('/set-cname', { host: 'hop1.caa-target.example.', target: 'hop2.caa-target.example.' });
    await addCaa('hop2.caa-target.example', { tag: 'issue', value: 'other-ca.example' });
    const forbidden = await attempt('chain.caa.example', 'dns-01');
    expect(forbidden.authz.status).toBe('invalid');
    expect(forbidden.authz.challenges[0].error).toMatchObject({ type: 'urn:ietf:params:acme:error:caa', detail: 'While processing CAA for chain.caa.example: CAA record for chain.caa.example prevents issuance' });
    await challtestsrv('/set-cname', { host: 'chain-fail.caa.example.', target: 'hop1-fail.caa-target.example.' });
    await challtestsrv('/set-cname', { host: 'hop1-fail.caa-target.example.', target: 'hop2-fail.caa-target.example.' });
    await challtestsrv('/set-servfail', { host: 'hop2-fail.caa-target.example.' });
    const failed = await attempt('chain-fail.caa.example', 'dns-01');
    expect(failed.authz.challenges[0].error).toEqual({
      type: 'urn:ietf:params:acme:error:dns',
      status: 400,
      detail: "While processing CAA for chain-fail.caa.example: DNS problem: SERVFAIL looking up CAA for chain-fail.caa.example - the domain's nameservers may be malfunctioning",
    });
  });

  it('honours accounturi: another account is refused, the named one validates', async () => {
    const other = new acme.Client({ directoryUrl: proxy.directoryUrl, accountKey: await acme.crypto.createPrivateEcdsaKey() });
    await other.createAccount({ termsOfServiceAgreed: true });
    await addCaa('account.caa.example', { tag: 'issue', value: `${SANDBOX_CAA_IDENTITY}; accounturi=${other.getAccountUrl()}` });
    const mine = await attempt('account.caa.example');
    expect(mine.authz.challenges[0].error).toMatchObject({ type: 'urn:ietf:params:acme:error:caa' });
    expect((await attempt('account.caa.example', 'http-01', other)).authz.status).toBe('valid');
  });
});

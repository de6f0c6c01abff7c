import { CaaRecord as NodeCaaRecord, promises as dns } from 'node:dns';

/**
 * The sandbox CA's CAA check, as Let's Encrypt's Boulder makes it (va/caa.go, bdns/dns.go and
 * bdns/problem.go, read at letsencrypt/boulder 2d00c8e). Pebble 2.4.0 checks no CAA at all (its va/
 * has none), so the ACME proxy does it. Written apart from the app's own pre-flight (src/domain/caa.ts)
 * on purpose: a wrong pre-flight must be caught here, not repeated.
 */

/** The CA's issuer domain name (RFC 8659 section 4.2), the proxy's default and its directory's `meta.caaIdentities`. */
export const SANDBOX_CAA_IDENTITY = 'pebble.letsencrypt.org'; // what newer Pebble advertises by default (cmd/pebble/main.go)

/** One CAA resource record (RFC 8659 section 4.1). */
export interface CaaRecord {
  flags: number;
  tag: string;
  value: string;
}

/** A DNS failure worded as Boulder's bdns.Error ("DNS problem: ... looking up CAA for ..."). */
export class CaaLookupError extends Error {}

/** The CAA RRset at one name (its CNAME chain followed: chasingCnames), [] for none; throws CaaLookupError on failure. */
export type CaaLookup = (name: string) => Promise<CaaRecord[]>;

/** An RFC 8555 section 6.7 problem document as Boulder's probs package builds it. */
export interface CaaProblem {
  type: 'urn:ietf:params:acme:error:caa' | 'urn:ietf:params:acme:error:dns';
  detail: string;
  status: number;
}

export interface CaaCheckInput {
  /** The authorization's DNS name as the order has it: `*.` first for a wildcard. */
  identifier: string;
  /** The account's URI (the JWS kid), for RFC 8657 `accounturi`. */
  accountUri: string;
  /** The challenge type being validated, for RFC 8657 `validationmethods`. */
  validationMethod: string;
  /** The CA's issuer domain name. */
  issuerDomain: string;
}

/** `foundAt` is the name whose RRset decided ('' when no name has CAA records). */
export type CaaDecision = { allowed: true; foundAt: string } | { allowed: false; foundAt: string; problem: CaaProblem };

// Boulder core.AcmeChallenge.IsValid (core/objects.go): the methods a validationmethods entry may name.
const KNOWN_METHODS = new Set(['http-01', 'dns-01', 'tls-alpn-01', 'dns-account-01', 'dns-persist-01']);

/** Boulder checkCAA (va/caa.go): tree-climb, pick the relevant RRset, decide; a lookup failure refuses with a dns problem. */
export async function checkCaa(input: CaaCheckInput, lookup: CaaLookup): Promise<CaaDecision> {
  // Boulder checkCAARecords: lower-case, then strip the wildcard prefix and remember it.
  let hostname = input.identifier.toLowerCase();
  const wildcard = hostname.startsWith('*.');
  if (wildcard) hostname = hostname.slice(2);
  let relevant: RelevantSet | undefined;
  try {
    relevant = await relevantRRset(hostname, lookup);
  } catch (error) {
    // Boulder checkCAA: berrors.DNSError; DoCAA prefixes "While processing CAA for <identifier>: " (probs.DNS: 400).
    const why = error instanceof CaaLookupError ? error.message : `DNS problem: server failure at resolver looking up CAA for ${hostname}`;
    return { allowed: false, foundAt: '', problem: { type: 'urn:ietf:params:acme:error:dns', detail: `While processing CAA for ${input.identifier}: ${why}`, status: 400 } };
  }
  if (validateCaa(relevant, wildcard, input)) return { allowed: true, foundAt: relevant?.name ?? '' };
  const foundAt = relevant?.name ?? '';
  // Boulder checkCAA: berrors.CAAError("CAA record for %s prevents issuance", foundAt); probs.CAA is 403.
  const detail = `While processing CAA for ${input.identifier}: CAA record for ${foundAt} prevents issuance`;
  return { allowed: false, foundAt, problem: { type: 'urn:ietf:params:acme:error:caa', detail, status: 403 } };
}

interface RelevantSet {
  name: string;
  issue: CaaRecord[];
  issuewild: CaaRecord[];
  criticalUnknown: boolean;
}

/**
 * RFC 8659 section 3 as Boulder's getCAA/parallelCAALookup/selectCAA do it: every name from the FQDN
 * up to the TLD is asked at once; walking up from the FQDN, a failure before the first non-empty
 * RRset is returned as the error (records could hide behind it); the first non-empty RRset is relevant.
 */
async function relevantRRset(hostname: string, lookup: CaaLookup): Promise<RelevantSet | undefined> {
  const trimmed = hostname.replace(/\.+$/, ''); // Boulder getCAA: strings.TrimRight(hostname, ".")
  const labels = trimmed.split('.');
  const names = labels.map((_, i) => labels.slice(i).join('.'));
  const answers = await Promise.all(names.map((name) => lookup(name).then((records) => ({ records }), (error: unknown) => ({ error }))));
  for (const [i, answer] of answers.entries()) {
    if ('error' in answer) throw answer.error;
    if (answer.records.length > 0) return { name: names[i], ...filterCaa(answer.records) };
  }
  return undefined;
}

/** Boulder filterCAA: issue and issuewild kept; iodef, issuemail, issuevmc known; any other tag with flag 128 or 1 is critical. */
function filterCaa(records: CaaRecord[]): Omit<RelevantSet, 'name'> {
  const set: Omit<RelevantSet, 'name'> = { issue: [], issuewild: [], criticalUnknown: false };
  for (const record of records) {
    const tag = record.tag.toLowerCase(); // Boulder: strings.ToLower(caaRecord.Tag)
    if (tag === 'issue') set.issue.push(record);
    else if (tag === 'issuewild') set.issuewild.push(record);
    else if (['iodef', 'issuemail', 'issuevmc'].includes(tag)) continue;
    // Boulder: the bit with significance 1 is widely mistaken for the critical bit, so both count.
    else if ((record.flags & (128 | 1)) !== 0) set.criticalUnknown = true;
  }
  return set;
}

/** Boulder validateCAA (RFC 8659 section 5.3 for issuewild). */
function validateCaa(set: RelevantSet | undefined, wildcard: boolean, input: CaaCheckInput): boolean {
  if (!set) return true; // no CAA records anywhere up the tree
  if (set.criticalUnknown) return false;
  const records = wildcard && set.issuewild.length > 0 ? set.issuewild : set.issue;
  if (records.length === 0) return true; // records, but none about this kind of issuance
  return records.some((record) => {
    const parsed = parseCaaValue(record.value);
    if (!parsed) return false; // a malformed record authorizes nobody
    return (
      parsed.issuerDomain === input.issuerDomain && // Boulder caaDomainMatches: exact, case and all
      accountUriMatches(parsed.parameters, input.accountUri) &&
      validationMethodMatches(parsed.parameters, input.validationMethod)
    );
  });
}

interface CaaParameter {
  tag: string;
  value: string;
}

const trimWsp = (text: string): string => text.replace(/^[ \t]+|[ \t]+$/g, ''); // Boulder isWSP: tab or space only

/** Boulder parseCAARecord (RFC 8659 section 4.2 and 4.3); undefined when malformed. */
export function parseCaaValue(value: string): { issuerDomain: string; parameters: CaaParameter[] } | undefined {
  const parts = value.split(';');
  const issuerDomain = trimWsp(parts[0]);
  const list = parts.slice(1);
  // Boulder: one trailing ";" with nothing after it means no parameters.
  if (list.length === 1 && trimWsp(list[0]) === '') return { issuerDomain, parameters: [] };
  const parameters: CaaParameter[] = [];
  for (const parameter of list) {
    const equals = parameter.indexOf('=');
    if (equals < 0) return undefined; // "parameter not formatted as tag=value"
    const tag = trimWsp(parameter.slice(0, equals));
    // Boulder accepts ASCII letters and digits only in a tag (stricter than the ABNF's inner "-"), but an
    // empty tag too; RFC 8659 section 4.2's `tag` has at least one character: the stricter of the two.
    if (!/^[A-Za-z0-9]+$/.test(tag)) return undefined;
    const val = trimWsp(parameter.slice(equals + 1));
    if (![...val].every((c) => c >= '\x21' && c <= '\x7e' && c !== ';')) return undefined; // value = *(%x21-3A / %x3C-7E)
    parameters.push({ tag, value: val });
  }
  return { issuerDomain, parameters };
}

/** Boulder caaAccountURIMatches (RFC 8657 section 3): none matches all; two are unsatisfiable; else exactly this account. */
function accountUriMatches(parameters: CaaParameter[], accountUri: string): boolean {
  const found = parameters.filter((p) => p.tag === 'accounturi');
  if (found.length === 0) return true;
  if (found.length > 1) return false;
  return found[0].value === accountUri;
}

/** Boulder caaValidationMethodMatches (RFC 8657 section 4): one parameter at most, labels by the ABNF, exact names. */
function validationMethodMatches(parameters: CaaParameter[], method: string): boolean {
  const found = parameters.filter((p) => p.tag === 'validationmethods');
  if (found.length === 0) return true;
  if (found.length > 1) return false; // Boulder's choice, like accounturi (RFC 8657 section 5.8)
  const labels = found[0].value.split(',');
  // label = 1*(ALPHA / DIGIT / "-"). Boulder stops at the first label that matches, so "http-01,"
  // passes there; the RFC's grammar makes the whole value malformed: the stricter reading, every label.
  if (!labels.every((label) => /^[A-Za-z0-9-]+$/.test(label))) return false;
  return labels.some((label) => KNOWN_METHODS.has(label) && label === method); // unknown methods are skipped
}

/** A name's own answer to a CAA query: its CAA records, and the target of its CNAME when it has one. */
export interface CaaAnswer {
  records: CaaRecord[];
  cname?: string;
}

/** A failed query, coded as node:dns codes it (ESERVFAIL, ETIMEOUT, ENOTFOUND at a TLD...). */
export class DnsQueryError extends Error {
  constructor(readonly code: string) {
    super(code);
  }
}

/** One query at one name, no CNAME followed by the caller; throws DnsQueryError on failure. */
export type CaaQuery = (name: string) => Promise<CaaAnswer>;

/**
 * CNAME hops followed from one name. A recursive resolver has a limit of its own (unbound, which
 * Boulder uses, restarts a query a bounded number of times); 8 is at most that (unverified), so a
 * longer chain fails here where it might not at Let's Encrypt: the stricter side.
 */
export const MAX_CNAME_HOPS = 8;

/**
 * The CAA RRset at a name with its CNAME chain followed to the end, as Boulder's resolver does (va/caa.go
 * getCAA: "We depend on our resolver to snap CNAME and DNAME records"): while a name has no CAA records,
 * its CNAME's target is asked, so a forbidding CAA or a SERVFAIL several hops away is seen (pebble-
 * challtestsrv follows a CNAME one level only, and fails only on the name queried). A failure anywhere in
 * the chain is the failure of the name asked, worded with that name (the resolver answers the original
 * query with it). A loop, or more than MAX_CNAME_HOPS hops, fails as SERVFAIL (a recursive resolver's
 * answer to a chain it gives up on; unverified for Boulder's: the stricter reading, which refuses).
 */
export function chasingCnames(query: CaaQuery): CaaLookup {
  return async (name) => {
    const seen = new Set<string>();
    let current = name;
    for (let hop = 0; hop <= MAX_CNAME_HOPS; hop += 1) {
      seen.add(current.toLowerCase().replace(/\.+$/, ''));
      let answer: CaaAnswer;
      try {
        answer = await query(current);
      } catch (error) {
        throw new CaaLookupError(bdnsWording(error instanceof DnsQueryError ? error.code : '', name));
      }
      if (answer.records.length > 0) return answer.records;
      if (answer.cname === undefined) return [];
      current = answer.cname;
      if (seen.has(current.toLowerCase().replace(/\.+$/, ''))) break;
    }
    throw new CaaLookupError(bdnsWording('ESERVFAIL', name));
  };
}

/**
 * One CAA query with node:dns against one server (the sandbox's pebble-challtestsrv), and when it has no
 * CAA records, the name's CNAME. NXDOMAIN is an empty set below a TLD and a failure at a TLD (Boulder
 * LookupCAA). c-ares takes the CAA records challtestsrv serves behind the CNAME it follows itself.
 */
export function dnsCaaQuery(server: string, options: { timeoutMs?: number; tries?: number } = {}): CaaQuery {
  const resolver = new dns.Resolver({ timeout: options.timeoutMs ?? 2000, tries: options.tries ?? 2 });
  resolver.setServers([server]);
  /** No data, or NXDOMAIN below a TLD: nothing there; anything else is the query's failure. */
  const noneOrThrow = (name: string, error: unknown): void => {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (code === 'ENODATA' || (code === 'ENOTFOUND' && name.includes('.'))) return;
    throw new DnsQueryError(code);
  };
  return async (name) => {
    try {
      const records = (await resolver.resolveCaa(name)).map(fromNode);
      if (records.length > 0) return { records };
    } catch (error) {
      noneOrThrow(name, error);
    }
    try {
      const [cname] = await resolver.resolveCname(name);
      return cname ? { records: [], cname } : { records: [] };
    } catch (error) {
      noneOrThrow(name, error);
      return { records: [] };
    }
  };
}

/** CAA lookups against one DNS server, CNAME chains followed (chasingCnames over dnsCaaQuery). */
export function dnsCaaLookup(server: string, options: { timeoutMs?: number; tries?: number } = {}): CaaLookup {
  return chasingCnames(dnsCaaQuery(server, options));
}

/**
 * bdns/problem.go Error(): "DNS problem: <rcode name or failure phrase> looking up CAA for <name>",
 * with its explanation after NXDOMAIN and SERVFAIL; anything else is "server failure at resolver".
 */
function bdnsWording(code: string, name: string): string {
  const rcodes: Record<string, [string, string?]> = {
    ENOTFOUND: ['NXDOMAIN', 'check that a DNS record exists for this domain'],
    ESERVFAIL: ['SERVFAIL', "the domain's nameservers may be malfunctioning"],
    EREFUSED: ['REFUSED'],
    ENOTIMP: ['NOTIMP'],
    EFORMERR: ['FORMERR'],
    ETIMEOUT: ['query timed out'],
    ECONNREFUSED: ['networking error'],
  };
  const [detail, explanation] = rcodes[code] ?? ['server failure at resolver'];
  return `DNS problem: ${detail} looking up CAA for ${name}${explanation ? ` - ${explanation}` : ''}`;
}

/**
 * Node's CaaRecord: `critical` holds the flags byte and the tag is the other key. A record whose tag
 * is itself "critical" overwrites the flags; its flags are then unknown and taken as critical (stricter).
 */
function fromNode(record: NodeCaaRecord): CaaRecord {
  const entries = Object.entries(record as unknown as Record<string, unknown>);
  const flags = typeof record.critical === 'number' ? record.critical : 128;
  const property = entries.find(([key]) => key !== 'critical');
  if (property) return { flags, tag: property[0], value: String(property[1]) };
  return { flags, tag: 'critical', value: String(record.critical) };
}

/**
 * CAA (RFC 8659, with RFC 8657's ACME parameters): may this CA issue for this name, to this
 * account, by this validation method? Pure: the DNS lookup is a function given in, so the rules
 * are tested on a corpus without a resolver (groundwork for the CAA pre-flight of issue #16).
 *
 * - The relevant RRset (RFC 8659 section 3): the CAA RRset of the name itself, CNAMEs followed by
 *   the resolver as in any lookup; if that is empty, the parent's, climbing up to but not
 *   including the root. (RFC 6844's climb from a CNAME target's parent was removed by RFC 8659.)
 * - An empty relevant RRset, or one with no issue property, permits any CA for a non-wildcard name
 *   (section 4.2); a wildcard name is governed by issuewild if the RRset has any, else by issue
 *   (section 4.3).
 * - A critical flag on a tag the CA does not understand forbids issuance (section 4.1). The flag is
 *   bit 128; Let's Encrypt's Boulder (va/caa.go filterCAA) also reads flag 1 as critical, and we
 *   predict what the CA decides, so both count. Understood tags: issue, issuewild, iodef, and the
 *   ones Boulder knows besides (issuemail, issuevmc), which do not govern TLS certificates.
 * - `issue` value, by the ABNF of section 4.2: `*WSP [issuer-domain-name *WSP] [";" *WSP
 *   [parameters *WSP]]`, WSP being space or tab, parameters `tag *WSP "=" *WSP value` separated by
 *   ";". An empty issuer authorizes no CA; a value that does not follow the grammar, or repeats a
 *   parameter (RFC 8657 section 3: unsatisfiable), authorizes no CA. The issuer is compared exactly,
 *   as Boulder does (caaDomainMatches), and parameter tags too (an unknown one is ignored).
 * - RFC 8657: `accounturi=<uri>` limits issuance to that ACME account (exact match; Boulder also
 *   accepts its legacy ACMEv1 account URLs, which this app never uses); `validationmethods` is a
 *   comma-separated list of method labels (section 4 grammar, compared exactly); a list that does
 *   not follow the grammar authorizes nothing.
 * - A lookup failure is not "no CAA": the CA/Browser Forum Baseline Requirements (section 3.2.2.8)
 *   let a CA treat only a lookup failure outside its infrastructure, with DNSSEC absent, as
 *   permission, and Boulder refuses on SERVFAIL; the caller decides with the error. The lookup
 *   answers [] for NXDOMAIN (no records at that name).
 */
export interface CaaRecord {
  flags: number;
  tag: string;
  value: string;
}

/** CAA records of exactly this name (CNAMEs followed), [] when it has none, or the lookup's error. */
export type CaaLookup = (name: string) => Promise<CaaRecord[] | { error: string }>;

export interface CaaRequest {
  /** The name to issue for; `*.example.com` for a wildcard. */
  hostname: string;
  /** The CA's `caaIdentities` from its directory's meta (RFC 8555 section 7.1.1). */
  caaIdentities: string[];
  /** The ACME account URL (RFC 8657 accounturi). */
  accountUri: string;
  /** The ACME challenge type the order will use (`http-01`, `dns-01`). */
  validationMethod: string;
}

export type CaaDecision =
  | { permitted: true; relevantName?: string }
  | { permitted: false; relevantName: string; record?: string; reason: string }
  | { permitted: 'unknown'; name: string; error: string };

/** Bit 128 is the RFC's issuer critical flag; Boulder also treats 1 as critical. */
const CRITICAL_FLAGS = 128 | 1;
const UNDERSTOOD_TAGS = new Set(['issue', 'issuewild', 'iodef', 'issuemail', 'issuevmc']);
const LABEL = '[A-Za-z0-9](?:-*[A-Za-z0-9])*';
const ISSUER = new RegExp(`^${LABEL}(?:\\.${LABEL})*$`);
const PARAMETER = new RegExp(`^(${LABEL})[ \\t]*=[ \\t]*([\\x21-\\x3a\\x3c-\\x7e]*)$`);
const METHODS = new RegExp(`^(?:${LABEL})(?:,${LABEL})*$`);
const trimWsp = (text: string): string => text.replace(/^[ \t]+|[ \t]+$/g, '');

interface IssueValue {
  /** As written; '' when the value authorizes no CA. */
  issuer: string;
  parameters: Map<string, string>;
}

/** Parses an issue / issuewild value; undefined when it does not follow the grammar (or repeats a parameter). */
export function parseIssueValue(value: string): IssueValue | undefined {
  const semicolon = value.indexOf(';');
  const issuerText = trimWsp(semicolon < 0 ? value : value.slice(0, semicolon));
  if (issuerText !== '' && !ISSUER.test(issuerText)) return undefined;
  const parameters = new Map<string, string>();
  if (semicolon >= 0) {
    const rest = trimWsp(value.slice(semicolon + 1));
    // `[parameters *WSP]` after the ";": none at all, or parameters separated by ";" with nothing empty.
    if (rest !== '') {
      for (const part of rest.split(';')) {
        const match = PARAMETER.exec(trimWsp(part));
        if (!match || parameters.has(match[1])) return undefined;
        parameters.set(match[1], match[2]);
      }
    }
  }
  return { issuer: issuerText, parameters };
}

function parentOf(name: string): string | undefined {
  const dot = name.indexOf('.');
  return dot < 0 ? undefined : name.slice(dot + 1) || undefined;
}

const show = (record: CaaRecord): string => `${record.flags} ${record.tag} "${record.value}"`;

/** Whether one issue/issuewild property authorizes this CA, account and method, and why not. */
function authorizes(record: CaaRecord, request: CaaRequest): string | undefined {
  const parsed = parseIssueValue(record.value);
  if (!parsed) return 'its value does not parse, so it names no CA';
  if (parsed.issuer === '') return 'it authorizes no CA';
  if (!request.caaIdentities.includes(parsed.issuer)) return `it names ${parsed.issuer}, not this CA (${request.caaIdentities.join(', ') || 'no caaIdentities'})`;
  const account = parsed.parameters.get('accounturi');
  if (account !== undefined && account !== request.accountUri) return `it limits issuance to the ACME account ${account}`;
  const methods = parsed.parameters.get('validationmethods');
  if (methods !== undefined) {
    if (!METHODS.test(methods)) return `its validationmethods (${methods}) do not follow the grammar, so they allow no method`;
    if (!methods.split(',').includes(request.validationMethod)) return `it limits validation to ${methods}, not ${request.validationMethod}`;
  }
  return undefined;
}

export async function checkCaa(request: CaaRequest, lookup: CaaLookup): Promise<CaaDecision> {
  const wildcard = request.hostname.startsWith('*.');
  let name: string | undefined = (wildcard ? request.hostname.slice(2) : request.hostname).toLowerCase().replace(/\.+$/, '');
  while (name) {
    const answer = await lookup(name);
    if ('error' in answer) return { permitted: 'unknown', name, error: answer.error };
    if (answer.length > 0) return decide(answer, name, wildcard, request);
    name = parentOf(name);
  }
  return { permitted: true };
}

function decide(records: CaaRecord[], relevantName: string, wildcard: boolean, request: CaaRequest): CaaDecision {
  const critical = records.find((r) => (r.flags & CRITICAL_FLAGS) !== 0 && !UNDERSTOOD_TAGS.has(r.tag.toLowerCase()));
  if (critical) return { permitted: false, relevantName, record: show(critical), reason: `it carries the critical flag on a tag no CA is required to understand (${critical.tag})` };
  const issuewild = records.filter((r) => r.tag.toLowerCase() === 'issuewild');
  const governing = wildcard && issuewild.length > 0 ? issuewild : records.filter((r) => r.tag.toLowerCase() === 'issue');
  if (governing.length === 0) return { permitted: true, relevantName };
  const refusals = governing.map((record) => ({ record, why: authorizes(record, request) }));
  if (refusals.some((r) => r.why === undefined)) return { permitted: true, relevantName };
  const [first] = refusals;
  return { permitted: false, relevantName, record: show(first.record), reason: first.why ?? '' };
}

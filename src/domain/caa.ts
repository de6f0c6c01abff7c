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
 * - A critical flag (bit 128) on a tag the CA does not understand forbids issuance (section 4.1);
 *   the tags understood here are issue, issuewild and iodef.
 * - `issue` value: `[issuer-domain-name] *(";" parameter)` (section 4.2); an empty issuer domain
 *   name (";") authorizes no CA; a value that does not parse authorizes no CA (it cannot name us).
 * - RFC 8657: `accounturi=<uri>` limits issuance to that ACME account (exact match);
 *   `validationmethods=<m1>,<m2>` limits it to those ACME challenge types.
 * - A lookup failure is not "no CAA" (section 3: a CA MUST NOT issue when the lookup fails; Let's
 *   Encrypt's Boulder treats SERVFAIL as a refusal to issue): the caller decides with the error.
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

const CRITICAL = 128;
const UNDERSTOOD_TAGS = new Set(['issue', 'issuewild', 'iodef']);

interface IssueValue {
  /** Lower case; '' when the value authorizes no CA. */
  issuer: string;
  parameters: Map<string, string>;
}

/** Parses an issue / issuewild value; undefined when it does not follow the grammar. */
export function parseIssueValue(value: string): IssueValue | undefined {
  const [issuerPart, ...parameterParts] = value.split(';');
  const issuer = issuerPart.trim().toLowerCase();
  // issuer-domain-name: labels of letters, digits and hyphens, separated by dots (RFC 8659 section 4.2).
  if (issuer !== '' && !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(issuer)) return undefined;
  const parameters = new Map<string, string>();
  for (const part of parameterParts) {
    const text = part.trim();
    if (text === '') continue;
    const match = /^([a-zA-Z0-9]+)\s*=\s*([\x21-\x3a\x3c-\x7e]*)$/.exec(text);
    if (!match) return undefined;
    parameters.set(match[1].toLowerCase(), match[2]);
  }
  return { issuer, parameters };
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
  const identities = request.caaIdentities.map((identity) => identity.toLowerCase());
  if (!identities.includes(parsed.issuer)) return `it names ${parsed.issuer}, not this CA (${identities.join(', ') || 'no caaIdentities'})`;
  const account = parsed.parameters.get('accounturi');
  if (account !== undefined && account !== request.accountUri) return `it limits issuance to the ACME account ${account}`;
  const methods = parsed.parameters.get('validationmethods');
  if (methods !== undefined && !methods.split(',').map((m) => m.trim().toLowerCase()).includes(request.validationMethod.toLowerCase())) {
    return `it limits validation to ${methods}, not ${request.validationMethod}`;
  }
  return undefined;
}

export async function checkCaa(request: CaaRequest, lookup: CaaLookup): Promise<CaaDecision> {
  const wildcard = request.hostname.startsWith('*.');
  let name: string | undefined = (wildcard ? request.hostname.slice(2) : request.hostname).toLowerCase().replace(/\.$/, '');
  while (name) {
    const answer = await lookup(name);
    if ('error' in answer) return { permitted: 'unknown', name, error: answer.error };
    if (answer.length > 0) return decide(answer, name, wildcard, request);
    name = parentOf(name);
  }
  return { permitted: true };
}

function decide(records: CaaRecord[], relevantName: string, wildcard: boolean, request: CaaRequest): CaaDecision {
  const critical = records.find((r) => (r.flags & CRITICAL) !== 0 && !UNDERSTOOD_TAGS.has(r.tag.toLowerCase()));
  if (critical) return { permitted: false, relevantName, record: show(critical), reason: `it carries the critical flag on a tag no CA is required to understand (${critical.tag})` };
  const issuewild = records.filter((r) => r.tag.toLowerCase() === 'issuewild');
  const governing = wildcard && issuewild.length > 0 ? issuewild : records.filter((r) => r.tag.toLowerCase() === 'issue');
  if (governing.length === 0) return { permitted: true, relevantName };
  const refusals = governing.map((record) => ({ record, why: authorizes(record, request) }));
  if (refusals.some((r) => r.why === undefined)) return { permitted: true, relevantName };
  const [first] = refusals;
  return { permitted: false, relevantName, record: show(first.record), reason: first.why ?? '' };
}

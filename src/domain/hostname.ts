import { isIP } from 'node:net';
import { domainToASCII, domainToUnicode } from 'node:url';

/** Why a hostname is refused; the message is shown to the caller as is. */
export type HostnameVerdict = { ok: true; hostname: string } | { ok: false; reason: string };

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** Fullwidth ASCII (U+FF01..U+FF5E) is the one width variant folded; everything else non-ASCII goes through IDNA. */
const foldWidth = (text: string): string => text.replace(/[\uFF01-\uFF5E]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0));

/**
 * Characters never part of a hostname we accept, checked before any decoding or mapping (the URL
 * host parser behind domainToASCII decodes `%xx`, stops at `\` and drops invisible characters, so
 * each would turn one name into another): percent signs, backslashes, control, format (soft
 * hyphen, zero-width, bidi) and separator characters, and every dot but the ASCII one.
 */
const FORBIDDEN: [RegExp, string][] = [
  [/%/, 'contains "%"; send the name itself, not percent-encoded'],
  [/\\/, 'contains a backslash'],
  [/[\p{Cc}]/u, 'contains a control character'],
  [/[\p{Cf}\p{Default_Ignorable_Code_Point}]/u, 'contains an invisible character (such as a soft hyphen or zero-width space)'],
  [/[\p{Z}]/u, 'must be a bare hostname, without scheme, port, path or spaces'],
  [/[/:@?#]/, 'must be a bare hostname, without scheme, port, path or spaces'],
  [/[\u3002\uFF0E\uFF61\u2024\uFE52\u0589\u06D4\u0701\u0702]/, 'contains a dot other than "." (a lookalike)'],
];

/** Scripts that legitimately share a label (Japanese, Korean, Chinese names with Latin). */
const COMPATIBLE_SCRIPTS = [
  new Set(['Latin', 'Han', 'Hiragana', 'Katakana']),
  new Set(['Latin', 'Han', 'Hangul']),
  new Set(['Latin', 'Han', 'Bopomofo']),
];
const SCRIPTS = ['Latin', 'Greek', 'Cyrillic', 'Armenian', 'Hebrew', 'Arabic', 'Devanagari', 'Thai', 'Georgian', 'Hangul', 'Hiragana', 'Katakana', 'Han', 'Bopomofo'];
const SCRIPT_TESTS = SCRIPTS.map((name) => [name, new RegExp(`\\p{Script=${name}}`, 'u')] as const);

/** A label mixing scripts that do not belong together (Latin with Cyrillic or Greek: `pаypal`). */
function mixedScripts(label: string): string[] | undefined {
  const found = new Set<string>();
  for (const char of label) {
    if (!/\p{L}/u.test(char)) continue;
    const script = SCRIPT_TESTS.find(([, test]) => test.test(char))?.[0] ?? 'Other';
    found.add(script);
  }
  if (found.size <= 1) return undefined;
  if (COMPATIBLE_SCRIPTS.some((allowed) => [...found].every((s) => allowed.has(s)))) return undefined;
  return [...found];
}

/**
 * The one canonical form of a hostname, for request bodies and route parameters alike: lower
 * case, no trailing dot, fullwidth ASCII folded, IDN as its A-label (punycode, UTS 46 as
 * `domainToASCII` applies it). Anything the IDNA mapping would change other than case, width and
 * the trailing dot is refused rather than silently becoming another name, and so is what HTTP-01
 * cannot validate: IP addresses, wildcards, single-label and malformed names.
 */
export function normaliseHostname(input: unknown, options: { wildcard?: boolean } = {}): HostnameVerdict {
  if (typeof input !== 'string') return { ok: false, reason: 'must be a string' };
  const trimmed = input.replace(/^ +| +$/g, '');
  if (!trimmed) return { ok: false, reason: 'must not be empty' };
  if (trimmed.includes('*')) return wildcardVerdict(trimmed, options.wildcard === true);
  const unbracketed = trimmed.replace(/^\[(.*)\]$/, '$1');
  if (isIP(unbracketed)) return { ok: false, reason: 'is an IP address; certificates here are issued for DNS names only' };
  const folded = foldWidth(trimmed);
  // Checked before and after width folding: fullwidth "％" or "＼" are refused like "%" and "\".
  for (const [pattern, reason] of FORBIDDEN) if (pattern.test(trimmed) || pattern.test(folded)) return { ok: false, reason };
  // A non-ASCII character whose lower case is ASCII (the Kelvin sign is "k") is a lookalike.
  const lookalike = [...folded].find((c) => c.charCodeAt(0) > 0x7f && [...c.toLowerCase()].every((l) => l.charCodeAt(0) < 0x80));
  if (lookalike) return { ok: false, reason: `contains "${lookalike}", a lookalike of "${lookalike.toLowerCase()}"` };
  const withoutDot = folded.endsWith('.') ? folded.slice(0, -1) : folded;
  const lower = withoutDot.toLowerCase();
  const ascii = domainToASCII(lower);
  if (!ascii) return { ok: false, reason: 'is not a valid DNS name' };
  // The script rules hold for the name as sent and for what an A-label (xn--...) stands for.
  for (const label of [...lower.split('.'), ...domainToUnicode(ascii).split('.')]) {
    const scripts = mixedScripts(label);
    if (scripts) return { ok: false, reason: `mixes scripts in the label "${label}" (${scripts.join(', ')}), as lookalike names do` };
  }
  if (isIP(ascii)) return { ok: false, reason: 'is an IP address; certificates here are issued for DNS names only' };
  // Only case, width and the trailing dot may change: the A-label must read back as what was sent.
  if (domainToUnicode(ascii) !== lower && ascii !== lower) {
    return { ok: false, reason: `would be changed by IDNA mapping (to ${ascii}); send the name as ${domainToUnicode(ascii)} or ${ascii}` };
  }
  if (ascii.length > 253) return { ok: false, reason: 'is longer than 253 characters' };
  const labels = ascii.split('.');
  if (labels.length < 2) return { ok: false, reason: 'must be a fully qualified name with at least two labels (e.g. www.example.com)' };
  const bad = labels.find((label) => !LABEL.test(label));
  if (bad !== undefined) {
    return { ok: false, reason: `has an invalid label "${bad}" (letters, digits and inner hyphens, 1 to 63 characters)` };
  }
  return { ok: true, hostname: ascii };
}

/**
 * A wildcard certificate name: `*.` then a name of at least two labels (RFC 8555 section 7.1.3:
 * the wildcard is the whole leftmost label; CAs refuse `*.com`-like names by their public-suffix
 * rules). Only DNS-01 proves one (RFC 8555 section 8.3: HTTP-01 cannot).
 */
function wildcardVerdict(name: string, allowed: boolean): HostnameVerdict {
  if (!allowed) {
    return { ok: false, reason: 'is a wildcard; HTTP-01 validation cannot prove control of a wildcard name: use challengeType dns-01, or list each hostname instead' };
  }
  if (!name.startsWith('*.') || name.slice(2).includes('*')) {
    return { ok: false, reason: 'has a wildcard other than a whole leftmost label; a wildcard certificate name is *.<domain>, e.g. *.example.com' };
  }
  const base = normaliseHostname(name.slice(2));
  if (!base.ok) return base;
  if (`*.${base.hostname}`.length > 253) return { ok: false, reason: 'is longer than 253 characters' };
  return { ok: true, hostname: `*.${base.hostname}` };
}

export const isWildcard = (hostname: string): boolean => hostname.startsWith('*.');

/**
 * A name a wildcard covers, for what needs one concrete name (the DNS pre-check, the SNI of the
 * served-certificate check): a label no one uses, so no more specific listener or record answers.
 */
export const wildcardProbeName = (hostname: string): string => (isWildcard(hostname) ? `appgw-certbot-probe.${hostname.slice(2)}` : hostname);

/**
 * Derived names must fit the narrowest place they go: the gateway's child names (SSL certificate,
 * listener `<name>-https`, rule `<name>-rule`) stop at 80 characters (Microsoft Learn, "Application
 * Gateway limits"), Key Vault object names at 127.
 */
export const MAX_SLUG_LENGTH = 80 - '-https'.length;

/**
 * A stable, readable name for a hostname in places with a narrow alphabet (Key Vault object names
 * allow only letters, digits and dashes; gateway child names allow more). Dots become dashes and a
 * short hash keeps `a-b.example.com` and `a.b-example.com` apart. A name too long for that keeps
 * its beginning and a longer hash of the whole hostname (deterministic, collision-free in practice).
 */
export function hostnameSlug(hostname: string, hash: (text: string) => string): string {
  // `*` is not allowed in Key Vault names; the hash of the whole name keeps *.a.com and wildcard.a.com apart.
  const dashed = hostname.replace(/^\*\./, 'wildcard.').replace(/\./g, '-');
  const short = `${dashed}-${hash(hostname).slice(0, 8)}`;
  if (short.length <= MAX_SLUG_LENGTH) return short;
  const digest = hash(hostname).slice(0, 24);
  return `${dashed.slice(0, MAX_SLUG_LENGTH - digest.length - 1).replace(/-+$/, '')}-${digest}`;
}

/** RFC 5280 upper bound for a commonName; longer names go in the SAN only. */
export const MAX_COMMON_NAME = 64;

import { CertbotError } from './errors';
import { normaliseHostname } from './hostname';
import type { FieldError } from './requests';

/**
 * `AllowedHostnames`: which names this app may order certificates for. A function key (or a
 * writer's token) would otherwise let its holder order certificates for any name on the internet
 * from our ACME account; like lua-resty-auto-ssl's allow_domain, nothing is allowed until the
 * operator says so. Not set: no name. Set empty: any name (a choice made explicitly).
 */
export type AllowList = { kind: 'unset' } | { kind: 'any' } | { kind: 'listed'; exact: ReadonlySet<string>; suffixes: readonly string[] };

export const ALLOW_LIST_SETTING = 'AllowedHostnames';

/**
 * Exact names and `*.suffix` patterns, separated by commas or white space, normalised as requests
 * are (case, IDNA), so `WWW.Contoso.com` lists `www.contoso.com`. A `*.suffix` pattern allows every
 * name under the suffix, at any depth, wildcards included, but not the suffix itself.
 */
export function parseAllowList(value: string | undefined): AllowList {
  if (value === undefined) return { kind: 'unset' };
  const entries = value.split(/[\s,]+/).filter(Boolean);
  if (entries.length === 0) return { kind: 'any' };
  const exact = new Set<string>();
  const suffixes: string[] = [];
  for (const entry of entries) {
    const pattern = entry.startsWith('*.');
    const verdict = normaliseHostname(pattern ? entry.slice(2) : entry);
    if (!verdict.ok) throw new CertbotError('ConfigurationInvalid', `Setting ${ALLOW_LIST_SETTING} lists "${entry.slice(0, 80)}", which ${verdict.reason}; list exact names and *.suffix patterns.`);
    if (pattern) suffixes.push(verdict.hostname);
    else exact.add(verdict.hostname);
  }
  return { kind: 'listed', exact, suffixes };
}

/** Whether `hostname` (already normalised; a wildcard as `*.name`) may be ordered. */
export function isAllowed(list: AllowList, hostname: string): boolean {
  if (list.kind === 'any') return true;
  if (list.kind === 'unset') return false;
  return list.exact.has(hostname) || list.suffixes.some((suffix) => hostname.endsWith(`.${suffix}`));
}

/** The refusal for each name the list does not allow, under the request's own field names. */
export function allowListErrors(list: AllowList, names: { field: string; hostname: string }[]): FieldError[] {
  const why =
    list.kind === 'unset'
      ? `is not allowed: ${ALLOW_LIST_SETTING} is not set, so no name may be ordered; list the names and *.suffix patterns there (or set it empty to allow any name)`
      : `is not in ${ALLOW_LIST_SETTING}; ask the operator to add it (or a *.suffix pattern covering it)`;
  return names.filter((name) => !isAllowed(list, name.hostname)).map((name) => ({ field: name.field, reason: why }));
}

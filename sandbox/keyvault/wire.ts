import { randomUUID } from 'node:crypto';

/**
 * Key Vault wire helpers: replies, the error body and paging, as in the REST reference
 * (https://learn.microsoft.com/rest/api/keyvault/): errors are `{"error":{"code","message",
 * "innererror"?}}` (KeyVaultError), lists are `{"value":[...],"nextLink":<absolute url>|null}`.
 */
export interface KvReply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface KvRequest {
  method: string;
  /** Path segments after the host, decoded, without empty ones (a trailing slash adds none). */
  path: string[];
  query: URLSearchParams;
  body: Record<string, unknown>;
  /** Page size when the client sends no maxresults (the service's is 25). */
  defaultPageSize: number;
  /** The vault's base URL, e.g. https://127.0.0.1:4443 (no trailing slash). */
  vaultUrl: string;
}

export function kvError(status: number, code: string, message: string, innerCode?: string): KvReply {
  return { status, body: { error: { code, message, ...(innerCode ? { innererror: { code: innerCode } } : {}) } } };
}

export const unixNow = (): number => Math.floor(Date.now() / 1000);

/** Key Vault object versions are 32 lowercase hex digits. */
export const newVersionId = (): string => randomUUID().replace(/-/g, '');

/** Service maximum page size for certificate and secret lists (REST: maxresults 1..25). */
export const MAX_PAGE = 25;

/**
 * One page of a list. `maxresults` sizes the page (the SDKs' list methods never send it, so
 * the emulator's default page size decides what they see); the nextLink is absolute and carries the
 * api-version and an opaque `$skiptoken` (the service's own token is opaque too).
 */
export function page(request: KvRequest, items: unknown[]): KvReply {
  const requested = Number(request.query.get('maxresults') ?? request.defaultPageSize);
  if (!Number.isInteger(requested) || requested < 1 || requested > MAX_PAGE) {
    return kvError(400, 'BadParameter', `maxresults must be an integer between 1 and ${MAX_PAGE}.`);
  }
  const skip = Number(request.query.get('$skiptoken') ?? 0) || 0;
  const value = items.slice(skip, skip + requested);
  let nextLink: string | null = null;
  if (skip + requested < items.length) {
    const next = new URL(`${request.vaultUrl}/${request.path.map(encodeURIComponent).join('/')}`);
    next.searchParams.set('api-version', request.query.get('api-version') ?? '');
    next.searchParams.set('maxresults', String(requested));
    next.searchParams.set('$skiptoken', String(skip + requested));
    for (const flag of ['includePending']) {
      const value = request.query.get(flag);
      if (value !== null) next.searchParams.set(flag, value);
    }
    nextLink = next.href;
  }
  return { status: 200, body: { value, nextLink } };
}

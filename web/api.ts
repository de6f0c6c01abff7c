/**
 * The dashboard's one door to the app: the public API on this same origin, with the caller's own
 * credentials. With App Service Authentication the browser's session cookie goes along; locally
 * the function key the operator typed (or handed over in the URL fragment) is sent as
 * `x-functions-key` and kept for the tab only (sessionStorage), never in the page's address.
 */
import { decodeFailure, type LastFailure } from '../src/domain/stepError';

const KEY_STORAGE = 'appgw-certbot.functionKey';

export function takeKeyFromFragment(): void {
  const match = /(?:^#|&)key=([^&]+)/.exec(location.hash);
  if (!match) return;
  try {
    sessionStorage.setItem(KEY_STORAGE, decodeURIComponent(match[1]));
  } catch {
    // A mangled fragment (say %zz) is no key: the page asks for one instead.
  }
  // Out of the address bar and history at once.
  history.replaceState(null, '', location.pathname + location.search);
}

export function storedKey(): string {
  return sessionStorage.getItem(KEY_STORAGE) ?? '';
}

export function storeKey(key: string): void {
  if (key) sessionStorage.setItem(KEY_STORAGE, key);
  else sessionStorage.removeItem(KEY_STORAGE);
}

export interface FieldError {
  field: string;
  reason: string;
}

/** An answer the operator must see: the problem's title and detail, and the refused fields. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly errors: FieldError[] = [],
    readonly code?: string,
    /** App Service Authentication refused the call: the browser must sign in (not a key). */
    readonly signInNeeded = false,
  ) {
    super(`${title}: ${detail}`);
  }
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const key = storedKey();
  if (key) headers['x-functions-key'] = key;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(`/api/${path}`, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, 'Unreachable', 'The app did not answer; check your connection and retry.');
  }
  const text = await response.text();
  const parsed: unknown = text ? safeJson(text) : undefined;
  if (response.ok) return parsed as T;
  if (response.status === 401) {
    // Easy Auth's 401 carries a Bearer challenge naming its authority; the Functions host's key
    // check answers a bare 401 (Learn, "Authentication and authorization in Azure App Service").
    if (/authorization_uri/i.test(response.headers.get('www-authenticate') ?? '')) {
      throw new ApiError(401, 'Not signed in', 'Sign in with your organisation account to use the API.', [], undefined, true);
    }
    throw new ApiError(401, 'Not signed in', storedKey() ? 'The function key was refused; enter a valid one.' : 'Enter the function key to use the API.');
  }
  const problem = (parsed ?? {}) as { title?: string; detail?: string; errors?: FieldError[]; code?: string; hostnames?: unknown };
  throw new ApiError(response.status, problem.title ?? `HTTP ${response.status}`, problem.detail ?? response.statusText, problem.errors ?? [], problem.code);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export interface CertificateRow {
  hostname: string;
  source: 'acme' | 'import' | 'self-signed';
  hostnames: string[];
  challengeType: 'http-01' | 'dns-01' | null;
  state: string;
  keyVaultName: string;
  version: string | null;
  expiresOn: string | null;
  daysLeft: number | null;
  nextRenewal: string | null;
  overdue: boolean;
  pendingOperation: { status: string; since: string | null } | null;
  renewalWindow: { start: string; end: string } | null;
  gateway: { listener: boolean; rule: boolean };
  lastFailure?: LastFailure | null;
  /** The current version was revoked through the app. */
  revoked?: { reason: string; at: string; serialNumber: string } | null;
  /** The ACME profile its order named (null: the CA's default, or not ACME). */
  profile?: string | null;
  /** The failure back-off: automatic attempts wait until nextAttemptAt after this many failures in a row. */
  consecutiveFailures?: number;
  nextAttemptAt?: string | null;
}

export interface StatusLinks {
  id: string;
  statusQueryGetUri: string;
}

export interface EntryRequest {
  hostname: string;
  challengeType?: 'http-01' | 'dns-01';
  group?: string;
}

/** Easy Auth's sign-in, back to this page afterwards (Learn, "Customize sign-ins and sign-outs"). */
export const SIGN_IN_URL = `/.auth/login/aad?post_login_redirect_uri=${encodeURIComponent('/api/dashboard')}`;

export const listCertificates = (): Promise<CertificateRow[]> => call('GET', 'certificates');

/** One name the contract's way; several (or a group, or DNS-01) through the multiple starter. */
export function issue(entries: EntryRequest[]): Promise<StatusLinks> {
  if (entries.length === 1 && !entries[0].group) return call('POST', 'AddCertificateFunctions_HttpStart', { hostnames: entries });
  return call('POST', 'AddMultipleCertificatesFunctions_HttpStart', { hostnames: entries });
}

export const renew = (hostname: string): Promise<StatusLinks> => call('POST', `certificates/${encodeURIComponent(hostname)}/renew`);

/** keyCompromise and superseded also replace the certificate (src/domain/revocation.ts). */
export const revoke = (hostname: string, reason: string): Promise<StatusLinks> => call('POST', `certificates/${encodeURIComponent(hostname)}/revoke`, { reason });

export const remove = (hostname: string, purge: boolean): Promise<StatusLinks> =>
  call('DELETE', `certificates/${encodeURIComponent(hostname)}${purge ? '?purge=true' : ''}`);

export interface CustomStatus {
  status: string;
  message: string;
  error: string | null;
  progress?: { done: number; failed: number; issuing: number; queued: number; total: number };
  failures?: { hostname: string; error: string }[];
}

export interface OperationStatus {
  name?: string;
  instanceId: string;
  runtimeStatus: string;
  customStatus: CustomStatus | null;
  output: unknown;
  createdTime: string;
  lastUpdatedTime: string;
}

/**
 * The run's status from the link the API handed out (same origin, with the runtime's own key in
 * it). Its Failed answer is a 500 by the contract (returnInternalServerErrorOnFailure) with the
 * status as its body.
 */
export async function operationStatus(statusQueryGetUri: string): Promise<OperationStatus> {
  const url = new URL(statusQueryGetUri, location.href);
  // Behind TLS termination the extension has handed out http:// links for an https site
  // (azure-functions-durable-extension#1446): same host, so the page's own scheme is the right one.
  if (url.host === location.host) url.protocol = location.protocol;
  if (url.origin !== location.origin) throw new ApiError(0, 'Refused', 'The status link is not on this app; follow the run with the CLI (appgw-certbot status).');
  let response: Response;
  try {
    response = await fetch(url, { credentials: 'same-origin', headers: { accept: 'application/json' } });
  } catch {
    throw new ApiError(0, 'Unreachable', 'The app did not answer; retrying.');
  }
  if ([401, 403, 404].includes(response.status)) {
    const why = response.status === 404 ? 'The run is no longer known (its history was purged).' : 'Reading the run was refused: sign in again, or reload with a valid key.';
    throw new ApiError(response.status, `HTTP ${response.status}`, why);
  }
  const body = safeJson(await response.text()) as OperationStatus | undefined;
  if (!body || typeof body.runtimeStatus !== 'string') throw new ApiError(response.status, `HTTP ${response.status}`, 'The status answer was not understood; retrying.');
  return body;
}

/** Answers that polling again will not change: stop and say so. */
export const isPermanent = (error: ApiError): boolean => error.title === 'Refused' || [401, 403, 404].includes(error.status);

/** A Failed run's output carries its record between markers; decoded where it is encoded. */
export function failureRecordOf(output: unknown): Record<string, unknown> | undefined {
  return decodeFailure(typeof output === 'string' ? output : '');
}

export const isFinished = (runtimeStatus: string): boolean => !['Pending', 'Running', 'ContinuedAsNew', 'Suspended'].includes(runtimeStatus);

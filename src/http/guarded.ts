import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { loadApiAuthentication } from '../domain/config';
import { CertbotError } from '../domain/errors';
import { normaliseHostname } from '../domain/hostname';
import { ApiAccess, authorise } from './authorisation';
import { printable } from './principal';
import { problemResponse } from './problem';

type HttpHandler = (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit>;

export interface GuardOptions {
  /** What the endpoint does; decides who may call it (src/http/authorisation.ts). */
  access: ApiAccess;
}

/** Each guarded handler's declared access, so a test can prove no registration forgot it. */
const declaredAccess = new WeakMap<HttpHandler, ApiAccess>();

export const accessOf = (handler: unknown): ApiAccess | undefined => declaredAccess.get(handler as HttpHandler);

/**
 * The first and last word of every HTTP endpoint. First: who calls, and may they (401/403 as
 * problem+json). Last: a failure no handler turned into an answer (a service the app depends on
 * not answering, such as the Durable status API) becomes a 503 that says to retry, never a 500
 * from the host; the log gets the code and detail (never inputs), the caller neither. Every call
 * leaves one audit line: `audit: <caller> <access> <function> <target> -> <status>`, the caller
 * being a principal's name, object id and provider, or "function key" (never the key or a token).
 */
export function guarded(handler: HttpHandler, options: GuardOptions): HttpHandler {
  const guardedHandler: HttpHandler = async (request, context) => {
    const target = await auditTarget(request);
    const audit = (caller: string, status: number | undefined): void =>
      context.log(`audit: ${caller} ${options.access} ${context.functionName} ${target} -> ${status ?? 200}`);
    let settings;
    try {
      settings = loadApiAuthentication();
    } catch (error) {
      const detail = error instanceof CertbotError ? error.detail : 'The API authentication settings could not be read.';
      context.error(`${context.functionName} refused: ConfigurationInvalid: ${detail}`);
      audit('unchecked', 500);
      return problemResponse(500, 'Configuration invalid', detail, undefined, { code: 'ConfigurationInvalid' });
    }
    const verdict = authorise(settings, options.access, (name) => request.headers.get(name));
    if (!verdict.allowed) {
      audit(verdict.caller, verdict.status);
      const extra = verdict.requiredRole ? { requiredRole: verdict.requiredRole } : undefined;
      // RFC 6750 section 3: a 401 for a missing token names the scheme.
      const response = problemResponse(verdict.status, verdict.title, verdict.detail, undefined, extra);
      if (verdict.status === 401) response.headers = { ...(response.headers as Record<string, string>), 'WWW-Authenticate': 'Bearer' };
      return response;
    }
    let response: HttpResponseInit;
    try {
      response = await handler(request, context);
    } catch (error) {
      context.error(`${context.functionName} failed: ${error instanceof CertbotError ? `${error.code}: ${error.detail}` : (error as Error)?.name ?? 'error'}`);
      response = problemResponse(503, 'Temporarily unavailable', 'A service the app depends on did not answer; retry shortly.');
    }
    audit(verdict.caller, response.status);
    return response;
  };
  declaredAccess.set(guardedHandler, options.access);
  return guardedHandler;
}

const MAX_TARGETS = 5;

/**
 * What a call is about, for the audit line: the route's hostname or instance id, or the hostnames
 * of a starter's body (read from a copy, so the handler still reads the body; only `hostname`
 * fields, never keys or certificates). `-` when there is none or the body is not JSON.
 */
async function auditTarget(request: HttpRequest): Promise<string> {
  const fromRoute = request.params?.hostname ?? request.params?.instanceId;
  if (fromRoute) return printable(fromRoute, 260);
  if (request.method !== 'POST') return '-';
  try {
    const body: unknown = await request.clone().json();
    const entries = (body as { hostnames?: unknown })?.hostnames;
    if (!Array.isArray(entries)) return '-';
    // Only what reads as a hostname is logged: a key or password pasted into the field is not.
    const names = entries.map((entry) => {
      const verdict = normaliseHostname((entry as { hostname?: unknown })?.hostname, { wildcard: true });
      return verdict.ok ? verdict.hostname : '(invalid)';
    });
    if (names.length === 0) return '-';
    const shown = names.slice(0, MAX_TARGETS).map((name) => printable(name, 260)).join(',');
    return names.length > MAX_TARGETS ? `${shown},+${names.length - MAX_TARGETS} more` : shown;
  } catch {
    return '-';
  }
}

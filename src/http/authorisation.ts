/**
 * Who may call which endpoint, decided in one place (pure). With ApiAuthentication=FunctionKey the
 * host has already checked the function key (authLevel 'function') and every key holder may read
 * and write, as before. With AppServiceAuthentication the routes are anonymous to the host and App
 * Service Authentication (Entra ID) stands in front: a caller without a principal gets 401, reads
 * need any signed-in principal, writes (issue, import, renew, revoke, remove) need the app role
 * ApiWriterRole (default Certificates.Write) in the principal's roles.
 */
import type { ApiAuthenticationConfig } from '../domain/config';
import { ClientPrincipal, describePrincipal, readClientPrincipal } from './principal';

/** What an endpoint does: reads state, changes it, or serves something public (no data, no secret). */
export type ApiAccess = 'read' | 'write' | 'public';

export type Verdict =
  | { allowed: true; caller: string }
  | { allowed: false; caller: string; status: 401 | 403; title: string; detail: string; requiredRole?: string };

type HeaderReader = (name: string) => string | null | undefined;

/** The caller of a function-key request: the key proves possession, not a person, and is never logged. */
export const FUNCTION_KEY_CALLER = 'function key';
const ANONYMOUS_CALLER = 'anonymous';

export function authorise(settings: ApiAuthenticationConfig, access: ApiAccess, header: HeaderReader): Verdict {
  if (settings.mode === 'FunctionKey') return { allowed: true, caller: access === 'public' ? ANONYMOUS_CALLER : FUNCTION_KEY_CALLER };
  const principal = readClientPrincipal(header);
  if (access === 'public') return { allowed: true, caller: principal ? describePrincipal(principal) : ANONYMOUS_CALLER };
  if (!principal) {
    return {
      allowed: false,
      caller: ANONYMOUS_CALLER,
      status: 401,
      title: 'Authentication required',
      detail: 'Sign in with Microsoft Entra ID: send "Authorization: Bearer <access token for this API>" (App Service Authentication validates it).',
    };
  }
  if (access === 'write' && !hasRole(principal, settings.writerRole)) {
    return {
      allowed: false,
      caller: describePrincipal(principal),
      status: 403,
      title: 'Forbidden',
      detail: `Issuing, importing, renewing, revoking and removing certificates needs the app role ${settings.writerRole}, which this caller does not have; an owner of the API's app registration can assign it (Enterprise applications, Users and groups).`,
      requiredRole: settings.writerRole,
    };
  }
  return { allowed: true, caller: describePrincipal(principal) };
}

/** App role values are case-sensitive in Entra tokens; compared exactly. */
const hasRole = (principal: ClientPrincipal, role: string): boolean => principal.roles.includes(role);

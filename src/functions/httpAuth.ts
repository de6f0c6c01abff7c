// The authLevel of every HTTP registration, from the setting ApiAuthentication read when the app loads.
import { loadApiAuthentication } from '../domain/config';
import type { ApiAccess } from '../http/authorisation';

/**
 * 'function' (the host checks the function key) unless App Service Authentication authorises the
 * API: a function-level route would still ask for a key after Easy Auth let a signed-in caller in,
 * so the routes are anonymous to the host and guarded() decides from the principal. Learn, "Azure
 * Functions HTTP trigger", Secure an HTTP endpoint in production: with App Service Authentication
 * or API Management in front, set the authorization level to anonymous. A setting that does not
 * hold (a typo, or WEBSITE_AUTH_ENABLED not True) keeps 'function': the host keeps asking for keys, and
 * guarded() answers with the setting's problem.
 */
export function apiAuthLevel(access: ApiAccess): 'function' | 'anonymous' {
  if (access === 'public') return 'anonymous';
  try {
    return loadApiAuthentication().mode === 'AppServiceAuthentication' ? 'anonymous' : 'function';
  } catch {
    return 'function';
  }
}

import type { IncomingHttpHeaders } from 'node:http';
import { verifySignedToken } from '../identity/jwt';

/**
 * App Service Authentication (Easy Auth) in front of the local host, as authsettingsV2 configures
 * it in infra/modules/app.bicep: requireAuthentication with Return401, Microsoft Entra ID as the
 * provider, the API's audiences. Sources: Learn, "Work with user identities in Azure App Service
 * authentication" (the X-MS-CLIENT-PRINCIPAL* headers, which clients cannot set: App Service strips
 * them) and "Configure Microsoft Entra authentication" (bearer tokens validated for signature,
 * issuer, audience and lifetime; /.auth/me).
 *
 * What the sandbox does, and where it differs:
 * - every path but the host's own /admin and the worker's /durabletask RPC (loopback, no Easy Auth
 *   on Azure's worker channel either) and the excluded paths (the dashboard and its files, the
 *   OpenAPI document, as infra excludes them; see isExcluded) needs a valid `Authorization: Bearer`
 *   token: the API and the Durable webhooks behind statusQueryGetUri alike, whose `code` key the
 *   host checks after;
 * - only the configured (v2.0) issuer: v1 tokens are refused (see validClaims);
 * - only bearer tokens: no browser sign-in (/.auth/login), sessions or token store;
 * - the 401 has App Service's `WWW-Authenticate: Bearer realm=… authorization_uri=… resource_id=…`
 *   (as support threads quote it, not a Learn page) and a short text body;
 * - claims keep the token's names except the .NET inbound mapping of oid, upn, tid, scp and sub
 *   (what Easy Auth's "default claims-mapping process" does); `roles` stay typed `roles` while
 *   role_typ names the long role URI, as azure-functions-host#3898 shows it on Azure.
 */
export interface EasyAuthSettings {
  tenantId: string;
  /** The API's app registration (the token audience a v2 token carries). */
  clientId: string;
  issuer: string;
  allowedAudiences: string[];
  /** The sandbox identity emulator's signing key (Entra's JWKS on Azure). */
  publicKeyPem: string;
  /** Paths served without authentication (globalValidation.excludedPaths; see isExcluded). */
  excludedPaths: string[];
}

/** The environment variable the sandbox passes the settings to the host process in. */
export const EASY_AUTH_ENV = 'SANDBOX_EASY_AUTH';

export interface GateReply {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

const MAPPED_CLAIMS: Record<string, string> = {
  oid: 'http://schemas.microsoft.com/identity/claims/objectidentifier',
  upn: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn',
  tid: 'http://schemas.microsoft.com/identity/claims/tenantid',
  scp: 'http://schemas.microsoft.com/identity/claims/scope',
  sub: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier',
};
const NAME_TYPE = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name';
const ROLE_TYPE = 'http://schemas.microsoft.com/ws/2008/06/identity/claims/role';
/** Headers only App Service may set; a client's copies are dropped. */
const PLATFORM_HEADER = /^x-ms-(client-principal|token-)/i;
/** The host's own endpoints, outside App Service Authentication here (see above). */
const UNGATED = [/^\/admin\//, /^\/durabletask\//];

export class EasyAuth {
  constructor(private readonly settings: EasyAuthSettings) {}

  static fromEnvironment(env: NodeJS.ProcessEnv): EasyAuth | undefined {
    const raw = env[EASY_AUTH_ENV];
    return raw ? new EasyAuth(JSON.parse(raw) as EasyAuthSettings) : undefined;
  }

  /**
   * The request's headers as the app sees them (client-set platform headers removed, the principal
   * added), or App Service's answer instead of the app's: 401 without a valid token, /.auth/me.
   */
  gate(path: string, method: string, headers: IncomingHttpHeaders, host: string): { headers: IncomingHttpHeaders; reply?: GateReply } {
    const cleaned: IncomingHttpHeaders = {};
    for (const [name, value] of Object.entries(headers)) if (!PLATFORM_HEADER.test(name)) cleaned[name] = value;
    if (UNGATED.some((pattern) => pattern.test(path))) return { headers: cleaned };
    const claims = this.validClaims(cleaned.authorization);
    if (path === '/.auth/me' && method === 'GET') {
      if (!claims) return { headers: cleaned, reply: this.unauthorized(host) };
      return { headers: cleaned, reply: { status: 200, headers: { 'Content-Type': 'application/json; charset=utf-8' }, body: JSON.stringify([me(claims)]) } };
    }
    if (this.settings.excludedPaths.some((excluded) => isExcluded(path, excluded))) {
      return { headers: claims ? { ...cleaned, ...principalHeaders(claims) } : cleaned };
    }
    if (!claims) return { headers: cleaned, reply: this.unauthorized(host) };
    return { headers: { ...cleaned, ...principalHeaders(claims) } };
  }

  /** The token's claims when its signature, issuer, audience and lifetime hold (5 minutes' skew, as Entra's validators allow). */
  private validClaims(authorization: string | undefined): Record<string, unknown> | undefined {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    if (!match) return undefined;
    const claims = verifySignedToken(match[1], this.settings.publicKeyPem);
    if (!claims) return undefined;
    const now = Date.now() / 1000;
    const skew = 300;
    // Only the configured issuer (the v2.0 one): a v1 token (iss https://sts.windows.net/{tid}/) is
    // refused. App Service's answer in MicrosoftDocs/azure-docs#76602: with the v2.0 issuer "only
    // AAD v2 bearer tokens are accepted"; whether Easy Auth has since grown to take both is not
    // documented, so the sandbox keeps the stricter rule (the README asks for v2 tokens).
    if (claims.iss !== this.settings.issuer) return undefined;
    if (typeof claims.aud !== 'string' || !this.settings.allowedAudiences.includes(claims.aud)) return undefined;
    if (typeof claims.exp !== 'number' || claims.exp + skew <= now) return undefined;
    if (typeof claims.nbf === 'number' && claims.nbf - skew > now) return undefined;
    return claims;
  }

  private unauthorized(host: string): GateReply {
    const authorize = `https://login.microsoftonline.com/${this.settings.tenantId}/oauth2/v2.0/authorize`;
    return {
      status: 401,
      headers: {
        'Content-Type': 'text/plain; charset=utf-8',
        'WWW-Authenticate': `Bearer realm="${host}" authorization_uri="${authorize}" resource_id="${this.settings.clientId}"`,
      },
      body: 'You do not have permission to view this directory or page.',
    };
  }
}

/**
 * Whether an excludedPaths entry covers a path: the path itself, or, for an entry ending in `/*`,
 * what lies under it. Learn documents no matching rules; App Service's answer in
 * MicrosoftDocs/azure-docs#86514 is that children need an explicit wildcard ("use
 * /myfolder/subfolder/*"), so a bare entry is read as the exact path only, never as a prefix
 * (`/api/dashboard` does not cover `/api/dashboard/app.js`, nor `/api/dashboardx`): the stricter
 * reading, so a path the sandbox lets through is one Azure lets through too.
 */
export function isExcluded(path: string, excluded: string): boolean {
  if (excluded.endsWith('/*')) return path.startsWith(excluded.slice(0, -1)) && path.length > excluded.length - 1;
  return path === excluded;
}

/** The token's claims as X-MS-CLIENT-PRINCIPAL lists them: one {typ, val} per value. */
function principalClaims(claims: Record<string, unknown>): { typ: string; val: string }[] {
  const list: { typ: string; val: string }[] = [];
  for (const [name, value] of Object.entries(claims)) {
    const typ = MAPPED_CLAIMS[name] ?? name;
    for (const item of Array.isArray(value) ? value : [value]) {
      if (typeof item === 'string' || typeof item === 'number' || typeof item === 'boolean') list.push({ typ, val: String(item) });
    }
  }
  return list;
}

const displayName = (claims: Record<string, unknown>): string =>
  String(claims.upn ?? claims.preferred_username ?? claims.name ?? claims.azp ?? claims.appid ?? claims.oid ?? '');

function principalHeaders(claims: Record<string, unknown>): Record<string, string> {
  const principal = { auth_typ: 'aad', claims: principalClaims(claims), name_typ: NAME_TYPE, role_typ: ROLE_TYPE };
  return {
    'x-ms-client-principal': Buffer.from(JSON.stringify(principal)).toString('base64'),
    'x-ms-client-principal-name': displayName(claims),
    'x-ms-client-principal-id': String(claims.oid ?? ''),
    'x-ms-client-principal-idp': 'aad',
  };
}

/** One provider entry of GET /.auth/me (Learn: user_id, provider_name, user_claims; no tokens without a token store). */
function me(claims: Record<string, unknown>): Record<string, unknown> {
  return {
    provider_name: 'aad',
    user_id: displayName(claims),
    user_claims: principalClaims(claims),
    expires_on: new Date(Number(claims.exp) * 1000).toISOString(),
  };
}

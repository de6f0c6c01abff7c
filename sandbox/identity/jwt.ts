import { createSign, createVerify, randomBytes } from 'node:crypto';

/**
 * JWT-shaped access tokens for the sandbox (header.payload.signature, base64url). They are not
 * signed for real: the stand-ins check shape, audience and expiry, as Azurite does with
 * `oauth: "basic"` (it decodes the claims and checks aud/iss/nbf/exp without a signature).
 * Claims follow Entra ID v1 access tokens:
 * https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference
 */
export interface TokenClaims {
  aud: string;
  iss: string;
  tid: string;
  oid: string;
  appid: string;
  sub: string;
  iat: number;
  nbf: number;
  exp: number;
}

const encode = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** The audience a resource or scope names: "https://vault.azure.net/.default" -> "https://vault.azure.net". */
export function audienceOf(resourceOrScope: string): string {
  return resourceOrScope.replace(/\/\.default$/, '').replace(/\/+$/, '');
}

export function mintToken(options: {
  tenantId: string;
  resource: string;
  clientId: string;
  /** The identity's object (principal) id, what role assignments name; the client id when omitted. */
  objectId?: string;
  lifetimeSeconds?: number;
}): { token: string; claims: TokenClaims } {
  const now = Math.floor(Date.now() / 1000);
  // A managed identity's app-only token: appid is its client id, oid its service principal's object
  // id, and sub equals oid (access-token-claims-reference, "oid" and "sub").
  const objectId = options.objectId ?? options.clientId;
  const claims: TokenClaims = {
    aud: audienceOf(options.resource),
    iss: `https://sts.windows.net/${options.tenantId}/`,
    tid: options.tenantId,
    oid: objectId,
    appid: options.clientId,
    sub: objectId,
    iat: now,
    // Entra ID back-dates nbf by five minutes for clock skew.
    nbf: now - 300,
    exp: now + (options.lifetimeSeconds ?? 3600),
  };
  const token = [encode({ typ: 'JWT', alg: 'RS256', kid: 'sandbox' }), encode(claims), randomBytes(32).toString('base64url')].join('.');
  return { token, claims };
}

/** The claims of a JWT-shaped token, or undefined when it is not one. */
export function readClaims(token: string): Partial<TokenClaims> | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts.every((part) => /^[\w-]+$/.test(part))) return undefined;
  try {
    const claims: unknown = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    return claims && typeof claims === 'object' ? (claims as Partial<TokenClaims>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Why an Authorization header is not acceptable for the audience, or undefined when it is:
 * a Bearer JWT whose aud matches (trailing slash ignored) and that is inside nbf..exp.
 */
export function bearerProblem(authorization: string | undefined, expectedAudience: string): string | undefined {
  const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
  if (!match) return 'missing Bearer token';
  const claims = readClaims(match[1]);
  if (!claims) return 'the token is not a JWT';
  if (typeof claims.aud !== 'string' || audienceOf(claims.aud) !== audienceOf(expectedAudience)) return 'invalid audience';
  const now = Date.now() / 1000;
  if (typeof claims.exp !== 'number' || claims.exp <= now) return 'the token has expired';
  if (typeof claims.nbf === 'number' && claims.nbf > now) return 'the token is not valid yet';
  return undefined;
}

/** True when the header carries a token minted here for the audience and still valid. */
export function verifyBearer(authorization: string | undefined, expectedAudience: string): boolean {
  return bearerProblem(authorization, expectedAudience) === undefined;
}

/**
 * A user's (or an app's) access token for an API protected by App Service Authentication, signed
 * RS256 for real so the sandbox's Easy Auth checks the signature as App Service does against
 * Entra's keys. Claims of a v2.0 access token (access-token-claims-reference): aud is the API's
 * client id, iss https://login.microsoftonline.com/<tenant>/v2.0, `roles` the app roles assigned.
 */
export interface UserTokenOptions {
  tenantId: string;
  /** The API's client id (v2 tokens' aud) or its Application ID URI (api://<client id>). */
  audience: string;
  signingKeyPem: string;
  /** The user's UPN; omitted for an app (client credentials), which then has only its appid. */
  upn?: string;
  name?: string;
  oid: string;
  roles?: string[];
  /** The calling client app's id (azp); a fixed sandbox CLI id by default. */
  clientAppId?: string;
  issuer?: string;
  lifetimeSeconds?: number;
}

export function mintUserToken(options: UserTokenOptions): string {
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    aud: options.audience,
    iss: options.issuer ?? `https://login.microsoftonline.com/${options.tenantId}/v2.0`,
    iat: now,
    nbf: now - 300,
    exp: now + (options.lifetimeSeconds ?? 3600),
    tid: options.tenantId,
    oid: options.oid,
    sub: options.oid,
    azp: options.clientAppId ?? '04b07795-8ddb-461a-bbee-02f9e1bf7b46',
    ...(options.upn ? { preferred_username: options.upn, upn: options.upn, scp: 'user_impersonation' } : {}),
    ...(options.name ? { name: options.name } : {}),
    ...(options.roles?.length ? { roles: options.roles } : {}),
    ver: '2.0',
  };
  const signingInput = `${encode({ typ: 'JWT', alg: 'RS256', kid: 'sandbox-easy-auth' })}.${encode(claims)}`;
  const signature = createSign('RSA-SHA256').update(signingInput).sign(options.signingKeyPem).toString('base64url');
  return `${signingInput}.${signature}`;
}

/** The claims of an RS256 token signed by the key, or undefined when the signature does not verify. */
export function verifySignedToken(token: string, publicKeyPem: string): Record<string, unknown> | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8')) as { alg?: unknown };
    if (header.alg !== 'RS256') return undefined;
    const valid = createVerify('RSA-SHA256').update(`${parts[0]}.${parts[1]}`).verify(publicKeyPem, Buffer.from(parts[2], 'base64url'));
    if (!valid) return undefined;
    const claims: unknown = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    return claims && typeof claims === 'object' ? (claims as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

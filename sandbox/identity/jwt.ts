import { randomBytes } from 'node:crypto';

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

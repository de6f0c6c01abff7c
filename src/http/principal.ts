/**
 * The caller as App Service Authentication (Easy Auth) hands it to the app: the X-MS-CLIENT-PRINCIPAL
 * header, base64 JSON `{auth_typ, claims: [{typ, val}], name_typ, role_typ}`, beside
 * X-MS-CLIENT-PRINCIPAL-NAME / -ID / -IDP (Learn, "Work with user identities in Azure App Service
 * authentication": https://learn.microsoft.com/azure/app-service/configure-authentication-user-identities).
 * App Service strips these headers from client requests, so they are present only when it set them;
 * the app reads them only when ApiAuthentication says App Service Authentication is in front.
 */
export interface ClientPrincipal {
  /** A human-readable name (UPN, e-mail, or an app's client id); never used to authorise. */
  name: string;
  /** The Entra object id (`oid`): the stable identity the audit names. */
  objectId?: string;
  /** The identity provider (`aad`). */
  identityProvider: string;
  roles: string[];
}

export const PRINCIPAL_HEADER = 'x-ms-client-principal';

/** Claim types after Easy Auth's default claim mapping (the .NET inbound map). */
export const ClaimTypes = {
  objectId: 'http://schemas.microsoft.com/identity/claims/objectidentifier',
  upn: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn',
  name: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name',
  role: 'http://schemas.microsoft.com/ws/2008/06/identity/claims/role',
} as const;

interface Claim {
  typ: string;
  val: string;
}

type HeaderReader = (name: string) => string | null | undefined;

const isClaim = (value: unknown): value is Claim =>
  typeof value === 'object' && value !== null && typeof (value as Claim).typ === 'string' && typeof (value as Claim).val === 'string';

/**
 * The principal, or undefined when the header is missing or not what App Service sends. Roles are
 * the claims typed `role_typ` and those typed `roles`: Entra app roles keep the token's claim name
 * `roles` while role_typ names the long role URI (azure-functions-host#3898), so both count.
 */
export function readClientPrincipal(header: HeaderReader): ClientPrincipal | undefined {
  const encoded = header(PRINCIPAL_HEADER)?.trim();
  if (!encoded || !/^[A-Za-z0-9+/=_-]+$/.test(encoded)) return undefined;
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(encoded, 'base64').toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof decoded !== 'object' || decoded === null) return undefined;
  const { auth_typ: authType, claims, name_typ: nameType, role_typ: roleType } = decoded as Record<string, unknown>;
  if (!Array.isArray(claims) || !claims.every(isClaim)) return undefined;
  const first = (...types: unknown[]): string | undefined => {
    for (const type of types) {
      const found = typeof type === 'string' ? claims.find((claim) => claim.typ === type)?.val : undefined;
      if (found) return found;
    }
    return undefined;
  };
  const roleTypes = new Set(['roles', typeof roleType === 'string' ? roleType : ClaimTypes.role]);
  const roles = claims.filter((claim) => roleTypes.has(claim.typ)).map((claim) => claim.val);
  const objectId = first(ClaimTypes.objectId, 'oid') ?? header('x-ms-client-principal-id')?.trim() ?? undefined;
  const name =
    header('x-ms-client-principal-name')?.trim() || first(nameType, ClaimTypes.upn, 'preferred_username', 'name', 'appid', 'azp') || objectId || 'unnamed principal';
  const identityProvider = header('x-ms-client-principal-idp')?.trim() || (typeof authType === 'string' && authType) || 'unknown';
  return { name, objectId: objectId || undefined, identityProvider, roles: [...new Set(roles)] };
}

/** Who a principal is, for one log line: name, object id and provider, control characters and excess length removed. */
export function describePrincipal(principal: ClientPrincipal): string {
  return `${printable(principal.name, 120)} (oid ${printable(principal.objectId ?? 'none', 64)}, ${printable(principal.identityProvider, 20)})`;
}

/** Text safe for one log line: no control characters (a forged line break), at most `max` characters. */
export function printable(value: string, max: number): string {
  // eslint-disable-next-line no-control-regex
  const clean = value.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '?');
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

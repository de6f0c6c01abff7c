import http from 'node:http';
import { AddressInfo } from 'node:net';
import { randomBytes, randomUUID } from 'node:crypto';

/**
 * The App Service managed-identity endpoint (api-version 2019-08-01), what Azure Functions gives an
 * app through IDENTITY_ENDPOINT / IDENTITY_HEADER and what @azure/identity's
 * ManagedIdentityCredential (MSAL's AppService source) calls:
 * https://learn.microsoft.com/azure/app-service/overview-managed-identity#rest-endpoint-reference
 * Tokens are JWT-shaped (unsigned) because Azurite checks their claims; the emulators check them too.
 */
const b64url = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');

export function mintToken(tenantId: string, resource: string, clientId: string, lifetimeSeconds = 3600): { token: string; expiresOn: number } {
  const now = Math.floor(Date.now() / 1000);
  const expiresOn = now + lifetimeSeconds;
  const audience = resource.replace(/\/\.default$/, '').replace(/\/$/, '');
  const token = [
    b64url({ alg: 'none', typ: 'JWT' }),
    b64url({
      aud: audience,
      iss: `https://sts.windows.net/${tenantId}/`,
      tid: tenantId,
      oid: clientId,
      appid: clientId,
      sub: clientId,
      iat: now,
      nbf: now - 60,
      exp: expiresOn,
    }),
    randomBytes(16).toString('base64url'),
  ].join('.');
  return { token, expiresOn };
}

/** Accepts a bearer token minted here for the audience (shape, audience and expiry: no signature). */
export function verifyBearer(authorization: string | undefined, audience: string): boolean {
  const match = /^Bearer ([\w-]+)\.([\w-]+)\.([\w-]*)$/.exec(authorization ?? '');
  if (!match) return false;
  try {
    const claims = JSON.parse(Buffer.from(match[2], 'base64url').toString('utf8')) as { aud?: string; exp?: number };
    const expected = audience.replace(/\/$/, '');
    return claims.aud?.replace(/\/$/, '') === expected && typeof claims.exp === 'number' && claims.exp > Date.now() / 1000;
  } catch {
    return false;
  }
}

export interface TokenServer {
  endpoint: string;
  header: string;
  clientId: string;
  requests: number;
  stop(): Promise<void>;
}

export async function startTokenServer(tenantId: string): Promise<TokenServer> {
  const header = randomBytes(16).toString('hex');
  const clientId = randomUUID();
  const state = { requests: 0 };
  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const reply = (status: number, body: object): void => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    if (request.headers['x-identity-header'] !== header) return reply(401, { error: 'invalid X-IDENTITY-HEADER' });
    const resource = url.searchParams.get('resource');
    if (url.searchParams.get('api-version') !== '2019-08-01' || !resource) {
      return reply(400, { error: 'api-version=2019-08-01 and resource are required' });
    }
    state.requests += 1;
    const { token, expiresOn } = mintToken(tenantId, resource, url.searchParams.get('client_id') ?? clientId);
    reply(200, { access_token: token, expires_on: String(expiresOn), resource, token_type: 'Bearer', client_id: clientId });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}/msi/token`,
    header,
    clientId,
    get requests() {
      return state.requests;
    },
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

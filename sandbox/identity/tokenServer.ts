import http from 'node:http';
import { AddressInfo } from 'node:net';
import { randomBytes, randomUUID } from 'node:crypto';
import { mintToken } from './jwt';

/**
 * The App Service / Azure Functions managed-identity endpoint, api-version 2019-08-01:
 * https://learn.microsoft.com/azure/app-service/overview-managed-identity#rest-endpoint-reference
 * GET {IDENTITY_ENDPOINT}?resource=...&api-version=2019-08-01[&client_id=...] with header
 * X-IDENTITY-HEADER = IDENTITY_HEADER. @azure/identity 4.14 hands managed identity to MSAL node
 * 7.x, whose source detection (ManagedIdentityClient.getManagedIdentitySource) picks AppService
 * as soon as both env vars are set (ServiceFabric would also need IDENTITY_SERVER_THUMBPRINT), so
 * no IMDS probe happens: the IMDS probe in ManagedIdentityCredential only runs for the Imds source.
 */
/** A user-assigned managed identity: its client (application) id and its principal (object) id. */
export interface ManagedIdentity {
  clientId: string;
  objectId: string;
}

export interface TokenServer {
  /** Value for IDENTITY_ENDPOINT. */
  endpoint: string;
  /** Value for IDENTITY_HEADER (the shared secret). */
  header: string;
  /** The identity's client id, used when a request names none. */
  clientId: string;
  /** That identity's object id, the `oid` of its tokens (what role assignments name). */
  objectId: string;
  /** How many tokens were issued (MSAL caches tokens, so this counts cache misses). */
  issued(): number;
  stop(): Promise<void>;
}

const API_VERSION = '2019-08-01';

export async function startTokenServer(options: {
  tenantId: string;
  clientId?: string;
  /** The identities assigned to the app; the first answers requests that name no client_id. */
  identities?: ManagedIdentity[];
  lifetimeSeconds?: number;
}): Promise<TokenServer> {
  const header = randomBytes(24).toString('hex');
  const identities: ManagedIdentity[] = options.identities?.length
    ? options.identities
    : [{ clientId: options.clientId ?? randomUUID(), objectId: randomUUID() }];
  const defaultClientId = identities[0].clientId;
  let issued = 0;

  const server = http.createServer((request, response) => {
    const reply = (status: number, body: object): void => {
      response.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
      response.end(JSON.stringify(body));
    };
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    if (request.method !== 'GET') return reply(405, { statusCode: 405, message: 'Only GET is supported.' });
    if (request.headers['x-identity-header'] !== header) {
      return reply(401, { statusCode: 401, message: 'The X-IDENTITY-HEADER header is missing or wrong.' });
    }
    const resource = url.searchParams.get('resource');
    if (url.searchParams.get('api-version') !== API_VERSION) {
      return reply(400, { statusCode: 400, message: `api-version must be ${API_VERSION}.` });
    }
    if (!resource) return reply(400, { statusCode: 400, message: 'The resource parameter is required.' });
    const clientId = url.searchParams.get('client_id') ?? defaultClientId;
    // A client id of no assigned identity still gets a token (oid = client id): the sandbox does not
    // model App Service's refusal of an unassigned identity.
    const objectId = identities.find((identity) => identity.clientId.toLowerCase() === clientId.toLowerCase())?.objectId;
    const { token, claims } = mintToken({ tenantId: options.tenantId, resource, clientId, objectId, lifetimeSeconds: options.lifetimeSeconds });
    issued += 1;
    reply(200, {
      access_token: token,
      expires_on: String(claims.exp),
      resource,
      token_type: 'Bearer',
      client_id: clientId,
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}/msi/token`,
    header,
    clientId: defaultClientId,
    objectId: identities[0].objectId,
    issued: () => issued,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

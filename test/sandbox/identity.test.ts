import { DefaultAzureCredential, ManagedIdentityCredential } from '@azure/identity';
import { mintToken, readClaims, startTokenServer, TokenServer, verifyBearer } from '../../sandbox/identity';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';

describe('managed-identity token endpoint (App Service protocol 2019-08-01)', () => {
  let server: TokenServer;
  const savedEnv = { endpoint: process.env.IDENTITY_ENDPOINT, header: process.env.IDENTITY_HEADER };

  beforeAll(async () => {
    server = await startTokenServer({ tenantId: TENANT });
    // As Azure Functions does: the credential reads these when it is constructed.
    process.env.IDENTITY_ENDPOINT = server.endpoint;
    process.env.IDENTITY_HEADER = server.header;
  });

  afterAll(async () => {
    for (const [name, value] of [['IDENTITY_ENDPOINT', savedEnv.endpoint], ['IDENTITY_HEADER', savedEnv.header]] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await server.stop();
  });

  it('gives DefaultAzureCredential a JWT-shaped token for the requested resource', async () => {
    const credential = new DefaultAzureCredential();
    const token = await credential.getToken('https://vault.azure.net/.default');

    const claims = readClaims(token.token);
    expect(claims).toMatchObject({ aud: 'https://vault.azure.net', tid: TENANT, iss: `https://sts.windows.net/${TENANT}/`, appid: server.clientId, oid: server.objectId, sub: server.objectId });
    expect(server.objectId).not.toBe(server.clientId);
    expect(claims!.exp).toBeGreaterThan(Date.now() / 1000);
    expect(claims!.nbf).toBeLessThanOrEqual(claims!.iat!);
    expect(token.expiresOnTimestamp).toBe(claims!.exp! * 1000);
    expect(server.issued()).toBeGreaterThanOrEqual(1);
    expect(verifyBearer(`Bearer ${token.token}`, 'https://vault.azure.net')).toBe(true);
    expect(verifyBearer(`Bearer ${token.token}`, 'https://storage.azure.com')).toBe(false);
  });

  it('issues a user-assigned identity token when ManagedIdentityCredential names a client id', async () => {
    const clientId = '11111111-2222-3333-4444-555555555555';
    const credential = new ManagedIdentityCredential({ clientId });
    const token = await credential.getToken('https://storage.azure.com/.default');

    expect(readClaims(token.token)).toMatchObject({ aud: 'https://storage.azure.com', oid: clientId });
  });

  it('answers only callers that present the X-IDENTITY-HEADER secret', async () => {
    const url = `${server.endpoint}?resource=${encodeURIComponent('https://vault.azure.net')}&api-version=2019-08-01`;

    const without = await fetch(url);
    const wrong = await fetch(url, { headers: { 'X-IDENTITY-HEADER': 'guess' } });
    const right = await fetch(url, { headers: { 'X-IDENTITY-HEADER': server.header } });

    expect(without.status).toBe(401);
    expect(wrong.status).toBe(401);
    expect(right.status).toBe(200);
    const body = (await right.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ resource: 'https://vault.azure.net', token_type: 'Bearer', client_id: server.clientId });
    expect(body.expires_on).toMatch(/^\d+$/);
  });

  it('requires api-version 2019-08-01 and a resource', async () => {
    const headers = { 'X-IDENTITY-HEADER': server.header };

    const oldVersion = await fetch(`${server.endpoint}?resource=https://vault.azure.net&api-version=2017-09-01`, { headers });
    const noResource = await fetch(`${server.endpoint}?api-version=2019-08-01`, { headers });

    expect(oldVersion.status).toBe(400);
    expect(noResource.status).toBe(400);
  });

  it('verifyBearer refuses expired tokens, malformed tokens and headers without the Bearer scheme', () => {
    const expired = mintToken({ tenantId: TENANT, resource: 'https://vault.azure.net', clientId: 'c', lifetimeSeconds: -10 });
    const valid = mintToken({ tenantId: TENANT, resource: 'https://vault.azure.net/', clientId: 'c' });

    expect(verifyBearer(`Bearer ${expired.token}`, 'https://vault.azure.net')).toBe(false);
    expect(verifyBearer(`Bearer ${valid.token}`, 'https://vault.azure.net/')).toBe(true);
    expect(verifyBearer(valid.token, 'https://vault.azure.net')).toBe(false);
    expect(verifyBearer('Bearer not-a-jwt', 'https://vault.azure.net')).toBe(false);
    expect(verifyBearer(undefined, 'https://vault.azure.net')).toBe(false);
  });
});

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Sandbox, startSandbox } from '../../sandbox';
import { scaledGateway } from '../support/scaledGateway';
import type { Status } from '../support/sandboxClient';
import { expectMatchesDocument } from '../support/openapiValidator';

/**
 * The API behind App Service Authentication (Entra ID) with the app role Certificates.Write for
 * writes: the sandbox plays Easy Auth (sandbox/host/easyAuth.ts) and the app authorises from the
 * principal it injects (src/http/authorisation.ts).
 */
describe('the API with App Service Authentication', () => {
  let sandbox: Sandbox;
  let stateDir: string;
  const writerOid = randomUUID();
  const readerOid = randomUUID();
  let writer: string;
  let reader: string;

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-easyauth-'));
    sandbox = await startSandbox(scaledGateway({ stateDir, appServiceAuthentication: true }));
    writer = sandbox.identity.userToken({ upn: 'writer@contoso.example', oid: writerOid, roles: ['Certificates.Write'] });
    reader = sandbox.identity.userToken({ upn: 'reader@contoso.example', oid: readerOid });
  });
  afterAll(async () => {
    await sandbox?.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  async function call(method: string, route: string, options: { token?: string; body?: unknown; headers?: Record<string, string> } = {}) {
    const headers: Record<string, string> = { 'content-type': 'application/json', ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    const url = route.startsWith('http') ? route : `${sandbox.host!.url}${route}`;
    const response = await fetch(url, { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) });
    const text = await response.text();
    let body: Record<string, unknown> = {};
    try {
      body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      body = { text };
    }
    return { status: response.status, headers: response.headers, body, text };
  }

  const single = (hostname: string) => ({ hostnames: [{ hostname }] });

  it('without a token: 401 from App Service with its WWW-Authenticate challenge, as the OpenAPI document describes it; a function key alone does not pass', async () => {
    const anonymous = await call('GET', '/api/certificates');
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(new RegExp(`^Bearer realm=".+" authorization_uri="https://login\\.microsoftonline\\.com/[^"]+/oauth2/v2\\.0/authorize" resource_id="${sandbox.identity.apiClientId}"$`));
    expectMatchesDocument('get', '/certificates', anonymous);
    const keyOnly = await call('POST', '/api/AddCertificateFunctions_HttpStart', { body: single('key.contoso.example'), headers: { 'x-functions-key': sandbox.endpoints.functionKey } });
    expect(keyOnly.status).toBe(401);
    expectMatchesDocument('post', '/AddCertificateFunctions_HttpStart', keyOnly);
  });

  it('serves the excluded paths without a token (the dashboard page, its files, the OpenAPI document), and nothing that only starts like them', async () => {
    for (const route of ['/api/dashboard', '/api/dashboard/app.js', '/api/dashboard/app.css', '/api/openapi.json']) {
      const served = await call('GET', route);
      expect({ route, status: served.status }).toEqual({ route, status: 200 });
    }
    // An entry covers its children only through '/*' (infra lists '/api/dashboard/*'); never as a bare prefix.
    for (const route of ['/api/dashboardx', '/api/dashboard.js', '/api/openapi.json/x', '/api/openapi.jsonx']) {
      const refused = await call('GET', route);
      expect({ route, status: refused.status, challenge: refused.headers.has('www-authenticate') }).toEqual({ route, status: 401, challenge: true });
    }
  });

  it('a client-sent x-ms-client-principal is dropped: alone it is 401, beside a reader\'s token it grants nothing', async () => {
    const forged = Buffer.from(JSON.stringify({ auth_typ: 'aad', claims: [{ typ: 'roles', val: 'Certificates.Write' }], name_typ: 'name', role_typ: 'roles' })).toString('base64');
    const alone = await call('GET', '/api/certificates', { headers: { 'x-ms-client-principal': forged, 'x-ms-client-principal-name': 'admin' } });
    expect(alone.status).toBe(401);
    const beside = await call('POST', '/api/AddCertificateFunctions_HttpStart', { token: reader, body: single('forged.contoso.example'), headers: { 'x-ms-client-principal': forged } });
    expect(beside.status).toBe(403);
  });

  it('refuses tokens App Service would refuse: another audience, expired, a signature that does not verify', async () => {
    const otherAudience = sandbox.identity.userToken({ upn: 'writer@contoso.example', roles: ['Certificates.Write'], audience: randomUUID() });
    const expired = sandbox.identity.userToken({ upn: 'writer@contoso.example', roles: ['Certificates.Write'], lifetimeSeconds: -600 });
    const [head, , signature] = writer.split('.');
    const elevated = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(reader.split('.')[1], 'base64url').toString()), roles: ['Certificates.Write'] })).toString('base64url');
    // A v1 token (issuer https://sts.windows.net/{tenant}/) where the v2.0 issuer is configured
    // (MicrosoftDocs/azure-docs#76602: "only AAD v2 bearer tokens are accepted" there).
    const tenantId = String(JSON.parse(Buffer.from(writer.split('.')[1], 'base64url').toString()).tid);
    const v1Issuer = sandbox.identity.userToken({ upn: 'writer@contoso.example', roles: ['Certificates.Write'], issuer: `https://sts.windows.net/${tenantId}/` });
    for (const token of [otherAudience, expired, `${head}.${elevated}.${signature}`, v1Issuer]) {
      expect((await call('GET', '/api/certificates', { token })).status).toBe(401);
    }
    // The Application ID URI is an audience too (v1 tokens carry it).
    const appIdUri = sandbox.identity.userToken({ upn: 'reader@contoso.example', audience: `api://${sandbox.identity.apiClientId}` });
    expect((await call('GET', '/api/certificates', { token: appIdUri })).status).toBe(200);
  });

  it('a reader lists, but may not issue, import, renew, revoke or remove: 403 problem+json naming the role', async () => {
    expect((await call('GET', '/api/certificates', { token: reader })).status).toBe(200);
    const writes: [string, string, unknown?][] = [
      ['POST', '/api/AddCertificateFunctions_HttpStart', single('reader.contoso.example')],
      ['POST', '/api/AddMultipleCertificatesFunctions_HttpStart', { hostnames: [{ hostname: 'a.contoso.example' }, { hostname: 'b.contoso.example' }] }],
      ['POST', '/api/AddCertificateWithPrivateKeyFunctions_HttpStart', { hostnames: [{ hostname: 'reader.contoso.example', privatekey: 'x', certificate: 'y' }] }],
      ['POST', '/api/certificates/reader.contoso.example/renew'],
      ['POST', '/api/certificates/reader.contoso.example/revoke', { reason: 'keyCompromise' }],
      ['DELETE', '/api/certificates/reader.contoso.example'],
    ];
    for (const [method, route, body] of writes) {
      const refused = await call(method, route, { token: reader, body });
      expect({ route, status: refused.status, type: refused.headers.get('content-type') }).toEqual({ route, status: 403, type: 'application/problem+json' });
      expect(refused.body).toMatchObject({ status: 403, requiredRole: 'Certificates.Write', detail: expect.stringContaining('Certificates.Write') });
      expectMatchesDocument(method === 'DELETE' ? 'delete' : 'post', route.replace(/^\/api/, '').replace(/\/certificates\/[^/]+/, '/certificates/{hostname}'), refused);
    }
  });

  it('a writer issues (202, the run completes); a reader may read its status; GET /.auth/me names the writer and the role', async () => {
    const started = await call('POST', '/api/AddCertificateFunctions_HttpStart', { token: writer, body: single('auth.contoso.example') });
    expect(started.status).toBe(202);
    const statusUrl = String(started.body.statusQueryGetUri);
    // The webhook needs its code key and passes App Service Authentication too: without a token, 401.
    expect((await call('GET', statusUrl)).status).toBe(401);
    let final: Status | undefined;
    const deadline = Date.now() + 180_000;
    while (!final && Date.now() < deadline) {
      const polled = await call('GET', statusUrl, { token: reader });
      const status = polled.body as unknown as Status;
      if (!['Pending', 'Running'].includes(status.runtimeStatus)) final = status;
      else await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(final).toMatchObject({ runtimeStatus: 'Completed', customStatus: { status: 'Completed' } });
    const listed = await call('GET', '/api/certificates', { token: reader });
    expect(JSON.stringify(listed.body)).toContain('auth.contoso.example');

    const me = await call('GET', '/.auth/me', { token: writer });
    expect(me.status).toBe(200);
    const [entry] = me.body as unknown as { provider_name: string; user_id: string; user_claims: { typ: string; val: string }[] }[];
    expect(entry).toMatchObject({ provider_name: 'aad', user_id: 'writer@contoso.example' });
    expect(entry.user_claims).toEqual(expect.arrayContaining([{ typ: 'roles', val: 'Certificates.Write' }]));
  });

  it('audits reads and writes with the caller\'s name, object id and provider, and never a token, key or principal header', async () => {
    await call('GET', '/api/certificates', { token: reader });
    await call('POST', '/api/certificates/audit.contoso.example/renew', { token: reader });
    const lines = sandbox.host!.output;
    const audit = lines.filter((line) => line.includes('audit: '));
    expect(audit).toEqual(expect.arrayContaining([
      expect.stringContaining(`audit: writer@contoso.example (oid ${writerOid}, aad) write AddCertificateFunctions_HttpStart auth.contoso.example -> 202`),
      expect.stringContaining(`audit: reader@contoso.example (oid ${readerOid}, aad) read ListCertificates - -> 200`),
      expect.stringContaining(`audit: reader@contoso.example (oid ${readerOid}, aad) write RenewCertificate audit.contoso.example -> 403`),
    ]));
    const everything = lines.join('\n');
    for (const secret of [writer, reader, writer.split('.')[2], sandbox.endpoints.functionKey, sandbox.endpoints.masterKey]) expect(everything).not.toContain(secret);
    expect(everything).not.toMatch(/x-ms-client-principal|eyJhdXRoX3R5cCI/i);
  });
});

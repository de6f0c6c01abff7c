import { HttpRequest, InvocationContext } from '@azure/functions';
import { loadApiAuthentication } from '../../src/domain/config';
import { authorise } from '../../src/http/authorisation';
import { guarded } from '../../src/http/guarded';
import { ClaimTypes, readClientPrincipal } from '../../src/http/principal';

/** X-MS-CLIENT-PRINCIPAL as App Service shapes it (Learn, configure-authentication-user-identities). */
const principalHeader = (claims: { typ: string; val: string }[], extra: object = {}): string =>
  Buffer.from(JSON.stringify({ auth_typ: 'aad', claims, name_typ: ClaimTypes.name, role_typ: ClaimTypes.role, ...extra })).toString('base64');

const alice = [
  { typ: ClaimTypes.objectId, val: '11111111-2222-3333-4444-555555555555' },
  { typ: ClaimTypes.upn, val: 'alice@contoso.example' },
  { typ: 'name', val: 'Alice' },
];
const headers = (values: Record<string, string>) => (name: string) => values[name.toLowerCase()];
const easyAuth = { mode: 'AppServiceAuthentication' as const, writerRole: 'Certificates.Write' };

describe('the client principal App Service Authentication sends', () => {
  it('gives name, object id, provider and the app roles (typed "roles" as Entra sends them, or role_typ)', () => {
    const principal = readClientPrincipal(headers({
      'x-ms-client-principal': principalHeader([...alice, { typ: 'roles', val: 'Certificates.Write' }, { typ: ClaimTypes.role, val: 'Other' }]),
      'x-ms-client-principal-name': 'alice@contoso.example',
      'x-ms-client-principal-idp': 'aad',
    }));
    expect(principal).toEqual({ name: 'alice@contoso.example', objectId: '11111111-2222-3333-4444-555555555555', identityProvider: 'aad', roles: ['Certificates.Write', 'Other'] });
  });

  it('an app (client credentials) without a name is named by its client id', () => {
    const principal = readClientPrincipal(headers({ 'x-ms-client-principal': principalHeader([{ typ: 'appid', val: 'ci-pipeline-id' }, { typ: 'oid', val: 'sp-oid' }]) }));
    expect(principal).toMatchObject({ name: 'ci-pipeline-id', objectId: 'sp-oid', identityProvider: 'aad', roles: [] });
  });

  it.each([
    ['missing', undefined],
    ['not base64', '%%%'],
    ['not JSON', Buffer.from('hello').toString('base64')],
    ['claims not a list', Buffer.from(JSON.stringify({ auth_typ: 'aad', claims: 'x' })).toString('base64')],
    ['a claim without val', Buffer.from(JSON.stringify({ auth_typ: 'aad', claims: [{ typ: 'roles' }] })).toString('base64')],
  ])('is no principal when the header is %s', (_why, value) => {
    expect(readClientPrincipal(headers(value === undefined ? {} : { 'x-ms-client-principal': value }))).toBeUndefined();
  });
});

describe('who may call what', () => {
  it('with function keys every key holder reads and writes (the host checked the key)', () => {
    expect(authorise({ mode: 'FunctionKey', writerRole: 'Certificates.Write' }, 'write', headers({}))).toEqual({ allowed: true, caller: 'function key' });
  });

  it('with App Service Authentication no principal is 401, a reader reads but may not write (403 naming the role), a writer writes', () => {
    expect(authorise(easyAuth, 'read', headers({}))).toMatchObject({ allowed: false, status: 401 });
    const reader = headers({ 'x-ms-client-principal': principalHeader(alice) });
    expect(authorise(easyAuth, 'read', reader)).toMatchObject({ allowed: true, caller: 'alice@contoso.example (oid 11111111-2222-3333-4444-555555555555, aad)' });
    const refused = authorise(easyAuth, 'write', reader);
    expect(refused).toMatchObject({ allowed: false, status: 403, requiredRole: 'Certificates.Write' });
    expect(refused.allowed === false && refused.detail).toContain('Certificates.Write');
    const writer = headers({ 'x-ms-client-principal': principalHeader([...alice, { typ: 'roles', val: 'Certificates.Write' }]) });
    expect(authorise(easyAuth, 'write', writer)).toMatchObject({ allowed: true });
    // Role values are exact, as Entra issues them.
    const lowerCase = headers({ 'x-ms-client-principal': principalHeader([...alice, { typ: 'roles', val: 'certificates.write' }]) });
    expect(authorise(easyAuth, 'write', lowerCase)).toMatchObject({ allowed: false, status: 403 });
  });

  it('public routes need nobody', () => {
    expect(authorise(easyAuth, 'public', headers({}))).toEqual({ allowed: true, caller: 'anonymous' });
  });

  it('a forged line break in a name cannot start a second log line', () => {
    const forged = headers({ 'x-ms-client-principal': principalHeader(alice), 'x-ms-client-principal-name': 'eve\naudit: admin write' });
    const verdict = authorise(easyAuth, 'read', forged);
    expect(verdict.caller).not.toContain('\n');
  });
});

describe('the settings ApiAuthentication and ApiWriterRole', () => {
  it('default to function keys and the role Certificates.Write', () => {
    expect(loadApiAuthentication({})).toEqual({ mode: 'FunctionKey', writerRole: 'Certificates.Write' });
    expect(loadApiAuthentication({ ApiAuthentication: 'appserviceauthentication', ApiWriterRole: 'Certs.Admin', WEBSITE_AUTH_ENABLED: 'true' })).toEqual({
      mode: 'AppServiceAuthentication',
      writerRole: 'Certs.Admin',
    });
  });

  it('refuse an unknown mode or role, naming the setting', () => {
    expect(() => loadApiAuthentication({ ApiAuthentication: 'Anonymous' })).toThrow(/Setting ApiAuthentication must be one of FunctionKey, AppServiceAuthentication/);
    expect(() => loadApiAuthentication({ ApiWriterRole: 'a role with spaces' })).toThrow(/Setting ApiWriterRole/);
  });

  it('refuse App Service Authentication unless App Service reports it on (WEBSITE_AUTH_ENABLED=True), on Azure or not: otherwise the routes would be open', () => {
    // func start, a container: no WEBSITE_INSTANCE_ID, nothing in front to strip a forged principal.
    for (const env of [{}, { WEBSITE_AUTH_ENABLED: 'False' }, { WEBSITE_AUTH_ENABLED: '' }, { WEBSITE_INSTANCE_ID: 'abc' }, { WEBSITE_INSTANCE_ID: 'abc', WEBSITE_AUTH_ENABLED: 'false' }]) {
      expect(() => loadApiAuthentication({ ApiAuthentication: 'AppServiceAuthentication', ...env })).toThrow(/Setting ApiAuthentication .*WEBSITE_AUTH_ENABLED is not True/);
    }
    for (const enabled of ['True', 'true', ' TRUE ']) {
      expect(loadApiAuthentication({ ApiAuthentication: 'AppServiceAuthentication', WEBSITE_AUTH_ENABLED: enabled }).mode).toBe('AppServiceAuthentication');
    }
    expect(loadApiAuthentication({ ApiAuthentication: 'AppServiceAuthentication', WEBSITE_INSTANCE_ID: 'abc', WEBSITE_AUTH_ENABLED: 'True' }).mode).toBe('AppServiceAuthentication');
  });
});

describe('guarded endpoints', () => {
  const run = async (env: Record<string, string>, request: HttpRequest, access: 'read' | 'write') => {
    const logged: string[] = [];
    const saved = { ...process.env };
    for (const name of ['ApiAuthentication', 'WEBSITE_AUTH_ENABLED', 'WEBSITE_INSTANCE_ID']) delete process.env[name];
    Object.assign(process.env, env);
    try {
      const context = new InvocationContext({ functionName: 'AddCertificateFunctions_HttpStart', logHandler: (_level, ...args) => logged.push(args.join(' ')) });
      const response = await guarded(async (req) => ({ status: 202, jsonBody: { echoed: await req.text() } }), { access })(request, context);
      return { response, logged };
    } finally {
      process.env = saved;
    }
  };
  const body = JSON.stringify({ hostnames: [{ hostname: 'www.contoso.example', privatekey: 'PRIVATE-KEY-MATERIAL' }] });

  it('audit each call with the caller, never the key; the handler still reads the body', async () => {
    const request = new HttpRequest({ method: 'POST', url: 'http://localhost/api/x?code=THE-KEY', headers: { 'x-functions-key': 'THE-KEY' }, body: { string: body } });
    const { response, logged } = await run({ ApiAuthentication: 'FunctionKey' }, request, 'write');
    expect(response.jsonBody).toEqual({ echoed: body });
    expect(logged).toContain('audit: function key write AddCertificateFunctions_HttpStart www.contoso.example -> 202');
    expect(logged.join('\n')).not.toMatch(/THE-KEY|PRIVATE-KEY-MATERIAL/);
  });

  it('log as (invalid) what does not read as a hostname: a key pasted into the field never reaches the log', async () => {
    const pasted = JSON.stringify({ hostnames: [{ hostname: '-----BEGIN PRIVATE KEY----- MIIEvQIBADANBg' }, { hostname: 'WWW.Contoso.Example' }] });
    const request = new HttpRequest({ method: 'POST', url: 'http://localhost/api/x', body: { string: pasted } });
    const { logged } = await run({ ApiAuthentication: 'FunctionKey' }, request, 'write');
    expect(logged).toContain('audit: function key write AddCertificateFunctions_HttpStart (invalid),www.contoso.example -> 202');
    expect(logged.join('\n')).not.toMatch(/PRIVATE KEY|MIIEvQ/);
  });

  it('refuse a reader\'s write with 403 problem+json naming the role, audited', async () => {
    const request = new HttpRequest({ method: 'POST', url: 'http://localhost/api/x', headers: { 'x-ms-client-principal': principalHeader(alice) }, body: { string: body } });
    const { response, logged } = await run({ ApiAuthentication: 'AppServiceAuthentication', WEBSITE_AUTH_ENABLED: 'True' }, request, 'write');
    expect(response.status).toBe(403);
    expect(response.headers).toMatchObject({ 'Content-Type': 'application/problem+json' });
    expect(response.jsonBody).toMatchObject({ status: 403, requiredRole: 'Certificates.Write', detail: expect.stringContaining('Certificates.Write') });
    expect(logged).toContain('audit: alice@contoso.example (oid 11111111-2222-3333-4444-555555555555, aad) write AddCertificateFunctions_HttpStart www.contoso.example -> 403');
  });

  it('answer 500 naming the setting when the authentication settings do not hold', async () => {
    const request = new HttpRequest({ method: 'GET', url: 'http://localhost/api/certificates' });
    const { response } = await run({ ApiAuthentication: 'Nobody' }, request, 'read');
    expect(response.status).toBe(500);
    expect(response.jsonBody).toMatchObject({ code: 'ConfigurationInvalid', detail: expect.stringContaining('ApiAuthentication') });
  });

  it('with App Service Authentication set but WEBSITE_AUTH_ENABLED unset (func start), a forged principal writes nothing: 500 naming both settings', async () => {
    const forged = principalHeader([...alice, { typ: 'roles', val: 'Certificates.Write' }]);
    const request = new HttpRequest({ method: 'POST', url: 'http://localhost/api/x', headers: { 'x-ms-client-principal': forged }, body: { string: body } });
    const { response, logged } = await run({ ApiAuthentication: 'AppServiceAuthentication' }, request, 'write');
    expect(response.status).toBe(500);
    expect(response.jsonBody).toMatchObject({ code: 'ConfigurationInvalid', detail: expect.stringMatching(/ApiAuthentication.*WEBSITE_AUTH_ENABLED/) });
    expect(response.jsonBody).not.toHaveProperty('echoed');
    expect(logged).toContain('audit: unchecked write AddCertificateFunctions_HttpStart www.contoso.example -> 500');
  });
});

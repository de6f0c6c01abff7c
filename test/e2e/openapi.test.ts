import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Sandbox, startSandbox } from '../../sandbox';
import { openApiDocument } from '../../src/openapi/document';
import type { HttpMethod } from '../../src/openapi/types';
import { documentPathsOf, registeredHttpFunctions } from '../support/openapiRoutes';
import { Answer, answerOf, expectMatchesDocument, OpenApiValidator } from '../support/openapiValidator';
import { scaledGateway } from '../support/scaledGateway';

/**
 * The OpenAPI document against the app it describes: every HTTP function the app registers is in
 * it and nothing else is; each route, driven with real requests on one sandbox, answers only what
 * the document says (status, headers, body schema); bodies its schemas accept are accepted and
 * bodies they refuse get 400.
 */
const validator = new OpenApiValidator();
const METHODS: HttpMethod[] = ['get', 'post', 'put', 'delete', 'patch'];

/** A certificate and key for `hostname` made with openssl, as a user brings them (CA-issued, serverAuth). */
function makeCertificate(dir: string, hostname: string): { privatekey: string; certificate: string } {
  const run = (args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-subj', '/CN=OpenAPI Test CA', '-days', '30']);
  fs.writeFileSync(path.join(dir, 'leaf.ext'), `subjectAltName=DNS:${hostname}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n`);
  run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', `/CN=${hostname}`]);
  run(['x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '20', '-out', 'leaf.pem', '-extfile', 'leaf.ext']);
  return { privatekey: fs.readFileSync(path.join(dir, 'leaf.key'), 'utf8'), certificate: fs.readFileSync(path.join(dir, 'leaf.pem'), 'utf8') };
}

const exampleOf = (documentPath: string, name: string): unknown => openApiDocument.paths[documentPath].post!.requestBody!.content['application/json'].examples![name].value;

describe('the OpenAPI document matches the app', () => {
  let sandbox: Sandbox;
  let stateDir: string;
  let pkiDir: string;

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-openapi-'));
    pkiDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pki-openapi-'));
    sandbox = await startSandbox(scaledGateway({ stateDir }));
  });
  afterAll(async () => {
    await sandbox?.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
    fs.rmSync(pkiDir, { recursive: true, force: true });
  });

  /** A request to the app under /api; the function key unless `key: false`. */
  async function call(method: HttpMethod, urlPath: string, options: { body?: unknown; raw?: string; key?: boolean; headers?: Record<string, string> } = {}): Promise<Answer> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.key !== false) headers['x-functions-key'] = sandbox.endpoints.functionKey;
    const body = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
    if (body !== undefined) headers['content-type'] = 'application/json';
    return answerOf(await fetch(`${sandbox.host!.url}/api${urlPath}`, { method: method.toUpperCase(), headers, body }));
  }

  /** Calls and checks the answer against the document; returns it for the test's own expectations. */
  async function checked(method: HttpMethod, documentPath: string, urlPath: string, options?: Parameters<typeof call>[2]): Promise<Answer> {
    const answer = await call(method, urlPath, options);
    expectMatchesDocument(method, documentPath, answer);
    return answer;
  }

  /** Polls a statusQueryGetUri to the end, every body checked against DurableOrchestrationStatus. */
  async function pollChecked(statusUrl: string, timeoutMs = 120_000): Promise<{ runtimeStatus: string; httpStatus: number }> {
    const validate = validator.validatorAt('components', 'schemas', 'DurableOrchestrationStatus');
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const response = await fetch(statusUrl);
      const body = (await response.json()) as { runtimeStatus: string; customStatus: { status: string } | null };
      expect({ valid: validate(body), errors: validate.errors ?? null, body: validate.errors ? body : null }).toEqual({ valid: true, errors: null, body: null });
      if (!['Pending', 'Running'].includes(body.runtimeStatus)) return { runtimeStatus: body.runtimeStatus, httpStatus: response.status };
      if (Date.now() > deadline) throw new Error(`still ${body.runtimeStatus} at ${body.customStatus?.status}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  const started = (answer: Answer): { id: string; statusQueryGetUri: string } => JSON.parse(answer.text) as { id: string; statusQueryGetUri: string };

  it('documents every HTTP function the app registers, and nothing it does not', async () => {
    const registrations = registeredHttpFunctions();
    // The running host registered the same functions (its admin status lists every function).
    const status = (await (await fetch(`${sandbox.host!.url}/admin/host/status`)).json()) as { functions: string[] };
    expect(status.functions).toEqual(expect.arrayContaining(registrations.map((r) => r.name)));

    const registered = registrations.flatMap((r) => documentPathsOf(r.route).flatMap((p) => r.methods.map((m) => `${m.toLowerCase()} ${p}`))).sort();
    const documented = Object.entries(openApiDocument.paths).flatMap(([p, item]) => METHODS.filter((m) => item[m]).map((m) => `${m} ${p}`)).sort();
    expect(documented).toEqual(registered);

    // Anonymous to the host exactly where the document says no credential is needed.
    for (const r of registrations) {
      for (const p of documentPathsOf(r.route)) {
        for (const m of r.methods) {
          const operation = openApiDocument.paths[p][m.toLowerCase() as HttpMethod]!;
          expect({ operation: `${m} ${p}`, anonymous: operation.security?.length === 0 }).toEqual({ operation: `${m} ${p}`, anonymous: r.authLevel === 'anonymous' });
        }
      }
    }
  });

  it('serves itself at /api/openapi.json without a key', async () => {
    const answer = await checked('get', '/openapi.json', '/openapi.json', { key: false });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toEqual(JSON.parse(JSON.stringify(openApiDocument)));
    expect(answer.text).not.toContain(sandbox.endpoints.functionKey);
    expect(answer.text).not.toContain(sandbox.endpoints.masterKey);
  });

  it('answers 401 without a key where the document asks for one', async () => {
    for (const [documentPath, item] of Object.entries(openApiDocument.paths)) {
      for (const method of METHODS) {
        const operation = item[method];
        if (!operation || operation.security?.length === 0) continue;
        const urlPath = documentPath.replace('{hostname}', 'www.example.com').replace('{instanceId}', 'certificate-www.example.com');
        // The contract's example where the operation has one (the starters), else its first (revoke).
        const examples = operation.requestBody?.content['application/json'].examples ?? {};
        const body = operation.requestBody ? exampleOf(documentPath, 'contract' in examples ? 'contract' : Object.keys(examples)[0]) : undefined;
        const answer = await checked(method, documentPath, urlPath, { key: false, body });
        expect(answer.status).toBe(401);
      }
    }
  });

  it('refuses with 400 every starter body its schema refuses, naming the field', async () => {
    const refused: [string, unknown][] = [
      ['/AddCertificateFunctions_HttpStart', {}],
      ['/AddCertificateFunctions_HttpStart', { hostnames: [] }],
      ['/AddCertificateFunctions_HttpStart', { hostnames: [{ hostname: 'a.example.com' }, { hostname: 'b.example.com' }] }],
      ['/AddCertificateFunctions_HttpStart', { hostnames: [{}] }],
      ['/AddCertificateFunctions_HttpStart', { hostnames: [{ hostname: 'a.example.com', challengeType: 'tls-alpn-01' }] }],
      ['/AddMultipleCertificatesFunctions_HttpStart', { hostnames: 'a.example.com' }],
      ['/AddMultipleCertificatesFunctions_HttpStart', { hostnames: [{ hostname: 'a.example.com', group: '-starts-with-a-dash' }] }],
      ['/AddCertificateWithPrivateKeyFunctions_HttpStart', { hostnames: [{ hostname: 'a.example.com', certificate: 'MIIB' }] }],
      ['/AddCertificateWithPrivateKeyFunctions_HttpStart', { hostnames: [] }],
    ];
    for (const [documentPath, body] of refused) {
      const validate = validator.validatorAt('paths', documentPath, 'post', 'requestBody', 'content', 'application/json', 'schema');
      expect({ documentPath, body, schemaAccepts: validate(body) }).toEqual({ documentPath, body, schemaAccepts: false });
      const answer = await checked('post', documentPath, documentPath, { body });
      expect({ documentPath, body, status: answer.status }).toEqual({ documentPath, body, status: 400 });
    }
    // Not JSON at all: the document's problem, naming the body.
    const answer = await checked('post', '/AddCertificateFunctions_HttpStart', '/AddCertificateFunctions_HttpStart', { raw: '{"hostnames": [' });
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.text).errors).toEqual([{ field: '(body)', reason: 'is not valid JSON' }]);
  });

  it('accepts the document\'s examples, answers 409 while busy, and every answer and status body is the documented one', async () => {
    const statusUrls: string[] = [];
    const single = '/AddCertificateFunctions_HttpStart';
    const first = await checked('post', single, single, { body: exampleOf(single, 'contract') });
    expect(first.status).toBe(202);
    statusUrls.push(started(first).statusQueryGetUri);
    // The same hostname again while its first run holds it.
    expect((await checked('post', single, single, { body: exampleOf(single, 'contract') })).status).toBe(409);

    for (const [documentPath, name] of [
      ['/AddCertificateFunctions_HttpStart', 'dns01'],
      ['/AddMultipleCertificatesFunctions_HttpStart', 'contract'],
      ['/AddMultipleCertificatesFunctions_HttpStart', 'group'],
    ] as const) {
      const body = exampleOf(documentPath, name);
      const answer = await checked('post', documentPath, documentPath, { body });
      expect({ documentPath, name, status: answer.status }).toEqual({ documentPath, name, status: 202 });
      statusUrls.push(started(answer).statusQueryGetUri);
    }
    // The import example's shape with a real key and certificate (the document's values are elided).
    const material = makeCertificate(pkiDir, 'imported.example.com');
    const importBody = exampleOf('/AddCertificateWithPrivateKeyFunctions_HttpStart', 'contract') as { hostnames: Record<string, string>[] };
    const imported = await checked('post', '/AddCertificateWithPrivateKeyFunctions_HttpStart', '/AddCertificateWithPrivateKeyFunctions_HttpStart', {
      body: { hostnames: [{ ...importBody.hostnames[0], hostname: 'imported.example.com', ...material }] },
    });
    expect(imported.status).toBe(202);
    statusUrls.push(started(imported).statusQueryGetUri);

    const outcomes = await Promise.all(statusUrls.map((url) => pollChecked(url)));
    // The wildcard example's zone is not one the sandbox's Azure DNS holds: accepted, then failed with a code.
    expect(outcomes.map((o) => o.runtimeStatus)).toEqual(['Completed', 'Failed', 'Completed', 'Completed', 'Completed']);
    expect(outcomes[1].httpStatus).toBe(500);

    // The operations endpoint answers each, in the document's shape.
    for (const url of statusUrls) {
      const id = decodeURIComponent(new URL(url).pathname.split('/').pop()!);
      expect((await checked('get', '/operations/{instanceId}', `/operations/${encodeURIComponent(id)}`)).status).toBe(200);
    }
    expect((await checked('get', '/operations/{instanceId}', '/operations/certificate-nobody.example.com')).status).toBe(404);
    expect((await checked('get', '/operations/{instanceId}', '/operations/a%3Fb')).status).toBe(400);

    // The list, with ACME and imported certificates in it.
    const list = await checked('get', '/certificates', '/certificates');
    expect(list.status).toBe(200);
    expect((JSON.parse(list.text) as { hostname: string }[]).map((c) => c.hostname)).toEqual(expect.arrayContaining(['www.example.com', 'example1.com', 'shop.example.com', 'imported.example.com']));

    // An imported certificate is never replaced by ACME: 409 from the starter and from renew.
    expect((await checked('post', '/AddCertificateFunctions_HttpStart', '/AddCertificateFunctions_HttpStart', { body: { hostnames: [{ hostname: 'imported.example.com' }] } })).status).toBe(409);
    expect((await checked('post', '/certificates/{hostname}/renew', '/certificates/imported.example.com/renew')).status).toBe(409);
  });

  it('renews, revokes and removes as documented: 202, 409 while busy, 404 for a hostname not managed, 400 for bad input', async () => {
    const renew = '/certificates/{hostname}/renew';
    expect((await checked('post', renew, '/certificates/nobody.example.com/renew')).status).toBe(404);
    expect((await checked('post', renew, '/certificates/bad_host!/renew')).status).toBe(400);
    const renewal = await checked('post', renew, '/certificates/www.example.com/renew');
    expect(renewal.status).toBe(202);
    expect((await checked('post', renew, '/certificates/www.example.com/renew')).status).toBe(409);

    const remove = '/certificates/{hostname}';
    expect((await checked('delete', remove, '/certificates/example1.com?purge=maybe')).status).toBe(400);
    expect((await checked('delete', remove, '/certificates/nobody.example.com')).status).toBe(404);
    // The hostname the renewal holds cannot be removed meanwhile.
    expect((await checked('delete', remove, '/certificates/www.example.com')).status).toBe(409);
    const removal = await checked('delete', remove, '/certificates/example1.com?purge=true');
    expect(removal.status).toBe(202);

    const revoke = '/certificates/{hostname}/revoke';
    const revocationExample = exampleOf(revoke, 'cessationOfOperation');
    expect((await checked('post', revoke, '/certificates/nobody.example.com/revoke', { body: revocationExample })).status).toBe(404);
    expect((await checked('post', revoke, '/certificates/shop.example.com/revoke', { body: { reason: 'affiliationChanged' } })).status).toBe(400);
    expect((await checked('post', revoke, '/certificates/imported.example.com/revoke', { body: revocationExample })).status).toBe(409);
    expect((await checked('post', revoke, '/certificates/www.example.com/revoke', { body: revocationExample })).status).toBe(409);
    const revocation = await checked('post', revoke, '/certificates/shop.example.com/revoke', { body: revocationExample });
    expect(revocation.status).toBe(202);

    const [renewed, removed, revoked] = await Promise.all([started(renewal), started(removal), started(revocation)].map((s) => pollChecked(s.statusQueryGetUri)));
    expect([renewed.runtimeStatus, removed.runtimeStatus, revoked.runtimeStatus]).toEqual(['Completed', 'Completed', 'Completed']);
    // The list shows the revocation, in the document's shape.
    const list = await checked('get', '/certificates', '/certificates');
    expect((JSON.parse(list.text) as { hostname: string; revoked: unknown }[]).find((c) => c.hostname === 'shop.example.com')?.revoked).toMatchObject({ reason: 'cessationOfOperation' });
  });

  it('serves the dashboard files as documented, anonymously', async () => {
    const page = await checked('get', '/dashboard', '/dashboard', { key: false });
    // 404 (a documented problem) where the build has no dashboard files.
    expect([200, 404]).toContain(page.status);
    expect((await checked('get', '/dashboard/{file}', '/dashboard/nothing-here.txt', { key: false })).status).toBe(404);
    if (page.status !== 200) return;
    for (const file of ['index.html', 'app.js', 'app.css']) expect((await checked('get', '/dashboard/{file}', `/dashboard/${file}`, { key: false })).status).toBe(200);
    const etag = page.headers.get('etag')!;
    expect((await checked('get', '/dashboard', '/dashboard', { key: false, headers: { 'if-none-match': etag } })).status).toBe(304);
  });
});

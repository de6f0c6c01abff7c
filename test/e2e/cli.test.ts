import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Sandbox, startSandbox } from '../../sandbox';
import { scaledGateway } from '../support/scaledGateway';

/**
 * The operator CLI (`npx appgw-certbot`, dist/src/cli/main.js) against the sandbox, as an operator
 * runs it: each command's text output, its --json document and its exit code.
 */
const CLI = path.join(__dirname, '../../dist/src/cli/main.js');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe('the appgw-certbot CLI against the sandbox', () => {
  let sandbox: Sandbox;
  let stateDir: string;
  /** Every output of every run: none may hold the key. */
  const everything: string[] = [];

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-cli-'));
    sandbox = await startSandbox(scaledGateway({ stateDir }));
  });
  afterAll(async () => {
    await sandbox?.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('runs as `npx appgw-certbot` in the checkout (package.json bin)', () => {
    const help = spawnSync('npx', ['--no-install', 'appgw-certbot', '--help'], { cwd: path.join(__dirname, '..', '..'), encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    expect({ status: help.status, stderr: help.stderr }).toEqual({ status: 0, stderr: '' });
    expect(help.stdout).toMatch(/^Usage: appgw-certbot \[options\] \[command\]/);
  });

  /** Runs the CLI (asynchronously: the sandbox answers from this process) with the sandbox's endpoint and key in the environment. */
  function cli(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [CLI, ...args], {
        env: {
          PATH: process.env.PATH,
          NO_COLOR: '1',
          APPGW_CERTBOT_ENDPOINT: sandbox.host!.url,
          APPGW_CERTBOT_KEY: sandbox.endpoints.functionKey,
          ...env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
      child.on('error', reject);
      child.on('close', (code) => {
        everything.push(stdout, stderr);
        resolve({ code, stdout, stderr });
      });
    });
  }

  const json = (run: Run): Record<string, unknown> => JSON.parse(run.stdout) as Record<string, unknown>;
  const fast = ['--interval', '0.2'];

  it('has --help for the program and each command, naming the exit codes and never a key', async () => {
    const top = await cli(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/Usage: appgw-certbot/);
    for (const command of ['issue', 'list', 'status', 'renew', 'revoke', 'remove']) expect(top.stdout).toContain(command);
    expect(top.stdout).toContain('APPGW_CERTBOT_KEY');
    for (const command of ['issue', 'list', 'status', 'renew', 'revoke', 'remove']) {
      const help = await cli([command, '--help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain(`Usage: appgw-certbot ${command}`);
      expect(help.stdout).toContain('Exit codes:');
      expect(help.stdout).toContain('--endpoint');
    }
    expect((await cli(['issue', '--help'])).stdout).toMatch(/--together[^]*--no-wait[^]*--timeout/);
  });

  it('issues one hostname to Completed, showing its steps as it goes', async () => {
    const run = await cli(['issue', 'cli-one.contoso.example', ...fast]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Started certificate-cli-one.contoso.example');
    // The progress display (one line per change when not a terminal) names the steps.
    expect(run.stdout).toMatch(/cli-one\.contoso\.example: \w+Step: /);
    expect(run.stdout).toContain('✔ cli-one.contoso.example: Completed');
    expect(run.stdout).toContain('certificate-cli-one.contoso.example: Completed');
  });

  it('prints one JSON document with --json: the final status and each hostname', async () => {
    const run = await cli(['issue', 'cli-json.contoso.example', '--json', ...fast]);
    expect(run.code).toBe(0);
    const document = json(run);
    expect(document).toMatchObject({
      instanceId: 'certificate-cli-json.contoso.example',
      name: 'AddCertificateFunctions',
      runtimeStatus: 'Completed',
      customStatus: { status: 'Completed', error: null },
      hostnames: [{ hostname: 'cli-json.contoso.example', status: 'Completed' }],
    });
    expect(document).not.toHaveProperty('input');
  });

  it('a hostname whose DNS points elsewhere fails: exit 1, with its typed code and failed step', async () => {
    const hostname = 'cli-elsewhere.contoso.example';
    await sandbox.pebble.dns.addA(hostname, '192.0.2.10');
    const text = await cli(['issue', hostname, ...fast]);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain(`✖ ${hostname}: Failed HostnameNotResolvingToApplicationGateway`);
    expect(text.stdout).toContain('failed step: CheckDnsResolutionStep');
    expect(text.stdout).toContain('192.0.2.10');

    const asJson = await cli(['issue', hostname, '--json', ...fast]);
    expect(asJson.code).toBe(1);
    expect(json(asJson)).toMatchObject({
      runtimeStatus: 'Failed',
      failure: { code: 'HostnameNotResolvingToApplicationGateway', failedStep: 'CheckDnsResolutionStep' },
      hostnames: [{ hostname, status: 'Failed', code: 'HostnameNotResolvingToApplicationGateway' }],
    });
  });

  it('bad input exits 2: the app\'s 400 with its field and reason, and usage errors', async () => {
    const refused = await cli(['issue', 'not a hostname']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('HTTP 400');
    expect(refused.stderr).toMatch(/ {2}hostnames\[0\]\.hostname: \S/);

    const several = await cli(['issue', 'ok.contoso.example', '1.2.3.4', '--json']);
    expect(several.code).toBe(2);
    const document = json(several) as { error: { status: number; body: { errors: { field: string; reason: string }[] } } };
    expect(document.error.status).toBe(400);
    expect(document.error.body.errors).toEqual([expect.objectContaining({ field: 'hostnames[1].hostname' })]);

    expect((await cli(['issue'])).code).toBe(2);
    expect((await cli(['issue', 'a.contoso.example', '--challenge', 'tls-alpn-01'])).code).toBe(2);
    const badTimeout = await cli(['issue', 'a.contoso.example', '--timeout', 'soon']);
    expect(badTimeout.code).toBe(2);
    // Refused by the option's own parser, before anything is sent.
    expect(badTimeout.stderr).toMatch(/--timeout.*must be a number of seconds greater than 0/);
    expect((await cli(['list'], { APPGW_CERTBOT_ENDPOINT: undefined })).code).toBe(2);
    // A key the app refuses (401) is bad input too.
    const wrongKey = await cli(['list'], { APPGW_CERTBOT_KEY: 'not-the-key' });
    expect(wrongKey.code).toBe(2);
    expect(wrongKey.stderr).toContain('HTTP 401');
    expect(wrongKey.stderr).not.toContain('not-the-key');
  });

  it('an unreachable endpoint exits 3, in text and --json', async () => {
    const port = await closedPort();
    const text = await cli(['list'], { APPGW_CERTBOT_ENDPOINT: `http://127.0.0.1:${port}` });
    expect(text.code).toBe(3);
    expect(text.stderr).toContain(`Cannot reach http://127.0.0.1:${port}: ECONNREFUSED`);
    const asJson = await cli(['issue', 'x.contoso.example', '--json', '--endpoint', `http://127.0.0.1:${port}`]);
    expect(asJson.code).toBe(3);
    expect(json(asJson)).toMatchObject({ error: { exitCode: 3 } });
  });

  it('lists the certificates as a table and as JSON', async () => {
    const text = await cli(['list']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^HOSTNAME\s+STATE\s+SOURCE/);
    expect(text.stdout).toMatch(/cli-one\.contoso\.example\s+valid\s+acme\s+http-01\s+\d{4}-\d\d-\d\d\s+\d+\s+\d{4}-\d\d-\d\d\s+bound/);

    const asJson = await cli(['list', '--json']);
    expect(asJson.code).toBe(0);
    const listed = JSON.parse(asJson.stdout) as { hostname: string; state: string }[];
    expect(listed).toEqual(expect.arrayContaining([expect.objectContaining({ hostname: 'cli-one.contoso.example', state: 'valid' })]));
  });

  it('shows an operation\'s status by its instance id; an unknown id exits 1, an id no instance can have exits 2', async () => {
    const text = await cli(['status', 'certificate-cli-elsewhere.contoso.example']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/status: +Failed/);
    expect(text.stdout).toContain('HostnameNotResolvingToApplicationGateway');

    const asJson = await cli(['status', 'certificate-cli-one.contoso.example', '--json']);
    expect(asJson.code).toBe(0);
    const document = json(asJson);
    expect(document).toMatchObject({ instanceId: 'certificate-cli-one.contoso.example', name: 'AddCertificateFunctions', runtimeStatus: 'Completed' });
    expect(Object.keys(document).sort()).toEqual(['createdTime', 'customStatus', 'instanceId', 'lastUpdatedTime', 'name', 'output', 'runtimeStatus']);

    const unknown = await cli(['status', 'certificate-never.contoso.example']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('HTTP 404');
    const invalid = await cli(['status', 'bad\tid']);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain('instanceId:');
  });

  it('the operations route answers only this app\'s orchestrations, with no input, and refuses ids no instance can have', async () => {
    const get = (id: string) => fetch(`${sandbox.host!.url}/api/operations/${id}`, { headers: { 'x-functions-key': sandbox.endpoints.functionKey } });
    const known = await get('certificate-cli-one.contoso.example');
    expect(known.status).toBe(200);
    expect(await known.json()).not.toHaveProperty('input');
    expect((await get(`a${'b'.repeat(256)}`)).status).toBe(400);
    expect((await get('a%3Fb')).status).toBe(400);
    expect((await get('a%01b')).status).toBe(400);
    const missing = await get('nothing-here');
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toContain('application/problem+json');
    expect((await fetch(`${sandbox.host!.url}/api/operations/certificate-cli-one.contoso.example`)).status).toBe(401);
  });

  it('--no-wait returns the instance and its links at once, the key in them redacted; a second request for a busy name exits 1', async () => {
    const hostname = 'cli-nowait.contoso.example';
    const started = await cli(['issue', hostname, '--no-wait', '--json']);
    expect(started.code).toBe(0);
    const links = json(started) as { id: string; statusQueryGetUri: string };
    expect(links.id).toBe(`certificate-${hostname}`);
    expect(links.statusQueryGetUri).toContain('code=***');
    const busy = await cli(['issue', hostname]);
    expect(busy.code).toBe(1);
    expect(busy.stderr).toContain('HTTP 409');
    // A script follows it by its id until it ends.
    let document: Record<string, unknown> = {};
    for (let tries = 0; tries < 600; tries++) {
      const polled = await cli(['status', links.id, '--json']);
      expect(polled.code).toBe(0);
      document = json(polled);
      if (!['Pending', 'Running'].includes(String(document.runtimeStatus))) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(document).toMatchObject({ instanceId: links.id, runtimeStatus: 'Completed' });
  });

  it('renews a certificate now and follows it to Completed', async () => {
    const run = await cli(['renew', 'cli-one.contoso.example', ...fast]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('✔ cli-one.contoso.example: Completed');
    const unmanaged = await cli(['renew', 'never-issued.contoso.example']);
    expect(unmanaged.code).toBe(1);
    expect(unmanaged.stderr).toContain('HTTP 404');
  });

  it('issues several hostnames in one request, each certificate\'s step shown under its name', async () => {
    const run = await cli(['issue', 'cli-c.fabrikam.example', 'cli-d.fabrikam.example', ...fast]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Started batch-[0-9a-f-]{36}/);
    for (const hostname of ['cli-c.fabrikam.example', 'cli-d.fabrikam.example']) {
      expect(run.stdout).toMatch(new RegExp(`${hostname.replace(/\./g, '\\.')}: (\\w+Step: |issued; )`));
      expect(run.stdout).toContain(`✔ ${hostname}: Completed`);
    }
  });

  it('issues several names as one certificate with --together', async () => {
    const run = await cli(['issue', 'cli-a.fabrikam.example', 'cli-b.fabrikam.example', '--together', '--json', ...fast]);
    expect(run.code).toBe(0);
    expect(json(run)).toMatchObject({ name: 'AddMultipleCertificatesFunctions', runtimeStatus: 'Completed', hostnames: [{ hostname: 'cli-a.fabrikam.example', status: 'Completed' }] });
    const listed = JSON.parse((await cli(['list', '--json'])).stdout) as { hostname: string; hostnames: string[] }[];
    expect(listed.find((c) => c.hostname === 'cli-a.fabrikam.example')?.hostnames).toEqual(['cli-a.fabrikam.example', 'cli-b.fabrikam.example']);
  });

  it('revokes a certificate with --reason; the list shows it; a reason the CA refuses is refused before any request', async () => {
    const refused = await cli(['revoke', 'cli-a.fabrikam.example', '--reason', 'affiliationChanged']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/unspecified, keyCompromise, superseded, cessationOfOperation/);
    expect((await cli(['revoke', 'cli-a.fabrikam.example'])).code).toBe(2);
    const run = await cli(['revoke', 'cli-a.fabrikam.example', '--reason', 'cessationOfOperation', ...fast]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Started revocation-cli-a.fabrikam.example');
    expect(run.stdout).toContain('✔ cli-a.fabrikam.example: Completed');
    expect((await cli(['list'])).stdout).toMatch(/cli-a\.fabrikam\.example\s+valid, revoked \(cessationOfOperation\)\s+acme/);
  });

  it('removes a certificate: off the gateway, out of the list', async () => {
    const run = await cli(['remove', 'cli-json.contoso.example', '--purge', ...fast]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('✔ cli-json.contoso.example: Completed');
    expect(run.stdout).toMatch(/output: \{"hostname":"cli-json\.contoso\.example","purged":(true|false)/);
    const listed = JSON.parse((await cli(['list', '--json'])).stdout) as { hostname: string }[];
    expect(listed.map((c) => c.hostname)).not.toContain('cli-json.contoso.example');
  });

  it('never printed the key, in any output of any run', () => {
    expect(everything.length).toBeGreaterThan(20);
    for (const output of everything) expect(output).not.toContain(sandbox.endpoints.functionKey);
  });
});

/** A port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

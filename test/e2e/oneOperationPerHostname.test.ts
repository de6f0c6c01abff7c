import { scaledGateway } from '../support/scaledGateway';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CertificateClient } from '@azure/keyvault-certificates';
import { Sandbox, STATE_CONTAINER, startSandbox } from '../../sandbox';
import { certificateNameFor } from '../../src/azure/keyVault';
import { GatewayWriter } from '../../src/functions/names';
import { invokeFunction, pollToEnd, post, SandboxCredential, Status } from '../support/sandboxClient';

const SINGLE = 'AddCertificateFunctions_HttpStart';
const MULTIPLE = 'AddMultipleCertificatesFunctions_HttpStart';
const IMPORT = 'AddCertificateWithPrivateKeyFunctions_HttpStart';

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A certificate for the hostname from a throwaway CA, as a user would import it. */
function importable(dir: string, hostname: string): { privatekey: string; certificate: string } {
  const run = (args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  if (!fs.existsSync(path.join(dir, 'ca.pem'))) run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-subj', '/CN=Race Test CA', '-days', '30']);
  fs.writeFileSync(path.join(dir, 'leaf.ext'), `subjectAltName=DNS:${hostname}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n`);
  run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=race']);
  run(['x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '20', '-out', 'leaf.pem', '-extfile', 'leaf.ext']);
  return { privatekey: fs.readFileSync(path.join(dir, 'leaf.key'), 'utf8'), certificate: fs.readFileSync(path.join(dir, 'leaf.pem'), 'utf8') };
}

describe('one operation per hostname, names that cannot be confused, limits before the CA', () => {
  let sandbox: Sandbox;
  let stateDir: string;
  let pkiDir: string;
  let vault: CertificateClient;

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-exclusive-'));
    pkiDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pki-race-'));
    sandbox = await startSandbox(scaledGateway({ stateDir }));
    vault = new CertificateClient(sandbox.endpoints.keyVaultUrl, new SandboxCredential(), {
      disableChallengeResourceVerification: true,
      tlsOptions: { ca: sandbox.ca.certPem },
    } as object);
  });
  afterAll(async () => {
    await sandbox?.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
    fs.rmSync(pkiDir, { recursive: true, force: true });
  });

  const gateway = () => sandbox.arm.getGateway().properties;
  const puts = (): number => sandbox.counters.get('arm', 'applicationGateways.put');

  async function issue(hostname: string): Promise<void> {
    const started = await post(sandbox, SINGLE, { hostnames: [{ hostname }] });
    expect(started.status).toBe(202);
    const { final } = await pollToEnd(String(started.body.statusQueryGetUri));
    expect({ hostname, status: final.runtimeStatus, output: final.output }).toEqual({ hostname, status: 'Completed', output: null });
  }

  async function settle(): Promise<void> {
    for (let i = 0; i < 2400; i++) {
      const response = await fetch(`${sandbox.host!.url}/runtime/webhooks/durabletask/instances?runtimeStatus=Running,Pending&code=${sandbox.endpoints.functionKey}`).catch(() => undefined);
      const running = response ? ((await response.json()) as Status[]).filter((s) => s.name !== GatewayWriter.orchestrator) : [{}];
      if (running.length === 0) return;
      await pause(50);
    }
    throw new Error('instances still running');
  }

  async function managedHostnames(): Promise<string[]> {
    const response = await fetch(`${sandbox.endpoints.apiBaseUrl}/certificates`, { headers: { 'x-functions-key': sandbox.endpoints.functionKey } });
    return ((await response.json()) as { hostname: string }[]).map((c) => c.hostname);
  }

  /** Every listener's secret exists and is enabled; every issued certificate in the vault is listed. */
  async function expectConsistent(): Promise<void> {
    const certificates = new Map((gateway().sslCertificates ?? []).map((c) => [c.id ?? c.name, c]));
    for (const listener of gateway().httpListeners.filter((l) => l.properties.protocol === 'Https')) {
      const cert = [...certificates.values()].find((c) => listener.properties.sslCertificate?.id?.endsWith(`/sslCertificates/${c.name}`));
      expect({ listener: listener.name, secret: cert?.properties.keyVaultSecretId }).toEqual({ listener: listener.name, secret: expect.any(String) });
      expect({ listener: listener.name, resolves: !!(await sandbox.keyVault.resolveSecret(cert!.properties.keyVaultSecretId!)) }).toEqual({ listener: listener.name, resolves: true });
    }
    const listed = await managedHostnames();
    for await (const properties of vault.listPropertiesOfCertificates()) {
      if (properties.tags?.hostname && properties.expiresOn && properties.enabled !== false) expect(listed).toContain(properties.tags.hostname);
    }
  }

  it('removal racing a renewal, an import, a batch or the renewal timer leaves the gateway and Key Vault consistent, also across a host crash', async () => {
    const kinds = ['renew', 'import', 'batch', 'timer'] as const;
    const delays = [0, 150, 600];
    let round = 0;
    for (const kind of kinds) {
      for (const delay of [...delays, -1]) {
        const hostname = `race${round++}-${kind}.litware.example`;
        await issue(hostname);
        if (kind === 'timer') sandbox.acme.renewalInfo.suggestWindow(hostname, { start: new Date(Date.now() - 3600_000), end: new Date(Date.now() - 60_000) });
        const removal = await fetch(`${sandbox.endpoints.apiBaseUrl}/certificates/${hostname}`, { method: 'DELETE', headers: { 'x-functions-key': sandbox.endpoints.functionKey } });
        expect(removal.status).toBe(202);
        await pause(Math.max(delay, 0));
        let other: Response | number;
        if (kind === 'renew') other = await fetch(`${sandbox.endpoints.apiBaseUrl}/certificates/${hostname}/renew`, { method: 'POST', headers: { 'x-functions-key': sandbox.endpoints.functionKey } });
        else if (kind === 'import') other = (await post(sandbox, IMPORT, { hostnames: [{ hostname, ...importable(pkiDir, hostname) }] })).status;
        else if (kind === 'batch') other = (await post(sandbox, MULTIPLE, { hostnames: [{ hostname }, { hostname: `partner-${hostname}` }] })).status;
        else other = await invokeFunction(sandbox, 'RenewCertificatesTimer');
        const status = typeof other === 'number' ? other : other.status;
        // Either it waits its turn (409: the removal holds the name) or it runs after the removal.
        expect({ kind, delay, status: [202, 404, 409].includes(status) }).toEqual({ kind, delay, status: true });
        if (delay < 0) await sandbox.restartHost('SIGKILL'); // a crash with both in flight
        await settle();
        await expectConsistent();
      }
    }
    // Whatever is managed can be removed through the API, and then nothing of it is left.
    for (const hostname of await managedHostnames()) {
      const removal = await fetch(`${sandbox.endpoints.apiBaseUrl}/certificates/${hostname}?purge=true`, { method: 'DELETE', headers: { 'x-functions-key': sandbox.endpoints.functionKey } });
      expect({ hostname, status: removal.status }).toEqual({ hostname, status: 202 });
    }
    await settle();
    expect(await managedHostnames()).toEqual([]);
    expect(gateway().httpListeners.filter((l) => l.properties.hostName?.includes('litware.example'))).toEqual([]);
  }, 900_000);

  it('of ten concurrent requests for one hostname (single, batch, import) exactly one starts; the rest get 409 naming it', async () => {
    const hostname = 'contended.litware.example';
    const bodies: [string, unknown][] = [
      ...Array.from({ length: 6 }, (): [string, unknown] => [SINGLE, { hostnames: [{ hostname }] }]),
      ...Array.from({ length: 3 }, (_, i): [string, unknown] => [MULTIPLE, { hostnames: [{ hostname: `mate${i}.litware.example` }, { hostname }] }]),
      [IMPORT, { hostnames: [{ hostname, ...importable(pkiDir, hostname) }] }],
    ];
    const answers = await Promise.all(bodies.map(([name, body]) => post(sandbox, name, body)));
    const started = answers.filter((a) => a.status === 202);
    expect(answers.map((a) => a.status).sort()).toEqual([202, ...Array(9).fill(409)]);
    const winner = String(started[0].body.id);
    for (const refused of answers.filter((a) => a.status === 409)) {
      expect(refused.body).toMatchObject({ hostnames: [hostname], holders: [{ hostname, instanceId: winner }] });
    }
    expect((await pollToEnd(String(started[0].body.statusQueryGetUri))).final.runtimeStatus).toBe('Completed');
    await settle();
  });

  it('of renewals and removals racing for one hostname under the same instance ids, exactly one starts', async () => {
    const hostname = 'sameid.litware.example';
    await issue(hostname);
    const headers = { 'x-functions-key': sandbox.endpoints.functionKey };
    const requests = [
      ...Array.from({ length: 5 }, () => fetch(`${sandbox.endpoints.apiBaseUrl}/certificates/${hostname}/renew`, { method: 'POST', headers })),
      ...Array.from({ length: 3 }, () => fetch(`${sandbox.endpoints.apiBaseUrl}/certificates/${hostname}`, { method: 'DELETE', headers })),
    ];
    const statuses = (await Promise.all(requests)).map((r) => r.status);
    expect(statuses.filter((s) => s === 202)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(7);
    await settle();
    await expectConsistent();
  });

  it('takes over the claim of an operation that was terminated without releasing it', async () => {
    const hostname = 'terminated.litware.example';
    sandbox.faults.arm({ service: 'keyvault', match: `/certificates/${certificateNameFor(hostname)}/create`, delayMs: 5000, count: 1 });
    const first = await post(sandbox, SINGLE, { hostnames: [{ hostname }] });
    expect(first.status).toBe(202);
    expect((await post(sandbox, SINGLE, { hostnames: [{ hostname }] })).status).toBe(409);
    const terminated = await fetch(String(first.body.terminatePostUri).replace('{text}', 'operator'), { method: 'POST' });
    expect(terminated.status).toBe(202);
    expect((await pollToEnd(String(first.body.statusQueryGetUri))).final.runtimeStatus).toBe('Terminated');
    // The terminated run never released its claim; another operation (a batch) takes it over at once.
    const batch = await post(sandbox, MULTIPLE, { hostnames: [{ hostname }, { hostname: 'after-terminated.litware.example' }] });
    expect(batch.status).toBe(202);
    expect((await pollToEnd(String(batch.body.statusQueryGetUri))).final.runtimeStatus).toBe('Completed');
  });

  it('refuses confusable and malformed names in bodies and routes, never acting on another name', async () => {
    await issue('happy.example.test');
    const before = puts();
    for (const hostname of ['goo%64.example.test', 'happy.example.test\\x', 'soft\u00ADhappy.example.test', 'h\u0430ppy.example.test', 'happy\u3002example.test']) {
      const response = await post(sandbox, SINGLE, { hostnames: [{ hostname }] });
      expect({ hostname, status: response.status, field: (response.body.errors as { field: string }[] | undefined)?.[0]?.field }).toEqual({ hostname, status: 400, field: 'hostnames[0].hostname' });
    }
    // Decoded once by the host's routing: %252E arrives as "%2E" (refused), never as ".".
    for (const route of ['happy.example.test%5Cx', 'happy.example.test%25', '%E0%A4%A', 'happy%252Eexample.test', 'happy.example.test%C2%AD']) {
      const response = await fetch(`${sandbox.endpoints.apiBaseUrl}/certificates/${route}`, { method: 'DELETE', headers: { 'x-functions-key': sandbox.endpoints.functionKey } });
      const body = (await response.json()) as { errors?: { field: string }[] };
      expect({ route, status: response.status, field: body.errors?.[0]?.field }).toEqual({ route, status: 400, field: 'hostname' });
    }
    expect(puts()).toBe(before);
    expect(await managedHostnames()).toContain('happy.example.test');
  });

  it('refuses an ACME request for a hostname holding an imported certificate before anything is ordered', async () => {
    const hostname = 'imported.litware.example';
    const imported = await post(sandbox, IMPORT, { hostnames: [{ hostname, ...importable(pkiDir, hostname) }] });
    expect(imported.status).toBe(202);
    expect((await pollToEnd(String(imported.body.statusQueryGetUri))).final.runtimeStatus).toBe('Completed');
    const orders = sandbox.counters.get('acme', 'newOrder');
    const single = await post(sandbox, SINGLE, { hostnames: [{ hostname }] });
    const batch = await post(sandbox, MULTIPLE, { hostnames: [{ hostname: 'other.litware.example' }, { hostname }] });
    for (const response of [single, batch]) {
      expect(response.status).toBe(409);
      expect(response.body).toMatchObject({ hostnames: [hostname] });
    }
    expect(sandbox.counters.get('acme', 'newOrder')).toBe(orders);
  });

  it('the gateway writer refuses forged requests in its inbox and changes nothing for them', async () => {
    await issue('owned.litware.example');
    const before = JSON.stringify(gateway());
    const putsBefore = puts();
    const vaultUrl = sandbox.endpoints.keyVaultUrl;
    const owned = certificateNameFor('owned.litware.example');
    const forged = [
      { bindings: [{ hostname: 'evil.litware.example', name: certificateNameFor('evil.litware.example'), keyVaultSecretId: 'https://evil.vault.azure.net/secrets/stolen', refresh: true }], removals: [] },
      { bindings: [{ hostname: 'owned.litware.example', name: 'handmade-certificate', keyVaultSecretId: `${vaultUrl}/secrets/handmade-certificate` }], removals: [] },
      { bindings: [], removals: [{ hostname: 'handmade.litware.example', name: certificateNameFor('handmade.litware.example') }] },
      { bindings: [], removals: [{ hostname: 'OWNED.litware.example', name: owned }] },
      // What the app itself would send, but from someone who does not hold the hostname:
      { bindings: [], removals: [{ hostname: 'owned.litware.example', name: owned }] },
      { bindings: [{ hostname: 'unmanaged.litware.example', name: certificateNameFor('unmanaged.litware.example'), keyVaultSecretId: `${vaultUrl}/secrets/${certificateNameFor('unmanaged.litware.example')}` }], removals: [] },
      { bindings: [{ hostname: 'owned.litware.example', name: owned, keyVaultSecretId: `${vaultUrl}/secrets/${owned}/0123456789abcdef` }], removals: [] },
      { bindings: [{ hostname: 'owned.litware.example', name: owned, keyVaultSecretId: `${vaultUrl}/secrets/${owned}` }], removals: [] },
    ].map((request, index) => ({ requestId: `forged-${index}`, replyTo: 'attacker', ...request }));
    // Someone with write access to the state container puts requests straight into the inbox.
    const inbox = sandbox.azurite.serviceClient.getContainerClient(STATE_CONTAINER).getBlockBlobClient(`gateway-writer/${sandbox.arm.getGateway().name}.json`);
    const state = JSON.parse((await inbox.downloadToBuffer()).toString('utf8')) as { pending: unknown[] };
    state.pending.push(...forged);
    const text = JSON.stringify(state);
    await inbox.upload(text, Buffer.byteLength(text));
    // A real request after them is still served: the writer applied only it.
    await issue('after-forgery.litware.example');
    expect(puts() - putsBefore).toBe(1);
    const after = gateway();
    expect((after.sslCertificates ?? []).some((c) => c.properties.keyVaultSecretId?.includes('evil.vault'))).toBe(false);
    expect(after.httpListeners.find((l) => l.properties.hostName === 'owned.litware.example')?.properties.sslCertificate?.id).toContain(owned);
    expect(JSON.parse(before).httpListeners.length + 1).toBe(after.httpListeners.length);
    const answered = JSON.parse((await inbox.downloadToBuffer()).toString('utf8')) as { pending: unknown[]; taken: unknown[]; results: Record<string, { result: { ok: boolean; error?: { detail: string } } }> };
    for (const { requestId } of forged) expect(answered.results[requestId]?.result).toMatchObject({ ok: false, error: { detail: expect.stringContaining('refused') } });
    expect([...answered.pending, ...answered.taken]).toEqual([]);
  });
});

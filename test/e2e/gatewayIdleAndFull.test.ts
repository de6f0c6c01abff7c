import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Sandbox, startSandbox } from '../../sandbox';
import { GatewayResource, removeHttpsBindings } from '../../sandbox/emulators/gatewayModel';
import { failureRecord, invokeFunction, pollToEnd, post, Status } from '../support/sandboxClient';
import { scaledGateway } from '../support/scaledGateway';

/**
 * An idle app costs nothing: once its work is done no instance is running and none holds a
 * durable timer or an unread event, so no episode can run however long it stays idle (the
 * simulated day: the day's timer functions run, then nothing may change). And a full gateway
 * refuses the 101st certificate before the CA is asked.
 */
describe('the gateway writer while idle, and a full gateway', () => {
  let sandbox: Sandbox;
  let stateDir: string;

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-idle-'));
    sandbox = await startSandbox(scaledGateway({ stateDir }));
  });
  afterAll(async () => {
    await sandbox?.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  const api = (suffix: string): string => `${sandbox.host!.url}/runtime/webhooks/durabletask/instances${suffix}`;

  /** What could still wake an orchestration: durable timers and unread events, in the host's persisted state. */
  function pendingWork(): { timers: number; events: number } {
    const dir = path.join(stateDir, 'durable', 'instances');
    const states = fs.readdirSync(dir).map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as { timers: unknown[]; inbox: unknown[] });
    return { timers: states.reduce((n, s) => n + s.timers.length, 0), events: states.reduce((n, s) => n + s.inbox.length, 0) };
  }

  /** Every instance with its episode count (OrchestratorStarted events in its history). */
  async function episodes(): Promise<Map<string, { status: string; episodes: number }>> {
    const listed = (await (await fetch(api(`?code=${sandbox.endpoints.functionKey}`))).json()) as Status[];
    const result = new Map<string, { status: string; episodes: number }>();
    for (const instance of listed) {
      const full = (await (await fetch(api(`/${instance.instanceId}?showHistory=true&code=${sandbox.endpoints.functionKey}`))).json()) as Status;
      const count = (full.historyEvents ?? []).filter((e) => e.EventType === 'OrchestratorStarted').length;
      result.set(instance.instanceId, { status: full.runtimeStatus, episodes: count });
    }
    return result;
  }

  it('after a certificate goes live, a simulated idle day runs no orchestration episode', async () => {
    const started = await post(sandbox, 'AddCertificateFunctions_HttpStart', { hostnames: [{ hostname: 'idle.contoso.example' }] });
    expect((await pollToEnd(String(started.body.statusQueryGetUri))).final.runtimeStatus).toBe('Completed');
    // The writer finishes its last episode just after replying.
    let before = await episodes();
    for (let i = 0; i < 100 && [...before.values()].some((i) => ['Pending', 'Running'].includes(i.status)); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      before = await episodes();
    }
    expect([...before.entries()].filter(([, i]) => ['Pending', 'Running'].includes(i.status))).toEqual([]);
    expect([...before.keys()].some((id) => id.startsWith('gateway-writer-'))).toBe(true);
    expect(pendingWork()).toEqual({ timers: 0, events: 0 });

    // A day: its timers run (nothing is due, nothing to purge yet) and any durable timer would have fired.
    expect(await invokeFunction(sandbox, 'RenewCertificatesTimer')).toBe(202);
    expect(await invokeFunction(sandbox, 'PurgeHistoryTimer')).toBe(202);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(await episodes()).toEqual(before);
    expect(pendingWork()).toEqual({ timers: 0, events: 0 });
  });

  it('the 101st certificate fails with ApplicationGatewayCapacityExceeded before any ACME request', async () => {
    await expectFullGatewayRefuses(sandbox, 100, /SSL certificates, which already has 100 of at most 100 \(Standard_v2\)/);
  });
});

describe('a WAF_v2 gateway on OWASP CRS 3.1 (limits of 40)', () => {
  let sandbox: Sandbox;
  let stateDir: string;

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-waf-'));
    sandbox = await startSandbox(scaledGateway({ stateDir, gatewaySku: 'WAF_v2', wafRuleSetVersion: '3.1' }));
  });
  afterAll(async () => {
    await sandbox?.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('the 41st certificate fails with ApplicationGatewayCapacityExceeded before any ACME request, naming the WAF limit', async () => {
    await expectFullGatewayRefuses(sandbox, 40, /SSL certificates, which already has 40 of at most 40 \(WAF_v2 with OWASP CRS 3\.1\).*CRS 3\.2 or later/);
  });
});

/**
 * Another team's certificates on the same gateway, all but one on listeners with rules (so, with
 * the HTTP listener, as many active listeners as certificates): the gateway is full.
 */
function fillGateway(sandbox: Sandbox, gateway: GatewayResource, certificates: number): void {
  const child = (collection: string, name: string): { id: string } => ({ id: `${gateway.id}/${collection}/${name}` });
  for (let i = 0; i < certificates; i++) {
    const name = `other-team-${i}`;
    gateway.properties.sslCertificates = [
      ...(gateway.properties.sslCertificates ?? []),
      { name, properties: { keyVaultSecretId: `${sandbox.endpoints.keyVaultUrl}/secrets/${name}` } },
    ];
    if (i === certificates - 1) continue;
    gateway.properties.httpListeners.push({
      name: `${name}-listener`,
      properties: {
        frontendIPConfiguration: child('frontendIPConfigurations', 'appGwPublicFrontendIp'),
        frontendPort: child('frontendPorts', 'port_443'),
        protocol: 'Https',
        hostName: `site${i}.other-team.example`,
        requireServerNameIndication: true,
        sslCertificate: child('sslCertificates', name),
      },
    });
    gateway.properties.requestRoutingRules.push({
      name: `${name}-rule`,
      properties: {
        ruleType: 'Basic',
        priority: 1000 + i,
        httpListener: child('httpListeners', `${name}-listener`),
        backendAddressPool: child('backendAddressPools', sandbox.settings.ApplicationGatewayBackendName),
        backendHttpSettings: child('backendHttpSettingsCollection', sandbox.settings.ApplicationGatewayHttpSettingsName),
      },
    });
  }
}

/** Fills the gateway with another team's bindings, then asks for one more hostname: refused before the CA, nothing written. */
async function expectFullGatewayRefuses(sandbox: Sandbox, certificates: number, detail: RegExp): Promise<void> {
  sandbox.arm.mutate((gateway) => {
    removeHttpsBindings(gateway);
    fillGateway(sandbox, gateway, certificates);
  });
  expect(sandbox.arm.getGateway().properties.sslCertificates).toHaveLength(certificates);
  const orders = sandbox.counters.get('acme', 'newOrder');
  const writes = sandbox.counters.get('arm', 'applicationGateways.put');

  const started = await post(sandbox, 'AddCertificateFunctions_HttpStart', { hostnames: [{ hostname: 'one-too-many.contoso.example' }] });
  const { final } = await pollToEnd(String(started.body.statusQueryGetUri));
  expect(final.runtimeStatus).toBe('Failed');
  expect(final.customStatus?.error).toBe('ApplicationGatewayCapacityExceeded');
  const record = failureRecord(final.output);
  expect(record.code).toBe('ApplicationGatewayCapacityExceeded');
  expect(record.detail).toMatch(detail);
  expect(record.detail).toMatch(/Remove certificates/);
  expect(sandbox.counters.get('acme', 'newOrder')).toBe(orders);
  expect(sandbox.counters.get('arm', 'applicationGateways.put')).toBe(writes);
}

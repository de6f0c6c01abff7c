import { scaledGateway } from '../support/scaledGateway';
import { withRateLimitOverride } from '../support/rateLimitOverride';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Sandbox, startSandbox } from '../../sandbox';
import { removeHttpsBindings } from '../../sandbox/emulators/gatewayModel';
import { failureRecord, pollToEnd, post, Status } from '../support/sandboxClient';

/**
 * The app on the strict durable host (the extension's customStatus limit, failure texts, dropped
 * duplicate starts, activities in two worker processes): what would break on Azure breaks here.
 */
const MULTIPLE = 'AddMultipleCertificatesFunctions_HttpStart';
const SINGLE = 'AddCertificateFunctions_HttpStart';

interface Outcome {
  hostname: string;
  status: string;
  error: string | null;
}

/** A hostname of 60+ characters. */
const longName = (prefix: string, i: number, zone: string): string => `${prefix}${String(i).padStart(3, '0')}-${'x'.repeat(44)}.${zone}`;

describe('the app on a host as strict as the Durable extension', () => {
  let sandbox: Sandbox;
  let stateDir: string;

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-strict-'));
    // More certificates for one registered domain than Let's Encrypt's 50 a week: as with an override.
    sandbox = await startSandbox(withRateLimitOverride(scaledGateway({ stateDir, settings: { MaxHostnamesPerRequest: '100', MaxParallelIssuances: '10' } }), { CertificatesPerDomain: 500 }));
  });
  afterAll(async () => {
    await sandbox?.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('registers exactly one ACME account when two worker processes issue 10 certificates from a fresh vault', async () => {
    const hostnames = Array.from({ length: 10 }, (_, i) => `first${i}.contoso.example`);
    const started = await Promise.all(hostnames.map((hostname) => post(sandbox, SINGLE, { hostnames: [{ hostname }] })));
    expect(started.map((s) => s.status)).toEqual(Array(10).fill(202));
    const finals = await Promise.all(started.map((s) => pollToEnd(String(s.body.statusQueryGetUri))));
    expect(finals.map((f) => f.final.runtimeStatus)).toEqual(Array(10).fill('Completed'));
    expect(sandbox.counters.get('acme', 'newAccount')).toBe(1);
    // The starters' link carries the contract's suffix even though the extension's does not.
    expect(String(started[0].body.statusQueryGetUri)).toMatch(/&code=[^&]+&returnInternalServerErrorOnFailure=true$/);
  });

  it('completes a 100-hostname batch of long names with 20 failing: customStatus small at every update, each failure with its own code', async () => {
    const good = Array.from({ length: 80 }, (_, i) => longName('good', i, 'fabrikam.example'));
    const wrongDns = Array.from({ length: 10 }, (_, i) => longName('dns', i, 'fabrikam.example'));
    const blocked = Array.from({ length: 9 }, (_, i) => longName('caa', i, 'blocked.example'));
    // The gateway holds 100 active listeners, its HTTP one included: the 100th name has no room.
    const overflow = longName('full', 0, 'fabrikam.example');
    for (const hostname of wrongDns) await sandbox.pebble.dns.addA(hostname, '192.0.2.44');
    const hostnames = [...good.slice(0, 40), ...wrongDns, ...good.slice(40), ...blocked, overflow];
    // Room for all but one: the first test's ten bindings are taken off the gateway, as an operator would.
    sandbox.arm.mutate(removeHttpsBindings);
    const orders = sandbox.counters.get('acme', 'newOrder');
    expect(hostnames.every((h) => h.length >= 60)).toBe(true);

    const started = await post(sandbox, MULTIPLE, { hostnames: hostnames.map((hostname) => ({ hostname })) });
    expect(started.status).toBe(202);
    let largest = 0;
    const { final, httpStatus } = await pollToEnd(
      String(started.body.statusQueryGetUri),
      (status) => {
        largest = Math.max(largest, JSON.stringify(status.customStatus).length * 2);
      },
      600_000,
    );
    expect(httpStatus).toBe(500); // Failed, through the contract's returnInternalServerErrorOnFailure
    expect(final.runtimeStatus).toBe('Failed');
    expect(largest).toBeGreaterThan(0);
    expect(largest).toBeLessThan(8 * 1024);
    expect(final.customStatus).toMatchObject({ status: 'Failed', error: 'SomeHostnamesFailed', progress: { done: 80, failed: 20, total: 100 } });

    const record = failureRecord(final.output) as unknown as { code: string; hostnames: Outcome[] };
    const byName = new Map(record.hostnames.map((h) => [h.hostname, h]));
    expect(byName.size).toBe(100);
    for (const hostname of good) expect(byName.get(hostname)).toMatchObject({ status: 'Completed', error: null });
    for (const hostname of wrongDns) expect(byName.get(hostname)).toMatchObject({ status: 'Failed', error: 'HostnameNotResolvingToApplicationGateway' });
    for (const hostname of blocked) expect(byName.get(hostname)).toMatchObject({ status: 'Failed', error: 'AcmeIdentifierRejected' });
    expect(byName.get(overflow)).toMatchObject({ status: 'Failed', error: 'ApplicationGatewayCapacityExceeded' });
    // Refused before its order: one order per other name that passed the DNS check (80 good, 9 the CA refused).
    expect(sandbox.counters.get('acme', 'newOrder') - orders).toBe(89);
    const listeners = sandbox.arm.getGateway().properties.httpListeners.map((l) => l.properties.hostName);
    for (const hostname of good) expect(listeners).toContain(hostname);
    for (const hostname of [...wrongDns, ...blocked, overflow]) expect(listeners).not.toContain(hostname);
  }, 900_000);

  it('a single request and a renewal for names in a batch\'s later wave are refused while the batch holds them; nothing hangs', async () => {
    const renewed = 'renewme.litware.example';
    const first = await post(sandbox, SINGLE, { hostnames: [{ hostname: renewed }] });
    expect((await pollToEnd(String(first.body.statusQueryGetUri))).final.runtimeStatus).toBe('Completed');

    const single = 'single.litware.example';
    const firstWave = Array.from({ length: 10 }, (_, i) => `wave${i}.litware.example`);
    const batch = await post(sandbox, MULTIPLE, { hostnames: [...firstWave, single, renewed].map((hostname) => ({ hostname })) });
    expect(batch.status).toBe(202);
    // While the batch runs its first wave, the names of its second wave are already its own.
    const singleStart = await post(sandbox, SINGLE, { hostnames: [{ hostname: single }] });
    const renewal = await post(sandbox, `certificates/${renewed}/renew`, undefined, { raw: '' });
    for (const refused of [singleStart, renewal]) {
      expect(refused.status).toBe(409);
      expect(refused.body).toMatchObject({ id: batch.body.id, statusQueryGetUri: batch.body.statusQueryGetUri });
    }

    const batchEnd = await pollToEnd(String(batch.body.statusQueryGetUri), undefined, 300_000);
    expect(batchEnd.final.runtimeStatus).toBe('Completed');
    const outcomes = (batchEnd.final.output as { hostnames: Outcome[] }).hostnames;
    expect(outcomes.map((o) => o.status)).toEqual(Array(12).fill('Completed'));
    // Nothing is left running, and the names are free again.
    const running = await fetch(`${sandbox.host!.url}/runtime/webhooks/durabletask/instances?runtimeStatus=Running,Pending&code=${sandbox.endpoints.functionKey}`);
    const stillRunning = ((await running.json()) as Status[]).filter((s) => s.name !== 'GatewayWriter');
    expect(stillRunning).toEqual([]);
    const again = await post(sandbox, `certificates/${renewed}/renew`, undefined, { raw: '' });
    expect(again.status).toBe(202);
    expect((await pollToEnd(String(again.body.statusQueryGetUri))).final.runtimeStatus).toBe('Completed');
  }, 600_000);
});

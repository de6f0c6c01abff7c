import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Sandbox, startSandbox } from '../../sandbox';
import { fetchServedCertificate } from '../../sandbox/tlsCheck';
import { invokeFunction, post, Status, waitGentlyToEnd } from '../support/sandboxClient';

/**
 * The gateway as it really behaves, at the scale platform teams run it: a PUT that lasts a minute,
 * a person editing the gateway in the portal meanwhile, a renewal run of 30 certificates. The
 * writer must batch every request that waits into as few writes as the operation's length allows,
 * never undo the other writer's change, and make one write per renewal run.
 */
const PUT_SECONDS = 60;
const SINGLES = Array.from({ length: 20 }, (_, i) => `single${i}.scale.example`);
const BATCH = Array.from({ length: 10 }, (_, i) => `batch${i}.scale.example`);

describe(`a gateway whose PUT takes ${PUT_SECONDS} s`, () => {
  let sandbox: Sandbox;
  let stateDir: string;

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-scale-'));
    // The service's Retry-After (10 s) and polling ladder; only the operation is shortened from minutes to one.
    sandbox = await startSandbox({
      stateDir,
      armOperationDelayMs: PUT_SECONDS * 1000,
      settings: { MaxHostnamesPerRequest: '30', MaxParallelIssuances: '10' },
    });
  }, 120_000);
  afterAll(async () => {
    await sandbox?.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  const accepted = (): number => sandbox.counters.get('arm', 'applicationGateways.put.accepted');
  const serial = async (hostname: string): Promise<string> => {
    const served = await fetchServedCertificate(sandbox.dataPlane.httpsPort, hostname, sandbox.acmeRootPem);
    expect(served.authorized).toBe(true);
    return served.serialNumber;
  };

  const instanceUrl = (id: string): string => `${sandbox.host!.url}/runtime/webhooks/durabletask/instances/${id}?code=${sandbox.endpoints.functionKey}`;

  it('20 single requests and a 10-hostname batch go live with at most 3 writes; an out-of-band edit made meanwhile stays', async () => {
    const before = accepted();
    const canceledBefore = sandbox.counters.get('arm', 'applicationGateways.put.canceled');
    const started = await Promise.all([
      ...SINGLES.map((hostname) => post(sandbox, 'AddCertificateFunctions_HttpStart', { hostnames: [{ hostname }] })),
      post(sandbox, 'AddMultipleCertificatesFunctions_HttpStart', { hostnames: BATCH.map((hostname) => ({ hostname })) }),
    ]);
    expect(started.map((s) => s.status)).toEqual(Array(started.length).fill(202));

    // While the first write runs, someone tags the gateway in the portal: GET, edit, PUT without If-Match.
    for (let i = 0; i < 1200 && accepted() === before; i++) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(accepted()).toBe(before + 1);
    await sandbox.arm.outOfBandEdit({ tags: { costCenter: 'platform-42' }, delayMs: 2000 });

    const finals = await Promise.all(started.map((s) => waitGentlyToEnd(String(s.body.statusQueryGetUri), 8 * PUT_SECONDS * 1000)));
    expect(finals.map((f) => [f.instanceId, f.runtimeStatus, f.customStatus?.error ?? null])).toEqual(
      finals.map((f) => [f.instanceId, 'Completed', null]),
    );
    // The portal's PUT cancelled the running write (the service's rule); the writer re-read and re-planned.
    expect(sandbox.counters.get('arm', 'applicationGateways.put.canceled')).toBeGreaterThan(canceledBefore);
    // Accepted PUTs, the portal's one excluded: the app's own writes.
    const appWrites = accepted() - before - 1;
    expect(appWrites).toBeGreaterThanOrEqual(1);
    expect(appWrites).toBeLessThanOrEqual(3);
    expect(sandbox.arm.getGateway().tags).toEqual(expect.objectContaining({ costCenter: 'platform-42' }));
    for (const hostname of [...SINGLES, ...BATCH]) await serial(hostname);
    // The writer has nothing left to do, so it is no longer running.
    const writers = (await (await fetch(`${sandbox.host!.url}/runtime/webhooks/durabletask/instances?instanceIdPrefix=gateway-writer-&code=${sandbox.endpoints.functionKey}`)).json()) as Status[];
    expect(writers.filter((w) => ['Pending', 'Running'].includes(w.runtimeStatus))).toEqual([]);
    console.log(`${SINGLES.length} singles + a batch of ${BATCH.length}: ${appWrites} gateway write(s) of ${PUT_SECONDS} s, ${writers.length} writer generation(s)`);
  }, 12 * PUT_SECONDS * 1000);

  it('a renewal run of 30 due certificates makes exactly one gateway write, and the gateway serves all 30 new serials', async () => {
    const hostnames = [...SINGLES, ...BATCH];
    const old = new Map<string, string>();
    for (const hostname of hostnames) old.set(hostname, await serial(hostname));
    // The CA asks for all 30 now (ARI); by date none is due (Pebble issues 5-year certificates).
    for (const hostname of hostnames) {
      const response = await fetch(`${sandbox.endpoints.adminUrl}/acme/renewal-window`, {
        method: 'POST',
        body: JSON.stringify({ hostname, start: new Date(Date.now() - 7200_000).toISOString(), end: new Date(Date.now() - 3600_000).toISOString() }),
      });
      expect(response.status).toBe(200);
    }
    const before = accepted();
    expect(await invokeFunction(sandbox, 'RenewCertificatesTimer')).toBe(202);
    let runs: Status[] = [];
    for (let i = 0; i < 400 && runs.length === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      runs = (await (await fetch(`${sandbox.host!.url}/runtime/webhooks/durabletask/instances?instanceIdPrefix=renewals-&code=${sandbox.endpoints.functionKey}`)).json()) as Status[];
    }
    expect(runs).toHaveLength(1);
    const run = await waitGentlyToEnd(instanceUrl(runs[0].instanceId), 6 * PUT_SECONDS * 1000);
    expect(run.runtimeStatus).toBe('Completed');
    expect((run.input as { hostnames: string[] }).hostnames.sort()).toEqual([...hostnames].sort());
    expect(accepted() - before).toBe(1);
    for (const hostname of hostnames) expect(await serial(hostname)).not.toBe(old.get(hostname));
  }, 10 * PUT_SECONDS * 1000);
});

import { scaledGateway } from '../support/scaledGateway';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Sandbox, startSandbox } from '../../sandbox';
import { fetchServedCertificate } from '../../sandbox/tlsCheck';
import { certificateNameFor } from '../../src/azure/keyVault';
import { awaitNewRenewalRun, invokeRenewalTimer, pollToEnd, post, renewalRunIds } from '../support/sandboxClient';

/**
 * Renewal with a CA issuing short-lived certificates (45 s): the timer renews exactly the ones past
 * two thirds of their lifetime, the gateway then serves the new serial, and nothing else changes.
 */
const LIFETIME_SECONDS = 45;

describe('renewal of short-lived certificates', () => {
  let sandbox: Sandbox;
  let stateDir: string;

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-short-'));
    sandbox = await startSandbox(scaledGateway({ stateDir, certificateValidityPeriodSeconds: LIFETIME_SECONDS }));
  });
  afterAll(async () => {
    await sandbox?.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  const versions = (hostname: string): string[] => sandbox.keyVault.certificateVersions(certificateNameFor(hostname));
  const served = (hostname: string) => fetchServedCertificate(sandbox.dataPlane.httpsPort, hostname, sandbox.acmeRootPem);
  const statusUrl = (hostname: string): string =>
    `${sandbox.host!.url}/runtime/webhooks/durabletask/instances/certificate-${hostname}?code=${sandbox.endpoints.functionKey}`;
  const createdTime = async (hostname: string): Promise<string> => ((await (await fetch(statusUrl(hostname))).json()) as { createdTime: string }).createdTime;

  async function issue(hostname: string): Promise<void> {
    const started = await post(sandbox, 'AddCertificateFunctions_HttpStart', { hostnames: [{ hostname }] });
    expect((await pollToEnd(String(started.body.statusQueryGetUri))).final.runtimeStatus).toBe('Completed');
  }

  async function runTimer(): Promise<void> {
    expect(await invokeRenewalTimer(sandbox)).toBe(202);
  }

  it('renews exactly the due certificates; the gateway serves the new serial; a second run does nothing', async () => {
    const due = 'due.short.example';
    const young = 'young.short.example';
    await issue(due);
    const old = await served(due);
    const lifetime = Date.parse(old.validTo) - Date.parse(old.validFrom);
    expect(lifetime).toBeLessThanOrEqual(LIFETIME_SECONDS * 1000);
    // Wait until `due` is past two thirds of its lifetime, then issue `young`, which is not.
    const dueAt = Date.parse(old.validFrom) + (2 * lifetime) / 3 + 1000;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, dueAt - Date.now())));
    await issue(young);
    const youngSerial = (await served(young)).serialNumber;
    const youngStarted = await createdTime(young);
    const dueStarted = await createdTime(due);
    const writes = sandbox.counters.get('arm', 'applicationGateways.put');

    const runs = await renewalRunIds(sandbox);
    await runTimer();
    // One run renews every due certificate and then writes the gateway once for all of them.
    const run = await awaitNewRenewalRun(sandbox, runs);
    expect(run.runtimeStatus).toBe('Completed');
    expect((run.input as { hostnames: string[] }).hostnames).toEqual([due]);
    expect(await createdTime(due)).not.toBe(dueStarted);
    expect((await pollToEnd(statusUrl(due))).final.runtimeStatus).toBe('Completed');
    expect(versions(due)).toHaveLength(2);
    const renewed = await served(due);
    expect(renewed.serialNumber).not.toBe(old.serialNumber);
    expect(renewed.authorized).toBe(true);
    // Nothing else was touched: the young certificate, its instance, and one gateway write only.
    expect(versions(young)).toHaveLength(1);
    expect(await createdTime(young)).toBe(youngStarted);
    expect((await served(young)).serialNumber).toBe(youngSerial);
    expect(sandbox.counters.get('arm', 'applicationGateways.put')).toBe(writes + 1);

    const renewalStarted = await createdTime(due);
    await runTimer();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await createdTime(due)).toBe(renewalStarted);
    expect(await createdTime(young)).toBe(youngStarted);
    expect(versions(due)).toHaveLength(2);
    expect(versions(young)).toHaveLength(1);
  });
});

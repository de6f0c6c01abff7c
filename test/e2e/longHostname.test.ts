import { scaledGateway } from '../support/scaledGateway';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Sandbox, startSandbox } from '../../sandbox';
import { fetchServedCertificate } from '../../sandbox/tlsCheck';
import { certificateNameFor } from '../../src/azure/keyVault';
import { instanceIdFor } from '../../src/domain/requests';
import { pollToEnd, post } from '../support/sandboxClient';

/**
 * The longest hostname DNS allows, end to end. Pebble's own DNS client cannot resolve a name this
 * long (its replies exceed 512 bytes: "dns: buffer size too small"), so this sandbox's Pebble
 * passes challenges without fetching them; everything of the app's (its DNS check and HTTP-01
 * self-check, Key Vault, the gateway, instance ids, the CSR) runs as usual.
 */
const SINGLE = 'AddCertificateFunctions_HttpStart';

describe('a 253-character hostname', () => {
  let sandbox: Sandbox;
  let stateDir: string;

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-long-'));
    sandbox = await startSandbox(scaledGateway({ stateDir, pebbleAlwaysValid: true }));
  });
  afterAll(async () => {
    await sandbox?.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  const gateway = () => sandbox.arm.getGateway().properties;

  async function issue(hostname: string): Promise<void> {
    const started = await post(sandbox, SINGLE, { hostnames: [{ hostname }] });
    expect(started.status).toBe(202);
    const { final } = await pollToEnd(String(started.body.statusQueryGetUri));
    expect({ status: final.runtimeStatus, output: final.output }).toEqual({ status: 'Completed', output: null });
  }

  it('is issued, renewed and removed: derived names fit, the CSR has no common name over 64', async () => {
    const hostname = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(45)}.litware.example`;
    expect(hostname).toHaveLength(253);
    const csrsBefore = sandbox.acme.csrCommonNames.length;
    await issue(hostname);
    const renewal = await post(sandbox, `certificates/${hostname}/renew`, undefined, { raw: '' });
    expect(renewal.status).toBe(202);
    expect((await pollToEnd(String(renewal.body.statusQueryGetUri))).final.runtimeStatus).toBe('Completed');
    const csrs = sandbox.acme.csrCommonNames.slice(csrsBefore);
    expect(csrs).toHaveLength(2);
    for (const names of csrs) expect(names.every((n) => n.length <= 64)).toBe(true);

    const name = certificateNameFor(hostname);
    expect(name.length).toBeLessThanOrEqual(74);
    const listener = gateway().httpListeners.find((l) => l.properties.hostName === hostname);
    expect(listener?.name.length).toBeLessThanOrEqual(80);
    expect(gateway().requestRoutingRules.filter((r) => r.name.startsWith(name)).every((r) => r.name.length <= 80)).toBe(true);
    expect(instanceIdFor(hostname).length).toBeLessThanOrEqual(256);
    expect((await fetchServedCertificate(sandbox.dataPlane.httpsPort, hostname, sandbox.acmeRootPem)).authorized).toBe(true);

    const removal = await fetch(`${sandbox.endpoints.apiBaseUrl}/certificates/${hostname}`, { method: 'DELETE', headers: { 'x-functions-key': sandbox.endpoints.functionKey } });
    expect(removal.status).toBe(202);
    expect((await pollToEnd(String(((await removal.json()) as { statusQueryGetUri: string }).statusQueryGetUri))).final.runtimeStatus).toBe('Completed');
    expect(gateway().httpListeners.filter((l) => l.properties.hostName === hostname)).toEqual([]);
  });

});

import { scaledGateway } from '../support/scaledGateway';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Sandbox, startSandbox } from '../../sandbox';
import { fetchServedCertificate } from '../../sandbox/tlsCheck';
import { failureRecord, pollToEnd, post } from '../support/sandboxClient';

const MULTIPLE = 'AddMultipleCertificatesFunctions_HttpStart';
const SINGLE = 'AddCertificateFunctions_HttpStart';

interface Outcome {
  hostname: string;
  status: string;
  error: string | null;
  failedStep?: string;
}

describe('many hostnames and one writer per gateway', () => {
  let sandbox: Sandbox;
  let stateDir: string;

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-multi-'));
    sandbox = await startSandbox(scaledGateway({ stateDir, settings: { MaxHostnamesPerRequest: '25', MaxParallelIssuances: '5' } }));
  });
  afterAll(async () => {
    await sandbox?.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  const puts = (): number => sandbox.counters.get('arm', 'applicationGateways.put');
  const listenersFor = (hostname: string) => sandbox.arm.getGateway().properties.httpListeners.filter((l) => l.properties.hostName === hostname);

  it('issues 10 hostnames in one request with one gateway write, and all answer the SNI handshake', async () => {
    const hostnames = Array.from({ length: 10 }, (_, i) => `site${i}.fabrikam.example`);
    const before = puts();
    const started = await post(sandbox, MULTIPLE, { hostnames: hostnames.map((hostname) => ({ hostname })) });
    expect(started.status).toBe(202);
    expect(Object.keys(started.body)).toEqual(['id', 'statusQueryGetUri', 'sendEventPostUri', 'terminatePostUri', 'purgeHistoryDeleteUri']);
    let sawProgress = false;
    const { final } = await pollToEnd(String(started.body.statusQueryGetUri), (status) => {
      const custom = status.customStatus as unknown as { progress?: { total: number } } | null;
      if (custom?.progress?.total === 10) sawProgress = true;
    });
    expect(final.runtimeStatus).toBe('Completed');
    expect(sawProgress).toBe(true);
    expect(final.customStatus).toMatchObject({ status: 'Completed', error: null, progress: { done: 10, failed: 0, total: 10 } });
    expect((final.output as { hostnames: Outcome[] }).hostnames.map((h) => h.status)).toEqual(Array(10).fill('Completed'));
    expect(puts() - before).toBe(1);
    for (const hostname of hostnames) {
      expect(listenersFor(hostname)).toHaveLength(1);
      expect((await fetchServedCertificate(sandbox.dataPlane.httpsPort, hostname, sandbox.acmeRootPem)).authorized).toBe(true);
    }
  });

  it('reports each failing hostname with its code while the others go live; runtimeStatus is Failed', async () => {
    await sandbox.pebble.dns.addA('wrongdns.fabrikam.example', '192.0.2.44');
    const hostnames = ['good1.fabrikam.example', 'wrongdns.fabrikam.example', 'good2.fabrikam.example', 'www.blocked.example'];
    const started = await post(sandbox, MULTIPLE, { hostnames: hostnames.map((hostname) => ({ hostname })) });
    const { final } = await pollToEnd(String(started.body.statusQueryGetUri));
    expect(final.runtimeStatus).toBe('Failed');
    expect(final.customStatus).toMatchObject({ status: 'Failed', error: 'SomeHostnamesFailed', progress: { done: 2, failed: 2, total: 4 } });
    const record = failureRecord(final.output) as unknown as { code: string; hostnames: Outcome[] };
    expect(record.code).toBe('SomeHostnamesFailed');
    const byName = Object.fromEntries(record.hostnames.map((h) => [h.hostname, h]));
    expect(byName['good1.fabrikam.example'].status).toBe('Completed');
    expect(byName['good2.fabrikam.example'].status).toBe('Completed');
    expect(byName['wrongdns.fabrikam.example']).toMatchObject({ status: 'Failed', error: 'HostnameNotResolvingToApplicationGateway', failedStep: 'CheckDnsResolutionStep' });
    expect(byName['www.blocked.example']).toMatchObject({ status: 'Failed', error: 'AcmeIdentifierRejected' });
    expect(listenersFor('good1.fabrikam.example')).toHaveLength(1);
    expect(listenersFor('wrongdns.fabrikam.example')).toHaveLength(0);
  });

  it('20 concurrent single-hostname requests all complete with 20 listeners and rules, in far fewer than 20 writes', async () => {
    const hostnames = Array.from({ length: 20 }, (_, i) => `shop${i}.northwind.example`);
    const before = puts();
    const started = await Promise.all(hostnames.map((hostname) => post(sandbox, SINGLE, { hostnames: [{ hostname }] })));
    expect(started.map((s) => s.status)).toEqual(Array(20).fill(202));
    const finals = await Promise.all(started.map((s) => pollToEnd(String(s.body.statusQueryGetUri))));
    expect(finals.map((f) => f.final.runtimeStatus)).toEqual(Array(20).fill('Completed'));
    const writes = puts() - before;
    console.log(`20 concurrent single-hostname requests took ${writes} gateway writes`);
    expect(writes).toBeLessThanOrEqual(6);
    const gateway = sandbox.arm.getGateway().properties;
    for (const hostname of hostnames) {
      expect(listenersFor(hostname)).toHaveLength(1);
      expect(gateway.requestRoutingRules.filter((r) => r.name.startsWith(hostname.replace(/\./g, '-')))).toHaveLength(1);
    }
  });

  it('validates the list: duplicates after normalisation, the maximum, and hostnames already in progress', async () => {
    const duplicate = await post(sandbox, MULTIPLE, { hostnames: [{ hostname: 'a.fabrikam.example' }, { hostname: 'A.Fabrikam.Example.' }] });
    expect(duplicate.status).toBe(400);
    expect((duplicate.body.errors as { field: string }[])[0].field).toBe('hostnames[1].hostname');
    const tooMany = await post(sandbox, MULTIPLE, { hostnames: Array.from({ length: 26 }, (_, i) => ({ hostname: `h${i}.fabrikam.example` })) });
    expect(tooMany.status).toBe(400);
    expect(JSON.stringify(tooMany.body)).toContain('at most 25');

    sandbox.faults.arm({ service: 'arm', delayMs: 1500, count: 1, match: '/publicIPAddresses/' });
    const single = await post(sandbox, SINGLE, { hostnames: [{ hostname: 'busy.fabrikam.example' }] });
    const conflict = await post(sandbox, MULTIPLE, { hostnames: [{ hostname: 'free.fabrikam.example' }, { hostname: 'busy.fabrikam.example' }] });
    expect(conflict.status).toBe(409);
    expect(conflict.body.hostnames).toEqual(['busy.fabrikam.example']);
    await pollToEnd(String(single.body.statusQueryGetUri));
  });
});

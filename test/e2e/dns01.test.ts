import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Resolver } from 'node:dns/promises';
import { Sandbox, startSandbox } from '../../sandbox';
import { SANDBOX_CAA_IDENTITY } from '../../sandbox/services/caaCheck';
import { fetchServedCertificate } from '../../sandbox/tlsCheck';
import { certificateNameFor } from '../../src/azure/keyVault';
import { AcmeDns01IssuanceSteps } from '../../src/domain/status';
import { awaitNewRenewalRun, failureRecord, invokeRenewalTimer, issueOne, pollToEnd, post, renewalRunIds, Status } from '../support/sandboxClient';
import { scaledGateway } from '../support/scaledGateway';

/**
 * DNS-01 through the Azure DNS stand-in (sandbox/emulators/dnsZones.ts): the TXT record set is
 * written through ARM, reaches pebble-challtestsrv after the propagation delay, Pebble validates it
 * for real, and the record is gone afterwards, whatever happened.
 */
const START = 'AddCertificateFunctions_HttpStart';

describe('DNS-01 end to end against the sandbox', () => {
  let sandbox: Sandbox;
  let stateDir: string;

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-dns01-'));
    // Azure DNS's propagation (up to a minute) scaled down, never instant.
    sandbox = await startSandbox(scaledGateway({ stateDir, dnsPropagationDelayMs: 1500 }));
  });
  afterAll(async () => {
    await sandbox?.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  async function issue(hostname: string, onStatus?: (status: Status) => Promise<void> | void, challengeType: string | undefined = 'dns-01') {
    const started = await post(sandbox, START, { hostnames: [{ hostname, ...(challengeType ? { challengeType } : {}) }] });
    expect(started.status).toBe(202);
    return pollToEnd(String(started.body.statusQueryGetUri), onStatus);
  }

  /** Every TXT record set the zones hold once every accepted write has reached DNS. */
  async function txtRecordSets(): Promise<string[]> {
    await sandbox.dnsZones.settled();
    return sandbox.dnsZones.recordSets('TXT').map((set) => set.fqdn);
  }

  async function resolve4(name: string): Promise<string[]> {
    const resolver = new Resolver();
    resolver.setServers([sandbox.endpoints.dnsServer]);
    return resolver.resolve4(name).catch(() => []);
  }

  it('issues before the DNS cut-over: the name points elsewhere, the certificate is bound, and once the A record moves HTTPS serves it with no further write', async () => {
    const hostname = 'moving.contoso.example';
    await sandbox.pebble.dns.addA(hostname, '192.0.2.10');
    const { final, steps } = await issue(hostname);

    expect(final).toMatchObject({
      runtimeStatus: 'Completed',
      input: { hostname, challengeType: 'dns-01' },
      output: { hostname, challengeType: 'dns-01', pointsAtGateway: false },
    });
    const order = steps.map((s) => AcmeDns01IssuanceSteps.indexOf(s as never));
    expect(order.every((index) => index >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    // Polling samples the steps; the propagation wait (1.5 s here) is long enough always to be seen.
    expect(steps).toContain('CheckDnsTxtRecordStep');
    expect(await txtRecordSets()).toEqual([]);
    // Nothing went through the HTTP-01 path.
    const files: string[] = [];
    for await (const blob of sandbox.azurite.serviceClient.getContainerClient('acme-challenge').listBlobsFlat()) files.push(blob.name);
    expect(files).toEqual([]);

    const puts = sandbox.counters.get('arm', 'applicationGateways.put');
    await sandbox.pebble.dns.clearA(hostname);
    await sandbox.pebble.dns.addA(hostname, sandbox.endpoints.gatewayPublicIp);
    const [address] = await resolve4(hostname);
    expect(address).toBe(sandbox.endpoints.gatewayPublicIp);
    const served = await fetchServedCertificate(sandbox.dataPlane.httpsPort, hostname, sandbox.acmeRootPem, address);
    expect(served.subjectAltName).toBe(`DNS:${hostname}`);
    expect(served.authorized).toBe(true);
    expect(sandbox.counters.get('arm', 'applicationGateways.put')).toBe(puts);

    const list = await fetch(`${sandbox.endpoints.apiBaseUrl}/certificates?code=${sandbox.endpoints.functionKey}`);
    const listed = ((await list.json()) as { hostname: string; challengeType: string }[]).find((c) => c.hostname === hostname);
    expect(listed).toMatchObject({ challengeType: 'dns-01', state: 'valid' });
  });

  it('follows a CNAME that delegates _acme-challenge to another zone: the TXT value goes there, and leaves from there', async () => {
    const hostname = 'delegated.contoso.example';
    const target = 'delegated.acme-validation.fabrikam.example';
    await sandbox.pebble.dns.setCname(`_acme-challenge.${hostname}`, target);
    let seen: string[] = [];
    const { final } = await issue(hostname, async (status) => {
      if (status.customStatus?.status === 'CheckDnsTxtRecordStep') seen = sandbox.dnsZones.recordSets('TXT').map((set) => set.fqdn);
    });
    expect(final.runtimeStatus).toBe('Completed');
    // Written in the zone the CNAME points into, not beside the CNAME (Azure DNS refuses a TXT there).
    expect(seen).toEqual([`${target}.`]);
    expect(await txtRecordSets()).toEqual([]);
  });

  it('issues a wildcard certificate, bound to one multi-site listener, served for every name it covers', async () => {
    const hostname = '*.fabrikam.example';
    const { final } = await issue(hostname);
    expect(final).toMatchObject({ runtimeStatus: 'Completed', output: { hostname, challengeType: 'dns-01' } });
    expect(await txtRecordSets()).toEqual([]);

    const listeners = sandbox.arm.getGateway().properties.httpListeners.filter((l) => l.properties.hostNames?.includes(hostname));
    expect(listeners).toHaveLength(1);
    expect(listeners[0].properties.hostName).toBeUndefined();
    for (const name of ['www.fabrikam.example', 'shop.fabrikam.example']) {
      const served = await fetchServedCertificate(sandbox.dataPlane.httpsPort, name, sandbox.acmeRootPem);
      expect(served.subjectAltName).toBe(`DNS:${hostname}`);
      expect(served.authorized).toBe(true);
    }
    expect(sandbox.keyVault.certificateVersions(certificateNameFor(hostname))).toHaveLength(1);
  });

  it('refuses a wildcard over HTTP-01 with 400 naming the field, before anything starts', async () => {
    const started = await post(sandbox, START, { hostnames: [{ hostname: '*.litware.example', challengeType: 'http-01' }] });
    expect(started.status).toBe(400);
    expect(JSON.stringify(started.body)).toContain('hostnames[0].hostname');
    expect(JSON.stringify(started.body)).toContain('dns-01');
    const bad = await post(sandbox, START, { hostnames: [{ hostname: 'www.litware.example', challengeType: 'dns-1' }] });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('hostnames[0].challengeType');
  });

  it('a CAA record forbidding the CA fails with HostnameCaaForbidsCertificateAuthority before any order', async () => {
    const hostname = 'www.caa-forbidden.litware.example';
    await sandbox.pebble.dns.addCaa('caa-forbidden.litware.example', [{ tag: 'issue', value: 'other-ca.example' }]);
    const orders = sandbox.counters.get('acme', 'newOrder');
    const { final } = await issue(hostname, undefined, undefined);
    expect(final.customStatus).toMatchObject({ status: 'Failed', error: 'HostnameCaaForbidsCertificateAuthority' });
    const record = failureRecord(final.output);
    expect(record).toMatchObject({ code: 'HostnameCaaForbidsCertificateAuthority', failedStep: 'CheckCaaRecordsStep', hostname });
    expect(record.detail).toContain('caa-forbidden.litware.example');
    expect(record.detail).toContain('other-ca.example');
    expect(record.detail).toContain(SANDBOX_CAA_IDENTITY);
    expect(sandbox.counters.get('acme', 'newOrder')).toBe(orders);

    // A record allowing this CA but only by DNS-01 lets DNS-01 through.
    await sandbox.pebble.dns.clearCaa('caa-forbidden.litware.example');
    await sandbox.pebble.dns.addCaa('caa-forbidden.litware.example', [{ tag: 'issue', value: `${SANDBOX_CAA_IDENTITY}; validationmethods=dns-01` }]);
    const http01 = await issue(hostname, undefined, 'http-01');
    expect(failureRecord(http01.final.output)).toMatchObject({ code: 'HostnameCaaForbidsCertificateAuthority', failedStep: 'CheckCaaRecordsStep' });
    expect(failureRecord(http01.final.output).detail).toContain('validationmethods');
    expect(sandbox.counters.get('acme', 'newOrder')).toBe(orders);
    const { final: dns01 } = await issue(hostname);
    expect(dns01.runtimeStatus).toBe('Completed');
  });

  it('a validation the CA fails (a CAA record added after the pre-flight) leaves no TXT record behind', async () => {
    const hostname = 'late-caa.litware.example';
    let added = false;
    const { final } = await issue(hostname, async (status) => {
      // After the pre-flight, before the challenge is answered (the propagation wait is always seen).
      if (!added && ['CreateDnsTxtRecordStep', 'CheckDnsTxtRecordStep'].includes(status.customStatus?.status ?? '')) {
        added = true;
        await sandbox.pebble.dns.addCaa(hostname, [{ tag: 'issue', value: 'other-ca.example' }]);
      }
    });
    expect(added).toBe(true);
    expect(final.runtimeStatus).toBe('Failed');
    // The CA's own CAA check caught what the pre-flight could not have seen.
    expect(failureRecord(final.output)).toMatchObject({ code: 'AcmeCaaForbidden', failedStep: 'CheckAcmeOrderStep' });
    expect(await txtRecordSets()).toEqual([]);
  });

  it('a SIGKILL of the host while the TXT record propagates: the run resumes, completes, and removes the record', async () => {
    const hostname = 'killed.contoso.example';
    const started = await post(sandbox, START, { hostnames: [{ hostname, challengeType: 'dns-01' }] });
    expect(started.status).toBe(202);
    let killed = false;
    const { final } = await pollToEnd(
      String(started.body.statusQueryGetUri),
      async (status) => {
        if (!killed && status.customStatus?.status === 'CheckDnsTxtRecordStep') {
          killed = true;
          expect(sandbox.dnsZones.recordSets('TXT').map((set) => set.fqdn)).toContain(`_acme-challenge.${hostname}.`); // Azure DNS writes fqdn with the root dot
          await sandbox.restartHost('SIGKILL');
        }
      },
      180_000,
    );
    expect(killed).toBe(true);
    expect(final.runtimeStatus).toBe('Completed');
    expect(await txtRecordSets()).toEqual([]);
  });

  async function batch(hostnames: object[]) {
    const started = await post(sandbox, 'AddMultipleCertificatesFunctions_HttpStart', { hostnames });
    expect(started.status).toBe(202);
    return pollToEnd(String(started.body.statusQueryGetUri), undefined, 180_000);
  }

  const listenersFor = (name: string) => sandbox.arm.getGateway().properties.httpListeners.filter((l) => l.properties.hostNames?.includes(name) || l.properties.hostName === name);

  it('issues one certificate for 5 names in three zones through the batch, bound to one multi-site listener with one rule, served for each name', async () => {
    const names = ['shop.contoso.example', 'cart.contoso.example', 'pay.contoso.example', 'www.litware.example', 'api.fabrikam.example'];
    const { final } = await batch(names.map((hostname) => ({ hostname, group: 'storefront', challengeType: 'dns-01' })));
    expect(final.runtimeStatus).toBe('Completed');
    expect(final.output).toMatchObject({ hostnames: [{ hostname: 'shop.contoso.example', status: 'Completed' }] });
    expect(await txtRecordSets()).toEqual([]);

    const [listener] = listenersFor('shop.contoso.example');
    expect(listener.properties.hostNames).toEqual(names);
    for (const name of names) expect(listenersFor(name)).toEqual([listener]);
    const rules = sandbox.arm.getGateway().properties.requestRoutingRules.filter((r) => (r.properties.httpListener?.id ?? '').toLowerCase().endsWith(`/${listener.name.toLowerCase()}`));
    expect(rules).toHaveLength(1);
    for (const name of names) {
      const served = await fetchServedCertificate(sandbox.dataPlane.httpsPort, name, sandbox.acmeRootPem);
      expect(served.authorized).toBe(true);
      expect(served.subjectAltName?.split(', ').sort()).toEqual(names.map((n) => `DNS:${n}`).sort());
    }

    const list = await fetch(`${sandbox.endpoints.apiBaseUrl}/certificates?code=${sandbox.endpoints.functionKey}`);
    const listed = ((await list.json()) as { hostname: string; hostnames: string[] }[]).find((c) => c.hostname === 'shop.contoso.example');
    expect(listed?.hostnames.sort()).toEqual([...names].sort());
  });

  it('issues a wildcard and its apex in one certificate (two TXT values in one record set), refuses groups over 5 names or of mixed types with 400', async () => {
    const { final } = await batch([
      { hostname: '*.shop.fabrikam.example', group: 'shop', challengeType: 'dns-01' },
      { hostname: 'shop.fabrikam.example', group: 'shop', challengeType: 'dns-01' },
    ]);
    expect(final.runtimeStatus).toBe('Completed');
    expect(await txtRecordSets()).toEqual([]);
    expect(listenersFor('*.shop.fabrikam.example')[0].properties.hostNames).toEqual(['*.shop.fabrikam.example', 'shop.fabrikam.example']);
    for (const name of ['shop.fabrikam.example', 'basket.shop.fabrikam.example']) {
      const served = await fetchServedCertificate(sandbox.dataPlane.httpsPort, name, sandbox.acmeRootPem);
      expect(served.authorized).toBe(true);
      expect(served.subjectAltName?.split(', ').sort()).toEqual(['DNS:*.shop.fabrikam.example', 'DNS:shop.fabrikam.example']);
    }

    const six = Array.from({ length: 6 }, (_, i) => ({ hostname: `n${i}.contoso.example`, group: 'big', challengeType: 'dns-01' }));
    const tooMany = await post(sandbox, 'AddMultipleCertificatesFunctions_HttpStart', { hostnames: six });
    expect(tooMany.status).toBe(400);
    expect(JSON.stringify(tooMany.body)).toContain('hostnames[5].group');
    const mixed = await post(sandbox, 'AddMultipleCertificatesFunctions_HttpStart', { hostnames: [{ hostname: 'm1.contoso.example', group: 'm', challengeType: 'dns-01' }, { hostname: 'm2.contoso.example', group: 'm' }] });
    expect(mixed.status).toBe(400);
    expect(JSON.stringify(mixed.body)).toContain('hostnames[1].challengeType');
  });

  it('refuses a group holding a name another listener serves before any order, naming that listener and the certificate to remove', async () => {
    const orders = sandbox.counters.get('acme', 'newOrder');
    const puts = sandbox.counters.get('arm', 'applicationGateways.put');
    const { final } = await batch([
      { hostname: 'joined.contoso.example', group: 'j', challengeType: 'dns-01' },
      { hostname: 'moving.contoso.example', group: 'j', challengeType: 'dns-01' },
    ]);
    expect(final.runtimeStatus).toBe('Failed');
    const [outcome] = (failureRecord(final.output) as unknown as { hostnames: { hostname: string; error: string; detail: string }[] }).hostnames;
    expect(outcome).toMatchObject({ hostname: 'joined.contoso.example', error: 'ApplicationGatewayMisconfigured' });
    expect(outcome.detail).toContain('moving.contoso.example is already served by the gateway\'s listener');
    expect(outcome.detail).toContain('DELETE /api/certificates/moving.contoso.example');
    expect(sandbox.counters.get('acme', 'newOrder')).toBe(orders);
    expect(sandbox.counters.get('arm', 'applicationGateways.put')).toBe(puts);
  });

  it('the renewal timer renews a wildcard-and-apex certificate for the same names by DNS-01 when the CA asks (ARI)', async () => {
    const hostname = '*.shop.fabrikam.example';
    const before = sandbox.keyVault.certificateVersions(certificateNameFor(hostname)).length;
    const window = await fetch(`${sandbox.endpoints.adminUrl}/acme/renewal-window`, {
      method: 'POST',
      body: JSON.stringify({ hostname: 'shop.fabrikam.example', start: new Date(Date.now() - 7200_000).toISOString(), end: new Date(Date.now() - 3600_000).toISOString() }),
    });
    expect(((await window.json()) as { certificateIds: string[] }).certificateIds).toHaveLength(1);
    const runs = await renewalRunIds(sandbox);
    expect(await invokeRenewalTimer(sandbox)).toBe(202);
    const run = await awaitNewRenewalRun(sandbox, runs, 180_000);
    expect(run).toMatchObject({ runtimeStatus: 'Completed', input: { hostnames: [hostname], dns01Hostnames: [hostname], additionalNames: { [hostname]: ['shop.fabrikam.example'] } } });
    expect(sandbox.keyVault.certificateVersions(certificateNameFor(hostname))).toHaveLength(before + 1);
    expect(await txtRecordSets()).toEqual([]);
    const served = await fetchServedCertificate(sandbox.dataPlane.httpsPort, 'shop.fabrikam.example', sandbox.acmeRootPem);
    expect(served.subjectAltName?.split(', ').sort()).toEqual(['DNS:*.shop.fabrikam.example', 'DNS:shop.fabrikam.example']);
  });

  it('renews a 5-name certificate now for the same names by DNS-01, then removes it and frees every name', async () => {
    const before = sandbox.keyVault.certificateVersions(certificateNameFor('shop.contoso.example')).length;
    const renew = await fetch(`${sandbox.endpoints.apiBaseUrl}/certificates/shop.contoso.example/renew?code=${sandbox.endpoints.functionKey}`, { method: 'POST' });
    expect(renew.status).toBe(202);
    const renewed = await pollToEnd(String(((await renew.json()) as { statusQueryGetUri: string }).statusQueryGetUri), undefined, 180_000);
    expect(renewed.final).toMatchObject({ runtimeStatus: 'Completed', input: { hostname: 'shop.contoso.example', challengeType: 'dns-01' } });
    const others = ['cart.contoso.example', 'pay.contoso.example', 'www.litware.example', 'api.fabrikam.example'];
    expect([...(renewed.final.input as { additionalNames: string[] }).additionalNames].sort()).toEqual([...others].sort());
    expect(sandbox.keyVault.certificateVersions(certificateNameFor('shop.contoso.example'))).toHaveLength(before + 1);
    const served = await fetchServedCertificate(sandbox.dataPlane.httpsPort, 'pay.contoso.example', sandbox.acmeRootPem);
    expect(served.subjectAltName?.split(', ')).toHaveLength(5);

    const removal = await fetch(`${sandbox.endpoints.apiBaseUrl}/certificates/shop.contoso.example?code=${sandbox.endpoints.functionKey}`, { method: 'DELETE' });
    expect(removal.status).toBe(202);
    const removed = await pollToEnd(String(((await removal.json()) as { statusQueryGetUri: string }).statusQueryGetUri));
    expect(removed.final.runtimeStatus).toBe('Completed');
    expect(listenersFor('pay.contoso.example')).toEqual([]);
    // Every name is free again: one of them can be issued on its own at once.
    const { final } = await issue('pay.contoso.example');
    expect(final.runtimeStatus).toBe('Completed');
  });

  it('renews a DNS-01 certificate by DNS-01 again, and removes a wildcard certificate from the gateway and Key Vault', async () => {
    const renew = await fetch(`${sandbox.endpoints.apiBaseUrl}/certificates/${encodeURIComponent('moving.contoso.example')}/renew?code=${sandbox.endpoints.functionKey}`, { method: 'POST' });
    expect(renew.status).toBe(202);
    const renewed = await pollToEnd(String(((await renew.json()) as { statusQueryGetUri: string }).statusQueryGetUri));
    expect(renewed.final).toMatchObject({ runtimeStatus: 'Completed', input: { hostname: 'moving.contoso.example', challengeType: 'dns-01' } });
    expect(renewed.steps).toContain('CheckDnsTxtRecordStep');
    expect(sandbox.keyVault.certificateVersions(certificateNameFor('moving.contoso.example'))).toHaveLength(2);

    const removal = await fetch(`${sandbox.endpoints.apiBaseUrl}/certificates/${encodeURIComponent('*.fabrikam.example')}?code=${sandbox.endpoints.functionKey}`, { method: 'DELETE' });
    expect(removal.status).toBe(202);
    const removed = await pollToEnd(String(((await removal.json()) as { statusQueryGetUri: string }).statusQueryGetUri));
    expect(removed.final.runtimeStatus).toBe('Completed');
    expect(sandbox.arm.getGateway().properties.httpListeners.filter((l) => l.properties.hostNames?.includes('*.fabrikam.example'))).toEqual([]);
    expect(await txtRecordSets()).toEqual([]);
  });
});

describe('DNS-01 with no zones listed: the zone found among the subscription\'s DNS zones', () => {
  let sandbox: Sandbox;
  let stateDir: string;

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-dns01-list-'));
    // Listing a subscription's zones needs dnsZones/read on the subscription, which the infra does not
    // grant (it assigns the role per zone); an operator who grants it runs like this.
    sandbox = await startSandbox(scaledGateway({ stateDir, dnsPropagationDelayMs: 1500, enforceRbac: false, settings: { DnsZoneResourceIds: '' } }));
  });
  afterAll(async () => {
    await sandbox?.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('finds the zone holding the name among the subscription\'s zones, and names the zones it has when none holds it', async () => {
    const ok = await issueOne(sandbox, 'listed.litware.example', 'dns-01');
    expect(ok.runtimeStatus).toBe('Completed');
    const missing = await issueOne(sandbox, 'www.northwind.example', 'dns-01');
    expect(missing).toMatchObject({ runtimeStatus: 'Failed', code: 'DnsZoneNotFound' });
    expect(missing.text).toContain('No Azure DNS zone the app may write holds _acme-challenge.www.northwind.example (zones: contoso.example, fabrikam.example, litware.example)');
    await sandbox.dnsZones.settled();
    expect(sandbox.dnsZones.recordSets('TXT')).toEqual([]);
  });
});

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Resolver } from 'node:dns/promises';
import { DnsManagementClient, RecordSet } from '@azure/arm-dns';
import { Sandbox, SANDBOX_SUBSCRIPTION, startSandbox } from '../../sandbox';
import { SandboxCredential } from '../support/sandboxClient';
import { IdentityCredential } from '../support/identityCredential';

/**
 * The Azure DNS stand-in (sandbox/emulators/dnsZones.ts) driven through @azure/arm-dns 5.1.0, the
 * SDK the app uses: zones, record sets with etags, the service's refusals, propagation to
 * pebble-challtestsrv after a delay, and the role the app holds on each zone.
 */
const RG = 'rg-dns';
const ZONE = 'contoso.example';
const CHALLENGE = '_acme-challenge';
/** Long enough that a query made right after the PUT's answer comes before the record (no assertion on speed). */
const SLOW_PROPAGATION_MS = 3_000;


interface Refusal {
  statusCode?: number;
  code?: string;
  message: string;
  /** The answer's body as sent, parsed. */
  body?: unknown;
}

async function refusal(promise: Promise<unknown>): Promise<Refusal> {
  try {
    await promise;
  } catch (error) {
    const { statusCode, code, message } = error as Refusal;
    const text = (error as { response?: { bodyAsText?: string | null } }).response?.bodyAsText;
    return { statusCode, code, message, body: text ? (JSON.parse(text) as unknown) : undefined };
  }
  throw new Error('expected the call to be refused');
}

describe('Azure DNS stand-in (ARM emulator, @azure/arm-dns)', () => {
  let sandbox: Sandbox;
  let stateDir: string;
  let operator: DnsManagementClient;
  let app: DnsManagementClient;
  let resolver: Resolver;

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dns-'));
    sandbox = await startSandbox({ stateDir, withHost: false, dnsPropagationDelayMs: 50 });
    // arm-dns asks for a token for `${endpoint}/.default` unless told: the ARM audience, as on Azure.
    const options = { endpoint: sandbox.endpoints.armUrl, credentialScopes: ['https://management.azure.com/.default'], tlsOptions: { ca: sandbox.ca.certPem } };
    operator = new DnsManagementClient(new SandboxCredential(), SANDBOX_SUBSCRIPTION, options);
    app = new DnsManagementClient(new IdentityCredential(sandbox.appIdentity.clientId, sandbox.appIdentity.objectId), SANDBOX_SUBSCRIPTION, options);
    resolver = new Resolver();
    resolver.setServers([sandbox.endpoints.dnsServer]);
  });
  afterAll(async () => {
    await sandbox?.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });
  afterEach(async () => {
    sandbox.rbac.restore();
    sandbox.dnsZones.setPropagationDelayMs(50);
    for (const set of sandbox.dnsZones.recordSets()) {
      await operator.recordSets.delete(RG, set.zone, set.name, set.type);
    }
    await sandbox.dnsZones.settled();
  });

  const txt = async (name: string): Promise<string[][] | string> => {
    try {
      return await resolver.resolveTxt(name);
    } catch (error) {
      return (error as { code: string }).code;
    }
  };

  it('serves the seeded zones as Zones_Get and both lists answer them, and the app is told their ids and the name servers\' port', async () => {
    const zone = await operator.zones.get(RG, ZONE);
    expect(zone).toMatchObject({
      id: `/subscriptions/${SANDBOX_SUBSCRIPTION}/resourceGroups/${RG}/providers/Microsoft.Network/dnszones/${ZONE}`,
      name: ZONE,
      type: 'Microsoft.Network/dnszones',
      location: 'global',
      maxNumberOfRecordSets: 10_000,
      numberOfRecordSets: 2,
      nameServers: ['ns1-01.azure-dns.com.', 'ns2-01.azure-dns.net.', 'ns3-01.azure-dns.org.', 'ns4-01.azure-dns.info.'],
      zoneType: 'Public',
    });
    expect(zone.etag).toMatch(/^[0-9a-f-]{36}$/);
    const names = ['contoso.example', 'fabrikam.example', 'litware.example'];
    const listed: string[] = [];
    for await (const z of operator.zones.list()) listed.push(z.name ?? '');
    expect(listed.sort()).toEqual(names);
    const inGroup: string[] = [];
    for await (const z of operator.zones.listByResourceGroup(RG, { top: 2 })) inGroup.push(z.name ?? '');
    expect(inGroup.sort()).toEqual(names);
    // The apex SOA and NS record sets every zone has.
    const apex: RecordSet[] = [];
    for await (const set of operator.recordSets.listByDnsZone(RG, ZONE)) apex.push(set);
    expect(apex.map((s) => `${s.type} ${s.name}`).sort()).toEqual(['Microsoft.Network/dnszones/NS @', 'Microsoft.Network/dnszones/SOA @']);
    expect(sandbox.settings.DnsZoneResourceIds.split(',')).toEqual(sandbox.dnsZones.zones.map((z) => z.id));
    expect(sandbox.settings.DnsAuthoritativePort).toBe(sandbox.endpoints.dnsServer.split(':')[1]);
  });

  it('answers ARM\'s 404s for a zone, a resource group and a record set under a zone that do not exist, and the DNS provider\'s for a record set', async () => {
    const missingZone = await refusal(operator.zones.get(RG, 'missing.example'));
    expect(missingZone).toMatchObject({ statusCode: 404, code: 'ResourceNotFound', body: { error: { code: 'ResourceNotFound' } } });
    expect(await refusal(operator.zones.get('rg-nope', ZONE))).toMatchObject({
      statusCode: 404,
      code: 'ResourceGroupNotFound',
      message: "Resource group 'rg-nope' could not be found.",
      body: { error: { code: 'ResourceGroupNotFound' } },
    });
    // ARM's answer for a child of a zone that is not there (hashicorp/terraform-provider-azurerm#26124).
    const zoneId = `/subscriptions/${SANDBOX_SUBSCRIPTION}/resourceGroups/${RG}/providers/Microsoft.Network/dnszones/missing.example`;
    expect(await refusal(operator.recordSets.createOrUpdate(RG, 'missing.example', 'www', 'CNAME', { ttl: 60, cnameRecord: { cname: 'elsewhere.example' } }))).toMatchObject({
      statusCode: 404,
      code: 'ParentResourceNotFound',
      message: `Failed to perform 'write' on resource(s) of type 'dnszones/CNAME', because the parent resource '${zoneId}' could not be found.`,
      body: { error: { code: 'ParentResourceNotFound' } },
    });
    expect(await refusal(operator.recordSets.get(RG, 'missing.example', CHALLENGE, 'TXT'))).toMatchObject({ statusCode: 404, code: 'ParentResourceNotFound' });
    // The DNS resource provider's own answer, unwrapped (rcl-letsencrypt-auto-ssl/Lets-Encrypt-Auto#21).
    const message = `The resource record '_acme-challenge' does not exist in resource group '${RG}' of subscription '${SANDBOX_SUBSCRIPTION}'.`;
    expect(await refusal(operator.recordSets.get(RG, ZONE, '_Acme-Challenge', 'TXT'))).toEqual({ statusCode: 404, code: 'NotFound', message, body: { code: 'NotFound', message } });
  });

  it('creates (201), updates (200) and deletes (200, then 204) a TXT record set, each write with a new etag, If-Match and If-None-Match as the service answers them', async () => {
    const statuses: number[] = [];
    const onResponse = (response: { status: number }): void => {
      statuses.push(response.status);
    };
    const created = await operator.recordSets.createOrUpdate(RG, ZONE, CHALLENGE, 'TXT', { ttl: 60, txtRecords: [{ value: ['first'] }] }, { ifNoneMatch: '*', onResponse });
    expect(created).toMatchObject({
      id: `${sandbox.dnsZones.zones[0].id}/TXT/${CHALLENGE}`,
      name: CHALLENGE,
      type: 'Microsoft.Network/dnszones/TXT',
      ttl: 60,
      fqdn: `${CHALLENGE}.${ZONE}.`,
      provisioningState: 'Succeeded',
      txtRecords: [{ value: ['first'] }],
    });
    expect(await refusal(operator.recordSets.createOrUpdate(RG, ZONE, CHALLENGE, 'TXT', { ttl: 60, txtRecords: [{ value: ['again'] }] }, { ifNoneMatch: '*' }))).toMatchObject({
      statusCode: 412,
      code: 'PreconditionFailed',
      message: "The condition '*' in the If-None-Match header was not satisfied. The current was 'n/a'.",
      body: { code: 'PreconditionFailed', message: "The condition '*' in the If-None-Match header was not satisfied. The current was 'n/a'." },
    });
    const updated = await operator.recordSets.createOrUpdate(RG, ZONE, CHALLENGE.toUpperCase(), 'TXT', { ttl: 60, txtRecords: [{ value: ['first'] }, { value: ['second'] }] }, { ifMatch: created.etag, onResponse });
    expect(updated.etag).not.toBe(created.etag);
    // The name keeps the case it was created with; ARM paths and DNS names compare case-insensitively.
    expect(updated.name).toBe(CHALLENGE);
    expect(await refusal(operator.recordSets.createOrUpdate(RG, ZONE, CHALLENGE, 'TXT', { ttl: 60, txtRecords: [{ value: ['stale'] }] }, { ifMatch: created.etag }))).toMatchObject({
      statusCode: 412,
      code: 'PreconditionFailed',
      message: `The condition '${created.etag}' in the If-Match header was not satisfied. The current was '${updated.etag}'.`,
    });
    expect((await operator.recordSets.get(RG, 'CONTOSO.example', CHALLENGE, 'TXT')).txtRecords).toEqual([{ value: ['first'] }, { value: ['second'] }]);
    expect(sandbox.dnsZones.recordSets('TXT').map((s) => s.fqdn)).toEqual([`${CHALLENGE}.${ZONE}.`]);
    expect((await operator.zones.get(RG, ZONE)).numberOfRecordSets).toBe(3);
    expect(await refusal(operator.recordSets.delete(RG, ZONE, CHALLENGE, 'TXT', { ifMatch: created.etag }))).toMatchObject({ statusCode: 412, code: 'PreconditionFailed' });
    await operator.recordSets.delete(RG, ZONE, CHALLENGE, 'TXT', { ifMatch: updated.etag, onResponse });
    await operator.recordSets.delete(RG, ZONE, CHALLENGE, 'TXT', { onResponse });
    expect(statuses).toEqual([201, 200, 200, 204]);
    // If-Match on a record set that does not exist.
    expect(await refusal(operator.recordSets.createOrUpdate(RG, ZONE, CHALLENGE, 'TXT', { ttl: 60, txtRecords: [] }, { ifMatch: '*' }))).toMatchObject({ statusCode: 412, code: 'PreconditionFailed' });
    expect(sandbox.dnsZones.recordSets('TXT')).toEqual([]);
  });

  it('refuses what the service refuses: long TXT strings, too many records, a CNAME beside another type or at the apex, records of another type, a bad TTL', async () => {
    const put = (type: 'TXT' | 'CNAME' | 'A' | 'CAA', name: string, body: RecordSet): Promise<RecordSet> => operator.recordSets.createOrUpdate(RG, ZONE, name, type, body);
    await put('TXT', 'max', { ttl: 60, txtRecords: [{ value: ['x'.repeat(255)] }] });
    expect(await refusal(put('TXT', 'long', { ttl: 60, txtRecords: [{ value: ['x'.repeat(256)] }] }))).toMatchObject({ statusCode: 400, code: 'BadRequest' });
    // The service's 400 as hashicorp/terraform-provider-azurerm#24169 quotes it, body and all.
    expect(await refusal(put('TXT', 'total', { ttl: 60, txtRecords: Array.from({ length: 17 }, () => ({ value: ['y'.repeat(255)] })) }))).toEqual({
      statusCode: 400,
      code: 'BadRequest',
      message: 'The combined length of all TXT records in a record set may not exceed 4096 characters.',
      body: { code: 'BadRequest', message: 'The combined length of all TXT records in a record set may not exceed 4096 characters.' },
    });
    expect(await refusal(put('TXT', 'many', { ttl: 60, txtRecords: Array.from({ length: 21 }, (_, i) => ({ value: [`v${i}`] })) }))).toMatchObject({ statusCode: 400, code: 'BadRequest' });
    await put('TXT', 'many', { ttl: 60, txtRecords: Array.from({ length: 20 }, (_, i) => ({ value: [`v${i}`] })) });
    expect(await refusal(put('CNAME', 'max', { ttl: 60, cnameRecord: { cname: 'elsewhere.example' } }))).toMatchObject({
      statusCode: 409,
      code: 'Conflict',
      message: 'The CNAME record could not be created because another record with the same name already exists in this zone.',
      body: { code: 'Conflict', message: 'The CNAME record could not be created because another record with the same name already exists in this zone.' },
    });
    expect(await refusal(put('CNAME', '@', { ttl: 60, cnameRecord: { cname: 'elsewhere.example' } }))).toMatchObject({ statusCode: 409, code: 'Conflict' });
    await put('CNAME', 'alias', { ttl: 60, cnameRecord: { cname: 'elsewhere.example' } });
    expect(await refusal(put('TXT', 'alias', { ttl: 60, txtRecords: [{ value: ['beside a CNAME'] }] }))).toMatchObject({ statusCode: 409, code: 'Conflict' });
    expect(await refusal(put('TXT', 'mixed', { ttl: 60, txtRecords: [{ value: ['x'] }], aRecords: [{ ipv4Address: '192.0.2.1' }] }))).toMatchObject({ statusCode: 400, code: 'BadRequest' });
    expect(await refusal(put('TXT', 'ttl', { ttl: -1, txtRecords: [{ value: ['x'] }] }))).toMatchObject({ statusCode: 400, code: 'BadRequest' });
    // Learn, "DNS zones and records": "any TTL value between 1 and 2,147,483,647 seconds".
    expect(await refusal(put('TXT', 'ttl', { ttl: 0, txtRecords: [{ value: ['x'] }] }))).toMatchObject({ statusCode: 400, code: 'BadRequest' });
    expect(await refusal(put('TXT', 'ttl', { ttl: 2_147_483_648, txtRecords: [{ value: ['x'] }] }))).toMatchObject({ statusCode: 400, code: 'BadRequest' });
    await put('TXT', 'ttl', { ttl: 1, txtRecords: [{ value: ['x'] }] });
    await put('TXT', 'ttl', { ttl: 2_147_483_647, txtRecords: [{ value: ['x'] }] });
    expect(await refusal(put('A', 'bad-a', { ttl: 60, aRecords: [{ ipv4Address: '300.1.1.1' }] }))).toMatchObject({ statusCode: 400, code: 'BadRequest' });
    expect(await refusal(put('CAA', '@', { ttl: 60, caaRecords: [{ flags: 0, tag: 'not a tag', value: 'x' }] }))).toMatchObject({ statusCode: 400, code: 'BadRequest' });
    expect(await refusal(operator.recordSets.delete(RG, ZONE, '@', 'SOA'))).toMatchObject({ statusCode: 400, code: 'BadRequest', message: "Records of type 'SOA' cannot be deleted." });
    expect(sandbox.dnsZones.recordSets().map((s) => `${s.type} ${s.name}`).sort()).toEqual(['CNAME alias', 'TXT many', 'TXT max', 'TXT ttl']);
  });

  it('takes `*` only as a whole left-most label of a record set name (Learn, Wildcard records), never in a CNAME\'s target', async () => {
    const put = (type: 'TXT' | 'CNAME', name: string, body: RecordSet): Promise<RecordSet> => operator.recordSets.createOrUpdate(RG, ZONE, name, type, body);
    await put('TXT', '*', { ttl: 60, txtRecords: [{ value: ['x'] }] });
    await put('TXT', '*.foo', { ttl: 60, txtRecords: [{ value: ['x'] }] });
    for (const name of ['a*b', 'foo.*', 'x.*.y', '**', '*foo', '*.*']) {
      expect(await refusal(put('TXT', name, { ttl: 60, txtRecords: [{ value: ['x'] }] }))).toMatchObject({ statusCode: 400, code: 'BadRequest', message: `The record set name '${name}' is invalid.` });
    }
    for (const cname of ['*.elsewhere.example', 'a*b.elsewhere.example', '*']) {
      expect(await refusal(put('CNAME', 'alias', { ttl: 60, cnameRecord: { cname } }))).toMatchObject({ statusCode: 400, code: 'BadRequest', message: `The domain name '${cname}' is invalid.` });
    }
    expect(sandbox.dnsZones.recordSets().map((s) => `${s.type} ${s.name}`).sort()).toEqual(['TXT *', 'TXT *.foo']);
  });

  it('publishes a write to challtestsrv only after the propagation delay, and a delete likewise; writes to one name apply in order', async () => {
    sandbox.dnsZones.setPropagationDelayMs(SLOW_PROPAGATION_MS);
    const fqdn = `${CHALLENGE}.${ZONE}`;
    await operator.recordSets.createOrUpdate(RG, ZONE, CHALLENGE, 'TXT', { ttl: 60, txtRecords: [{ value: ['old'] }] });
    expect(await txt(fqdn)).toBe('ENODATA');
    await operator.recordSets.createOrUpdate(RG, ZONE, CHALLENGE, 'TXT', { ttl: 60, txtRecords: [{ value: ['digest-1'] }, { value: ['digest', '-2'] }] });
    await sandbox.dnsZones.settled();
    expect(((await txt(fqdn)) as string[][]).map((r) => r.join('')).sort()).toEqual(['digest-1', 'digest-2']);
    await operator.recordSets.delete(RG, ZONE, CHALLENGE, 'TXT');
    expect(((await txt(fqdn)) as string[][]).length).toBe(2);
    await sandbox.dnsZones.settled();
    expect(await txt(fqdn)).toBe('ENODATA');
    expect(sandbox.dnsZones.propagationErrors()).toEqual([]);
  });

  it('publishes CAA, A and CNAME record sets to challtestsrv (CAA without its flags)', async () => {
    await operator.recordSets.createOrUpdate(RG, 'fabrikam.example', '@', 'CAA', {
      ttl: 300,
      caaRecords: [
        { flags: 0, tag: 'issue', value: 'letsencrypt.org' },
        { flags: 128, tag: 'issuewild', value: ';' },
      ],
    });
    await operator.recordSets.createOrUpdate(RG, 'fabrikam.example', 'www', 'A', { ttl: 300, aRecords: [{ ipv4Address: '192.0.2.10' }] });
    await operator.recordSets.createOrUpdate(RG, 'litware.example', '_acme-challenge.shop', 'CNAME', { ttl: 300, cnameRecord: { cname: '_acme-challenge.shop.validation.contoso.example' } });
    await sandbox.dnsZones.settled();
    expect(await resolver.resolveCaa('fabrikam.example')).toEqual([
      { critical: 0, issue: 'letsencrypt.org' },
      { critical: 0, issuewild: ';' },
    ]);
    expect(await resolver.resolve4('www.fabrikam.example')).toEqual(['192.0.2.10']);
    expect(await resolver.resolveCname('_acme-challenge.shop.litware.example')).toEqual(['_acme-challenge.shop.validation.contoso.example']);
    expect(sandbox.dnsZones.propagationErrors()).toEqual([]);
  });

  it('lets the app read the zone and write and delete TXT record sets there, nothing else, and only while it holds the role on the zone', async () => {
    const zoneId = sandbox.dnsZones.zones[0].id;
    await app.zones.get(RG, ZONE);
    await app.recordSets.createOrUpdate(RG, ZONE, CHALLENGE, 'TXT', { ttl: 60, txtRecords: [{ value: ['token'] }] });
    await app.recordSets.get(RG, ZONE, CHALLENGE, 'TXT');
    await app.recordSets.delete(RG, ZONE, CHALLENGE, 'TXT');
    const refusedA = await refusal(app.recordSets.createOrUpdate(RG, ZONE, 'www', 'A', { ttl: 60, aRecords: [{ ipv4Address: '192.0.2.1' }] }));
    expect(refusedA).toMatchObject({ statusCode: 403, code: 'AuthorizationFailed' });
    expect(refusedA.message).toContain("perform action 'Microsoft.Network/dnsZones/A/write'");
    expect(await refusal(app.recordSets.createOrUpdate(RG, ZONE, '@', 'CNAME', { ttl: 60, cnameRecord: { cname: 'x.example' } }))).toMatchObject({ statusCode: 403 });
    expect(await refusal(app.zones.get('rg-appgw-sandbox', ZONE))).toMatchObject({ statusCode: 403, code: 'AuthorizationFailed' });
    // One assignment per zone: without the one on contoso.example, the others still work.
    expect(sandbox.rbac.grants().filter((g) => g.kind === 'assignment' && g.name === 'onDnsZone').map((g) => (g.kind === 'assignment' ? g.scope : ''))).toEqual(sandbox.dnsZones.zones.map((z) => z.id));
    sandbox.rbac.removeAssignment('onDnsZone', zoneId);
    const refusedTxt = await refusal(app.recordSets.createOrUpdate(RG, ZONE, CHALLENGE, 'TXT', { ttl: 60, txtRecords: [{ value: ['token'] }] }));
    expect(refusedTxt).toMatchObject({ statusCode: 403, code: 'AuthorizationFailed' });
    // ARM names the scope as the request's path spells it (the SDK writes dnsZones); ids compare case-insensitively.
    expect(refusedTxt.message.toLowerCase()).toContain(`over scope '${zoneId}/TXT/${CHALLENGE}'`.toLowerCase());
    await app.recordSets.createOrUpdate(RG, 'fabrikam.example', CHALLENGE, 'TXT', { ttl: 60, txtRecords: [{ value: ['token'] }] });
    sandbox.rbac.restore();
    const withoutDelete = sandbox.rbac.withoutAction('dnsChallengeWriter', 'Microsoft.Network/dnsZones/TXT/delete');
    expect(await refusal(app.recordSets.delete(RG, 'fabrikam.example', CHALLENGE, 'TXT'))).toMatchObject({ statusCode: 403, code: 'AuthorizationFailed' });
    withoutDelete();
    await app.recordSets.delete(RG, 'fabrikam.example', CHALLENGE, 'TXT');
    expect(sandbox.dnsZones.recordSets('TXT')).toEqual([]);
  });
});

import { randomUUID } from 'node:crypto';
import type { ChallTestSrv } from '../services/pebble';
import { isIPv4, isIPv6 } from 'node:net';
import type { EmulatorReply, EmulatorRequest } from './httpsServer';

/**
 * Azure DNS (Microsoft.Network/dnsZones, api-version 2018-05-01) as the ARM emulator serves it
 * (arm.ts mounts `serve` through its `providers` hook). Shapes follow azure-rest-api-specs
 * specification/dns/resource-manager/Microsoft.Network/stable/2018-05-01/dns.json and its examples
 * (GetZone.json, CreateOrUpdateTXTRecordset.json); answers the service gives follow the sources
 * named where each is built. Records reach DNS through pebble-challtestsrv (`DnsPublisher`, the
 * DNS server Pebble and the app resolve through), after `propagationDelayMs`.
 *
 * - Zones: GET by id, list in a subscription (Zones_List) and in a resource group
 *   (Zones_ListByResourceGroup), `{value, nextLink}` pages of `$top` (default 100). A zone has
 *   location "global", `maxNumberOfRecordSets` 10000 (Learn, "Azure subscription and service limits",
 *   Azure DNS: 10,000 record sets per public zone; the spec example's 5000 is older), the four name
 *   servers of an Azure DNS name server set with their trailing dots, and `numberOfRecordSets`
 *   counting the apex SOA and NS record sets a new zone has (GetZone.json: 2).
 * - Record sets TXT, CAA, A, AAAA, CNAME: GET, PUT (201 created, 200 updated), DELETE (200; 204 for one
 *   that does not exist, the spec's two answers); lists across types (`recordsets`, `all`) and of one
 *   type; the apex NS and SOA record sets are listed and read, not written (emulated types only).
 * - Etags are GUIDs (dns.json examples), new on every write. If-Match (any value, `*` included) on
 *   a record set that differs or does not exist: 412 PreconditionFailed "The condition '{x}' in the
 *   If-Match header was not satisfied. The current was '{etag}'." ('n/a' when there is none);
 *   If-None-Match `*` on an existing one: 412 "The condition '*' in the If-None-Match header was not
 *   satisfied. The current was 'n/a'." (the service's answers asserted by Azure/azure-powershell
 *   src/ResourceManager/Dns/Commands.Dns.Test/ScenarioTests/RecordsTests.ps1,
 *   Test-RecordSetEtagMismatch and Test-RecordSetNewAlreadyExists). Other If-None-Match values are
 *   ignored (dns.json: "Other values will be ignored").
 * - Not found: a record set answers 404 NotFound "The resource record '{name}' does not exist in
 *   resource group '{rg}' of subscription '{subscription}'." in lower case (the message public ACME
 *   clients' Azure DNS providers match on); a zone 404 ResourceNotFound in ARM's wording (as arm.ts);
 *   a record set path under a zone that does not exist 404 ParentResourceNotFound "Failed to perform
 *   'write' on resource(s) of type 'dnszones/CNAME', because the parent resource '{zone id}' could not
 *   be found." (ARM's answer, hashicorp/terraform-provider-azurerm#26124; 'read' and 'delete' for GET
 *   and DELETE are unverified); a group that does not exist 404 ResourceGroupNotFound (armResources.ts).
 * - Error bodies: the DNS resource provider's own answers (400, 409, 412, a record set's 404) are
 *   `{"code","message"}` without ARM's `error` wrapper, as the service's answers are quoted:
 *   400 in hashicorp/terraform-provider-azurerm#24169 and kubernetes-sigs/external-dns#4855, 409 in
 *   kubernetes-sigs/external-dns#5358, the record set's 404 in rcl-letsencrypt-auto-ssl/Lets-Encrypt-Auto#21
 *   (the 412's shape is unverified: taken as the provider's other answers). ARM's own answers
 *   (ResourceGroupNotFound, ResourceNotFound, ParentResourceNotFound, AuthorizationFailed,
 *   InvalidRequestContent) keep `{"error":{"code","message"}}`.
 * - Path segments compare case-insensitively (Learn, "Resource naming and case sensitivity"); record
 *   set names are DNS names, case-insensitive (RFC 4343); `@` is the apex (Learn, "DNS zones and
 *   records": "By convention, the relative name '@' is used to represent apex records").
 */

/** The record types this emulator writes; NS and SOA exist at the apex, read-only. */
export const WRITABLE_TYPES = ['A', 'AAAA', 'CAA', 'CNAME', 'TXT'] as const;
export type WritableType = (typeof WRITABLE_TYPES)[number];
export type RecordType = WritableType | 'NS' | 'SOA';
/** dns.json RecordType: every type the API names (MX, PTR, SRV are valid but not emulated). */
const API_TYPES = ['A', 'AAAA', 'CAA', 'CNAME', 'MX', 'NS', 'PTR', 'SOA', 'SRV', 'TXT'];

export interface TxtRecord {
  value: string[];
}
export interface CaaRecord {
  flags: number;
  tag: string;
  value: string;
}

/** A record set as the emulator holds it (and as `recordSets()` lists it). */
export interface RecordSet {
  /** ARM resource id, e.g. /subscriptions/…/resourceGroups/rg-dns/providers/Microsoft.Network/dnszones/contoso.example/TXT/_acme-challenge. */
  id: string;
  zone: string;
  type: RecordType;
  /** Relative name as first written (`@` for the apex). */
  name: string;
  /** Fully qualified, with the trailing dot (`_acme-challenge.contoso.example.`). */
  fqdn: string;
  etag: string;
  ttl: number;
  metadata?: Record<string, string>;
  txt?: TxtRecord[];
  caa?: CaaRecord[];
  a?: string[];
  aaaa?: string[];
  cname?: string;
  ns?: string[];
}

/** The DNS server records are published to (pebble-challtestsrv's management API; services/pebble.ts). */
export type DnsPublisher = Pick<ChallTestSrv, 'setTxt' | 'clearTxt' | 'addCaa' | 'clearCaa' | 'addA' | 'clearA' | 'addAAAA' | 'clearAAAA' | 'setCname' | 'clearCname'>;

export interface DnsZoneSpec {
  name: string;
  subscriptionId: string;
  resourceGroup: string;
}

export interface DnsZoneInfo extends DnsZoneSpec {
  /** /subscriptions/{s}/resourceGroups/{g}/providers/Microsoft.Network/dnszones/{name} */
  id: string;
  nameServers: string[];
}

export interface DnsZonesOptions {
  zones: DnsZoneSpec[];
  /** How long a write or delete takes to reach the name servers (default DEFAULT_PROPAGATION_DELAY_MS). */
  propagationDelayMs?: number;
  /** Where records are published; asked at each propagation (the DNS server may start after ARM). */
  publisher(): DnsPublisher | undefined;
}

export interface DnsZones {
  zones: DnsZoneInfo[];
  /** ARM's answer to a DNS zone or record set request; undefined for requests that are not one. */
  serve(request: EmulatorRequest, context: { groupExists(subscriptionId: string, name: string): boolean }): EmulatorReply | undefined;
  /** Every record set held (apex NS and SOA left out), of one type or all, in every zone. */
  recordSets(type?: RecordType): RecordSet[];
  propagationDelayMs(): number;
  setPropagationDelayMs(ms: number): void;
  /** Resolves when every write accepted so far has reached the DNS server (or failed: see propagationErrors). */
  settled(): Promise<void>;
  propagationErrors(): string[];
  stop(): void;
}

/**
 * Learn's Azure DNS FAQ (dns-faq.yml): "New or updated DNS zones and DNS records appear in the Azure
 * DNS name servers within 60 seconds." Read as an upper bound, the stricter default is all of it: a
 * client that asks its validator to look before the record is there fails as it could on Azure.
 * Tests scale it down (`dnsPropagationDelayMs`, `setPropagationDelayMs`).
 */
export const DEFAULT_PROPAGATION_DELAY_MS = 60_000;
/** Learn, "Azure subscription and service limits", Azure DNS: record sets per public zone, records per record set. */
export const MAX_RECORD_SETS_PER_ZONE = 10_000;
export const MAX_RECORDS_PER_RECORD_SET = 20;
/** RFC 1035 3.3.14 <character-string>; Azure DNS accepts 255 (MicrosoftDocs/azure-docs#89374). */
const MAX_TXT_STRING = 255;
/** The service's limit (hashicorp/terraform-provider-azurerm#24169, a 2023 service answer). */
const MAX_TXT_TOTAL = 4096;
/** Learn, "DNS zones and records", Time-to-live: "any TTL value between 1 and 2,147,483,647 seconds". */
const MIN_TTL = 1;
const MAX_TTL = 2_147_483_647;
const PAGE_SIZE = 100;
const API_VERSION = '2018-05-01';

/** Name servers of Azure DNS name server set 01 (GetZone.json names them; the service answers them with the trailing dot). */
const NAME_SERVERS = ['ns1-01.azure-dns.com.', 'ns2-01.azure-dns.net.', 'ns3-01.azure-dns.org.', 'ns4-01.azure-dns.info.'];

const RECORD_PROPERTY: Record<WritableType, string> = { A: 'ARecords', AAAA: 'AAAARecords', CAA: 'caaRecords', CNAME: 'CNAMERecord', TXT: 'TXTRecords' };
/** Every record property of dns.json RecordSetProperties, to refuse one that does not match the path's type. */
const ALL_RECORD_PROPERTIES = ['ARecords', 'AAAARecords', 'MXRecords', 'NSRecords', 'PTRRecords', 'SRVRecords', 'TXTRecords', 'CNAMERecord', 'SOARecord', 'caaRecords'];

/** ARM's own answers (group, zone, parent not found; body ARM cannot read): wrapped in `error`. */
const armError = (status: number, code: string, message: string): EmulatorReply => ({ status, body: { error: { code, message } } });
/** The DNS resource provider's own answers: `{code, message}` unwrapped (sources in the header). */
const rpError = (status: number, code: string, message: string): EmulatorReply => ({ status, body: { code, message } });
const badRequest = (message: string): EmulatorReply => rpError(400, 'BadRequest', message);

const zoneIdOf = (zone: DnsZoneSpec): string => `/subscriptions/${zone.subscriptionId}/resourceGroups/${zone.resourceGroup}/providers/Microsoft.Network/dnszones/${zone.name}`;
const key = (zone: string, type: string, name: string): string => `${zone.toLowerCase()}|${type.toUpperCase()}|${name.toLowerCase()}`;
const fqdnOf = (zone: string, name: string): string => (name === '@' ? `${zone}.` : `${name}.${zone}.`);

/**
 * RFC 1035 2.3.4 sizes: labels of 1-63 octets, a name of at most 253 characters without the root dot.
 * `*` only as a whole left-most label, and only where `wildcard` allows it (record set names: Learn,
 * "DNS zones and records", Wildcard records: "use the record set name '*'. You can also use a name
 * with '*' as its left-most label, for example, '*.foo'"); never in a CNAME's target (RFC 4592 2.1.1:
 * a wildcard is an owner name; the service's answer to one in a target is unverified: the stricter).
 */
function validDomainName(name: string, wildcard = false): boolean {
  const trimmed = name.replace(/\.$/, '');
  if (trimmed.length === 0 || trimmed.length > 253) return false;
  return trimmed.split('.').every((label, i) => (wildcard && i === 0 && label === '*') || (label.length >= 1 && label.length <= 63 && /^[A-Za-z0-9_-]+$/.test(label)));
}

interface Route {
  subscriptionId: string;
  resourceGroup?: string;
  zone?: string;
  type?: string;
  name?: string;
}

/** Splits a Microsoft.Network/dnszones path; undefined for any other path. */
function route(pathname: string): Route | undefined {
  const parts = pathname.replace(/\/+$/, '').split('/').slice(1).map(decodeURIComponent);
  const lower = parts.map((p) => p.toLowerCase());
  if (lower[0] !== 'subscriptions' || parts.length < 4) return undefined;
  let at = 2;
  let resourceGroup: string | undefined;
  if (lower[at] === 'resourcegroups') {
    resourceGroup = parts[at + 1];
    at += 2;
  }
  if (lower[at] !== 'providers' || lower[at + 1] !== 'microsoft.network' || lower[at + 2] !== 'dnszones') return undefined;
  const rest = parts.slice(at + 3);
  if (rest.length > 3) return undefined;
  if (rest.length > 0 && !resourceGroup) return undefined;
  return { subscriptionId: parts[1], resourceGroup, zone: rest[0], type: rest[1], name: rest[2] };
}

function header(request: EmulatorRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

export function startDnsZones(options: DnsZonesOptions): DnsZones {
  const zones: DnsZoneInfo[] = options.zones.map((zone) => ({ ...zone, name: zone.name.replace(/\.$/, ''), id: zoneIdOf(zone), nameServers: [...NAME_SERVERS] }));
  const zoneEtags = new Map(zones.map((zone) => [zone.id.toLowerCase(), randomUUID()]));
  const sets = new Map<string, RecordSet>();
  let delayMs = options.propagationDelayMs ?? DEFAULT_PROPAGATION_DELAY_MS;
  let stopped = false;
  const chains = new Map<string, Promise<void>>();
  const pending = new Set<Promise<void>>();
  const errors: string[] = [];
  /** Propagation waits, each with what ends it early (stop). */
  const timers = new Map<NodeJS.Timeout, () => void>();

  const recordSetId = (zone: DnsZoneInfo, type: string, name: string): string => `${zone.id}/${type}/${name}`;

  // Every zone starts with its apex SOA and NS record sets (GetZone.json: numberOfRecordSets 2; Learn,
  // "DNS zones and records": they are created with the zone and cannot be deleted).
  for (const zone of zones) {
    sets.set(key(zone.name, 'SOA', '@'), { id: recordSetId(zone, 'SOA', '@'), zone: zone.name, type: 'SOA', name: '@', fqdn: fqdnOf(zone.name, '@'), etag: randomUUID(), ttl: 3600 });
    sets.set(key(zone.name, 'NS', '@'), {
      id: recordSetId(zone, 'NS', '@'),
      zone: zone.name,
      type: 'NS',
      name: '@',
      fqdn: fqdnOf(zone.name, '@'),
      etag: randomUUID(),
      ttl: 172_800,
      ns: [...NAME_SERVERS],
    });
  }

  const setsOf = (zone: DnsZoneInfo): RecordSet[] => [...sets.values()].filter((set) => set.zone.toLowerCase() === zone.name.toLowerCase());

  const zoneBody = (zone: DnsZoneInfo): Record<string, unknown> => ({
    id: zone.id,
    name: zone.name,
    type: 'Microsoft.Network/dnszones',
    etag: zoneEtags.get(zone.id.toLowerCase()),
    location: 'global',
    properties: { maxNumberOfRecordSets: MAX_RECORD_SETS_PER_ZONE, numberOfRecordSets: setsOf(zone).length, nameServers: [...zone.nameServers], zoneType: 'Public' },
  });

  const recordSetBody = (set: RecordSet): Record<string, unknown> => {
    const properties: Record<string, unknown> = {
      ...(set.metadata ? { metadata: { ...set.metadata } } : {}),
      TTL: set.ttl,
      fqdn: set.fqdn,
      provisioningState: 'Succeeded',
    };
    if (set.type === 'TXT') properties.TXTRecords = (set.txt ?? []).map((r) => ({ value: [...r.value] }));
    if (set.type === 'CAA') properties.caaRecords = (set.caa ?? []).map((r) => ({ ...r }));
    if (set.type === 'A') properties.ARecords = (set.a ?? []).map((ipv4Address) => ({ ipv4Address }));
    if (set.type === 'AAAA') properties.AAAARecords = (set.aaaa ?? []).map((ipv6Address) => ({ ipv6Address }));
    if (set.type === 'CNAME' && set.cname !== undefined) properties.CNAMERecord = { cname: set.cname };
    if (set.type === 'NS') properties.NSRecords = (set.ns ?? []).map((nsdname) => ({ nsdname }));
    if (set.type === 'SOA') {
      // Azure DNS's SOA (Learn, "DNS zones and records", SOA records): host the first name server, email azuredns-hostmaster.microsoft.com.
      properties.SOARecord = { host: NAME_SERVERS[0], email: 'azuredns-hostmaster.microsoft.com', serialNumber: 1, refreshTime: 3600, retryTime: 300, expireTime: 2_419_200, minimumTTL: 300 };
    }
    return { id: set.id, name: set.name, type: `Microsoft.Network/dnszones/${set.type}`, etag: set.etag, properties };
  };

  /** `{value, nextLink}` pages of `$top` (default 100), continued by `$skipToken` (the emulator's own token). */
  const page = (request: EmulatorRequest, items: Record<string, unknown>[]): EmulatorReply => {
    const topParam = request.url.searchParams.get('$top');
    const top = topParam === null ? PAGE_SIZE : Number(topParam);
    if (!Number.isInteger(top) || top < 1) return badRequest(`The value '${topParam}' of the $top query parameter is not valid.`); // wording unverified
    const skip = Number(request.url.searchParams.get('$skipToken') ?? '0') || 0;
    const value = items.slice(skip, skip + top);
    const body: Record<string, unknown> = { value };
    if (skip + top < items.length) {
      const next = new URL(request.url.toString());
      next.searchParams.set('$skipToken', String(skip + top));
      next.searchParams.set('api-version', request.url.searchParams.get('api-version') ?? API_VERSION);
      body.nextLink = `${baseOf(request)}${next.pathname}${next.search}`;
    }
    return { status: 200, body };
  };
  const baseOf = (request: EmulatorRequest): string => `https://${header(request, 'host') ?? '127.0.0.1'}`;

  const findZone = (r: Route): DnsZoneInfo | undefined =>
    zones.find(
      (zone) =>
        zone.subscriptionId.toLowerCase() === r.subscriptionId.toLowerCase() &&
        zone.resourceGroup.toLowerCase() === (r.resourceGroup ?? '').toLowerCase() &&
        zone.name.toLowerCase() === (r.zone ?? '').replace(/\.$/, '').toLowerCase(),
    );

  const notFound = (r: Route, name: string): EmulatorReply =>
    rpError(
      404,
      'NotFound',
      `The resource record '${name.toLowerCase()}' does not exist in resource group '${(r.resourceGroup ?? '').toLowerCase()}' of subscription '${r.subscriptionId.toLowerCase()}'.`,
    );

  // --- propagation -----------------------------------------------------------------------------

  /** What challtestsrv must serve for one name and type: replace (clear, then each record) or clear. */
  async function publish(publisher: DnsPublisher, type: WritableType, fqdn: string, set: RecordSet | undefined): Promise<void> {
    if (type === 'TXT') {
      await publisher.clearTxt(fqdn);
      // A record's strings are one TXT record; challtestsrv serves each value as one string (known difference).
      for (const record of set?.txt ?? []) await publisher.setTxt(fqdn, record.value.join(''));
    } else if (type === 'CAA') {
      await publisher.clearCaa(fqdn);
      const records = set?.caa ?? [];
      // challtestsrv serves CAA with flags 0 whatever was written (known difference).
      if (records.length > 0) await publisher.addCaa(fqdn, records.map((r) => ({ tag: r.tag, value: r.value })));
    } else if (type === 'A') {
      await publisher.clearA(fqdn);
      for (const ip of set?.a ?? []) await publisher.addA(fqdn, ip);
    } else if (type === 'AAAA') {
      await publisher.clearAAAA(fqdn);
      for (const ip of set?.aaaa ?? []) await publisher.addAAAA(fqdn, ip);
    } else {
      await publisher.clearCname(fqdn);
      if (set?.cname) await publisher.setCname(fqdn, set.cname);
    }
  }

  /** Queues a change of one name: it reaches DNS `delayMs` after it was accepted, after every earlier change of that name. */
  function propagate(type: WritableType, fqdn: string, set: RecordSet | undefined): void {
    const snapshot = set && (JSON.parse(JSON.stringify(set)) as RecordSet);
    const dueAt = Date.now() + delayMs;
    const name = fqdn.toLowerCase();
    const previous = chains.get(name) ?? Promise.resolve();
    const next = previous.then(async () => {
      const wait = dueAt - Date.now();
      if (wait > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            timers.delete(timer);
            resolve();
          }, wait);
          timers.set(timer, resolve);
        });
      }
      if (stopped) return;
      const publisher = options.publisher();
      if (!publisher) {
        errors.push(`${type} ${fqdn}: no DNS server to publish to`);
        return;
      }
      try {
        await publish(publisher, type, fqdn, snapshot);
      } catch (error) {
        errors.push(`${type} ${fqdn}: ${(error as Error).message}`);
      }
    });
    chains.set(name, next);
    pending.add(next);
    void next.finally(() => {
      pending.delete(next);
      if (chains.get(name) === next) chains.delete(name);
    });
  }

  // --- validation --------------------------------------------------------------------------------

  /** The record set a PUT body describes, or the service's 400 (wording unverified where marked). */
  function parseBody(type: WritableType, body: unknown): { set: Omit<RecordSet, 'id' | 'zone' | 'type' | 'name' | 'fqdn' | 'etag'> } | { error: EmulatorReply } {
    const properties = (body as { properties?: unknown } | undefined)?.properties;
    if (!body || typeof body !== 'object' || !properties || typeof properties !== 'object' || Array.isArray(properties)) {
      // ARM's answer to a body it cannot read (as arm.ts answers a gateway PUT without properties).
      return { error: armError(400, 'InvalidRequestContent', 'The request content was invalid and could not be deserialized: properties are required.') };
    }
    const props = properties as Record<string, unknown>;
    // A property of another type than the path's: refused (the service's answer is unverified; the stricter reading).
    for (const property of ALL_RECORD_PROPERTIES) {
      if (property !== RECORD_PROPERTY[type] && props[property] !== undefined && props[property] !== null) {
        return { error: badRequest(`The record set of type '${type}' cannot contain records of property '${property}'.`) };
      }
    }
    const ttl = props.TTL;
    // dns.json: TTL is an int64; Learn ("DNS zones and records", Time-to-live): "any TTL value between
    // 1 and 2,147,483,647 seconds". Missing TTL is refused (unverified, stricter); the wording is unverified.
    if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < MIN_TTL || ttl > MAX_TTL) {
      return { error: badRequest(`The TTL value '${String(ttl)}' is invalid. It must be an integer from ${MIN_TTL} to ${MAX_TTL}.`) };
    }
    const metadata = props.metadata;
    if (metadata !== undefined && (typeof metadata !== 'object' || metadata === null || Object.values(metadata).some((v) => typeof v !== 'string'))) {
      return { error: badRequest('The metadata must be an object of strings.') };
    }
    const set: Omit<RecordSet, 'id' | 'zone' | 'type' | 'name' | 'fqdn' | 'etag'> = { ttl, ...(metadata ? { metadata: { ...(metadata as Record<string, string>) } } : {}) };
    const raw = props[RECORD_PROPERTY[type]];
    if (type === 'CNAME') {
      if (raw === undefined || raw === null) return { set };
      const cname = (raw as { cname?: unknown }).cname;
      // "The domain name '{x}' is invalid." is the service's answer (kubernetes-sigs/external-dns#4855).
      if (typeof cname !== 'string' || !validDomainName(cname)) return { error: badRequest(`The domain name '${String(cname)}' is invalid.`) };
      return { set: { ...set, cname } };
    }
    const records = raw ?? [];
    if (!Array.isArray(records)) return { error: armError(400, 'InvalidRequestContent', `The request content was invalid and could not be deserialized: '${RECORD_PROPERTY[type]}' must be an array.`) };
    // Learn, Azure DNS limits: 20 records per record set (wording unverified).
    if (records.length > MAX_RECORDS_PER_RECORD_SET) return { error: badRequest(`The number of records in a record set may not exceed ${MAX_RECORDS_PER_RECORD_SET}.`) };
    if (type === 'TXT') {
      const txt: TxtRecord[] = [];
      let total = 0;
      for (const record of records as unknown[]) {
        const value = (record as { value?: unknown } | null)?.value;
        if (!Array.isArray(value) || value.length === 0 || value.some((v) => typeof v !== 'string')) return { error: badRequest('Each TXT record must have a value: a list of strings.') };
        for (const text of value as string[]) {
          // The service's answer begins "The value '{v}'" (hashicorp/terraform-provider-azurerm#2826); the rest is unverified.
          if (text.length > MAX_TXT_STRING) return { error: badRequest(`The value '${text}' for the TXT record is longer than ${MAX_TXT_STRING} characters.`) };
          total += text.length;
        }
        txt.push({ value: [...(value as string[])] });
      }
      // The service's answer (hashicorp/terraform-provider-azurerm#24169).
      if (total > MAX_TXT_TOTAL) return { error: badRequest(`The combined length of all TXT records in a record set may not exceed ${MAX_TXT_TOTAL} characters.`) };
      return { set: { ...set, txt } };
    }
    if (type === 'CAA') {
      const caa: CaaRecord[] = [];
      for (const record of records as unknown[]) {
        const { flags, tag, value } = (record ?? {}) as { flags?: unknown; tag?: unknown; value?: unknown };
        // RFC 8659 4.1: flags is one octet, the tag 1-15 ASCII letters and digits (wording unverified).
        if (typeof flags !== 'number' || !Number.isInteger(flags) || flags < 0 || flags > 255) return { error: badRequest(`The CAA record flags '${String(flags)}' is invalid.`) };
        if (typeof tag !== 'string' || !/^[A-Za-z0-9]{1,15}$/.test(tag)) return { error: badRequest(`The CAA record tag '${String(tag)}' is invalid.`) };
        if (typeof value !== 'string') return { error: badRequest('The CAA record value must be a string.') };
        caa.push({ flags, tag, value });
      }
      return { set: { ...set, caa } };
    }
    const field = type === 'A' ? 'ipv4Address' : 'ipv6Address';
    const addresses: string[] = [];
    for (const record of records as unknown[]) {
      const address = (record as Record<string, unknown> | null)?.[field];
      const valid = typeof address === 'string' && (type === 'A' ? isIPv4(address) : isIPv6(address));
      if (!valid) return { error: badRequest(`The ${type === 'A' ? 'IPv4' : 'IPv6'} address '${String(address)}' is invalid.`) }; // wording unverified
      addresses.push(address);
    }
    return { set: type === 'A' ? { ...set, a: addresses } : { ...set, aaaa: addresses } };
  }

  /** Validates the relative name of a record set; undefined when it is acceptable. */
  function invalidName(zone: DnsZoneInfo, name: string): EmulatorReply | undefined {
    if (name === '@') return undefined;
    // RFC 1035 sizes on the fully qualified name, `*` only as the whole left-most label (the service's wording is unverified).
    if (name.endsWith('.') || !validDomainName(`${name}.${zone.name}`, true)) return badRequest(`The record set name '${name}' is invalid.`);
    return undefined;
  }

  // --- requests ----------------------------------------------------------------------------------

  function serveRecordSet(request: EmulatorRequest, r: Route, zone: DnsZoneInfo, typeIn: string, nameIn: string): EmulatorReply {
    const type = typeIn.toUpperCase();
    const name = nameIn === '@' ? '@' : nameIn;
    const existing = sets.get(key(zone.name, type, name));
    if (request.method === 'GET') return existing ? { status: 200, body: recordSetBody(existing) } : notFound(r, name);
    if (request.method !== 'PUT' && request.method !== 'DELETE') return armError(405, 'MethodNotAllowed', `The method '${request.method}' is not supported by the sandbox's Azure DNS stand-in.`);

    if (type === 'SOA' || (type === 'NS' && name === '@')) {
      // Azure/azure-powershell RecordsTests.ps1 Test-RecordSetSOA: "Records of type 'SOA' cannot be deleted."; the apex NS likewise (Learn, "DNS zones and records"; wording unverified).
      if (request.method === 'DELETE') return badRequest(type === 'SOA' ? "Records of type 'SOA' cannot be deleted." : "The record set of type 'NS' at the zone apex cannot be deleted.");
    }
    if (!(WRITABLE_TYPES as readonly string[]).includes(type)) {
      return badRequest(`Writing record sets of type '${type}' is not emulated by the sandbox (only ${WRITABLE_TYPES.join(', ')}).`);
    }
    const writable = type as WritableType;
    const ifMatch = header(request, 'if-match');
    if (ifMatch !== undefined) {
      const tags = ifMatch.split(',').map((tag) => tag.trim());
      if (!existing || !(tags.includes('*') || tags.includes(existing.etag))) {
        return rpError(412, 'PreconditionFailed', `The condition '${ifMatch}' in the If-Match header was not satisfied. The current was '${existing?.etag ?? 'n/a'}'.`);
      }
    }
    const fqdn = fqdnOf(zone.name, existing?.name ?? name);

    if (request.method === 'DELETE') {
      if (!existing) return { status: 204 };
      sets.delete(key(zone.name, type, name));
      propagate(writable, fqdn, undefined);
      return { status: 200 };
    }

    if (header(request, 'if-none-match')?.trim() === '*' && existing) {
      return rpError(412, 'PreconditionFailed', "The condition '*' in the If-None-Match header was not satisfied. The current was 'n/a'.");
    }
    const invalid = invalidName(zone, name);
    if (invalid) return invalid;
    const parsed = parseBody(writable, request.body);
    if ('error' in parsed) return parsed.error;
    // A CNAME cannot share its name with another record set (RFC 1034 3.6.2; Learn, "DNS zones and
    // records": CNAME record sets cannot coexist with other record sets with the same name, and the
    // apex holds NS and SOA, so no CNAME there). 409 Conflict: the service's answers, "The CNAME
    // record could not be created because another record with the same name already exists in this
    // zone." (rcl-letsencrypt-auto-ssl/Lets-Encrypt-Auto#26, octodns#586 a 409), and for another type
    // beside a CNAME a 409 Conflict (kubernetes-sigs/external-dns#5358; that message is unverified).
    const sameName = [...sets.values()].filter((set) => set.zone.toLowerCase() === zone.name.toLowerCase() && set.name.toLowerCase() === name.toLowerCase() && set.type !== type);
    if (type === 'CNAME' && sameName.length > 0) {
      return rpError(409, 'Conflict', 'The CNAME record could not be created because another record with the same name already exists in this zone.');
    }
    if (type !== 'CNAME' && sameName.some((set) => set.type === 'CNAME')) {
      return rpError(409, 'Conflict', `The ${type} record could not be created because a CNAME record with the same name already exists in this zone.`);
    }
    // Learn, Azure DNS limits: 10,000 record sets per public zone (counting SOA and NS; wording unverified).
    if (!existing && setsOf(zone).length >= MAX_RECORD_SETS_PER_ZONE) {
      return badRequest(`The maximum number of record sets (${MAX_RECORD_SETS_PER_ZONE}) in the zone '${zone.name}' has been reached.`);
    }
    const set: RecordSet = {
      ...parsed.set,
      id: recordSetId(zone, writable, existing?.name ?? name),
      zone: zone.name,
      type: writable,
      name: existing?.name ?? name,
      fqdn,
      etag: randomUUID(),
    };
    sets.set(key(zone.name, type, name), set);
    propagate(writable, fqdn, set);
    return { status: existing ? 200 : 201, body: recordSetBody(set) };
  }

  return {
    zones,
    serve(request, context) {
      const r = route(request.url.pathname);
      if (!r) return undefined;
      if (r.resourceGroup !== undefined && !context.groupExists(r.subscriptionId, r.resourceGroup)) {
        return armError(404, 'ResourceGroupNotFound', `Resource group '${r.resourceGroup}' could not be found.`);
      }
      if (r.zone === undefined) {
        if (request.method !== 'GET') return undefined;
        const listed = zones.filter(
          (zone) => zone.subscriptionId.toLowerCase() === r.subscriptionId.toLowerCase() && (r.resourceGroup === undefined || zone.resourceGroup.toLowerCase() === r.resourceGroup.toLowerCase()),
        );
        return page(request, listed.map(zoneBody));
      }
      const zone = findZone(r);
      if (!zone && r.type !== undefined) {
        // ARM's answer for a child of a zone that is not there (hashicorp/terraform-provider-azurerm#26124 for
        // 'write'; 'read' for GET and 'delete' for DELETE are unverified).
        const action = request.method === 'GET' ? 'read' : request.method === 'DELETE' ? 'delete' : 'write';
        return armError(
          404,
          'ParentResourceNotFound',
          `Failed to perform '${action}' on resource(s) of type 'dnszones/${r.type}', because the parent resource '/subscriptions/${r.subscriptionId}/resourceGroups/${r.resourceGroup ?? ''}/providers/Microsoft.Network/dnszones/${r.zone ?? ''}' could not be found.`,
        );
      }
      if (!zone) {
        return armError(
          404,
          'ResourceNotFound',
          `The Resource 'Microsoft.Network/dnszones/${r.zone}' under resource group '${r.resourceGroup ?? ''}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
        );
      }
      if (r.type === undefined) return request.method === 'GET' ? { status: 200, body: zoneBody(zone) } : undefined;
      if (r.name === undefined) {
        if (request.method !== 'GET') return undefined;
        const listType = r.type.toUpperCase();
        if (listType === 'RECORDSETS' || listType === 'ALL') return page(request, setsOf(zone).map(recordSetBody));
        if (!API_TYPES.includes(listType)) return badRequest(`The record type '${r.type}' is not valid.`); // wording unverified
        return page(request, setsOf(zone).filter((set) => set.type === listType).map(recordSetBody));
      }
      if (!API_TYPES.includes(r.type.toUpperCase())) return badRequest(`The record type '${r.type}' is not valid.`); // wording unverified
      return serveRecordSet(request, r, zone, r.type, r.name);
    },
    recordSets: (type) =>
      [...sets.values()]
        .filter((set) => !(set.name === '@' && (set.type === 'SOA' || set.type === 'NS')))
        .filter((set) => type === undefined || set.type === type)
        .map((set) => JSON.parse(JSON.stringify(set)) as RecordSet),
    propagationDelayMs: () => delayMs,
    setPropagationDelayMs: (ms) => {
      if (!Number.isFinite(ms) || ms < 0) throw new Error('propagationDelayMs must be a non-negative number');
      delayMs = ms;
    },
    settled: async () => {
      while (pending.size > 0) await Promise.all([...pending]);
    },
    propagationErrors: () => [...errors],
    stop: () => {
      stopped = true;
      for (const [timer, resolve] of timers) {
        clearTimeout(timer);
        resolve();
      }
      timers.clear();
    },
  };
}

import { DnsManagementClient, RecordSet, Zone } from '@azure/arm-dns';
import { CertbotConfig } from '../domain/config';
import { CertbotError } from '../domain/errors';
import { parseResourceId } from '../domain/gatewayLinks';
import { appCredential } from './credential';
import { fromAzureError } from './restErrors';

/**
 * The Azure DNS zones DNS-01 writes `_acme-challenge` TXT record sets in (@azure/arm-dns, api
 * 2018-05-01). Values are added to and removed from a record set, never the set replaced: a
 * wildcard and its base name share `_acme-challenge.<base>`, and two runs may hold it at once. Every
 * write is conditional on the etag read just before (If-Match, or If-None-Match: * to create), and
 * a lost race (412) is read again and retried.
 */
export interface DnsZoneRef {
  id: string;
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  nameServers: string[];
}

/** Where a TXT value goes: the zone and the record set's name relative to it ('@' at the apex). */
export interface TxtLocation {
  zone: DnsZoneRef;
  relativeName: string;
  fqdn: string;
}

const dnsCodes = { forbidden: 'DnsZonePermissionDenied', notFound: 'DnsZoneNotFound', other: 'DnsZoneRequestFailed' } as const;
const PRECONDITION_FAILED = 412;
const MAX_RACES = 5;
/** Seconds resolvers may cache the record: short, as it lives only for one validation (Key Vault Acmebot uses 60). */
const TXT_TTL = 60;

const statusOf = (error: unknown): number | undefined => (error as { statusCode?: number }).statusCode;

/** Zones and their name servers hardly ever change: read once per process and 5 minutes, not on every TXT step (each would be one ARM read per zone). */
const ZONES_TTL_MS = 5 * 60_000;

export class DnsZonesAdapter {
  private readonly clients = new Map<string, DnsManagementClient>();
  private cached?: { zones: Promise<DnsZoneRef[]>; until: number };

  constructor(private readonly config: CertbotConfig) {}

  private clientFor(subscriptionId: string): DnsManagementClient {
    const key = subscriptionId.toLowerCase();
    let client = this.clients.get(key);
    if (!client) {
      // The token's audience is Resource Manager's, as @azure/arm-network asks for it (its default
      // scope); arm-dns 5 would derive it from the endpoint, which differs in the sandbox.
      client = new DnsManagementClient(appCredential(), subscriptionId, { endpoint: this.config.armEndpoint.origin, credentialScopes: ['https://management.azure.com/.default'] });
      this.clients.set(key, client);
    }
    return client;
  }

  private translate(error: unknown): CertbotError {
    return fromAzureError('Azure DNS', error, dnsCodes);
  }

  /** The zones DnsZoneResourceIds names, or every zone of the subscription when it names none. */
  async zones(): Promise<DnsZoneRef[]> {
    if (this.cached && this.cached.until > Date.now()) return this.cached.zones;
    const zones = this.readZones();
    this.cached = { zones, until: Date.now() + ZONES_TTL_MS };
    // A failed read is not kept: the next step asks again.
    zones.catch(() => {
      if (this.cached?.zones === zones) this.cached = undefined;
    });
    return zones;
  }

  private async readZones(): Promise<DnsZoneRef[]> {
    try {
      if (this.config.dnsZoneResourceIds.length === 0) {
        const zones: DnsZoneRef[] = [];
        for await (const zone of this.clientFor(this.config.subscriptionId).zones.list()) zones.push(refOf(zone));
        return zones;
      }
      return await Promise.all(
        this.config.dnsZoneResourceIds.map(async (id) => {
          const { subscriptionId, resourceGroup, name } = parseResourceId(id) ?? { subscriptionId: '', resourceGroup: '', name: '' };
          return refOf(await this.clientFor(subscriptionId).zones.get(resourceGroup, name));
        }),
      );
    } catch (error) {
      throw this.translate(error);
    }
  }

  /** The zone holding `fqdn`: the longest zone name it ends with. */
  async locate(fqdn: string): Promise<TxtLocation> {
    const name = fqdn.toLowerCase().replace(/\.+$/, '');
    const zones = await this.zones();
    const holding = zones.filter((z) => name === z.name || name.endsWith(`.${z.name}`)).sort((a, b) => b.name.length - a.name.length);
    const [zone] = holding;
    // Azure lets two resource groups hold zones of one name; only the delegated one answers the CA.
    const twins = holding.filter((z) => z.name === zone?.name);
    if (twins.length > 1) {
      throw new CertbotError('DnsZoneNotFound', `Several Azure DNS zones named ${zone.name} could hold ${name} (${twins.map((z) => z.id).join(', ')}); list only the delegated one in DnsZoneResourceIds.`);
    }
    if (!zone) {
      const known = zones.map((z) => z.name).join(', ') || 'none';
      throw new CertbotError('DnsZoneNotFound', `No Azure DNS zone the app may write holds ${name} (zones: ${known}). Add the zone's resource id to DnsZoneResourceIds (azd parameter dnsZoneResourceIds), or delegate _acme-challenge with a CNAME into one of them.`);
    }
    const relativeName = name === zone.name ? '@' : name.slice(0, -(zone.name.length + 1));
    return { zone, relativeName, fqdn: name };
  }

  /** Adds `value` to the TXT record set (created if absent); a value already there is left as is. */
  async addTxtValue(location: TxtLocation, value: string): Promise<void> {
    await this.rewrite(location, (values) => (values.includes(value) ? undefined : [...values, value]));
  }

  /** Removes `value`; the record set goes when it was the last value. Absent already is done. */
  async removeTxtValue(location: TxtLocation, value: string): Promise<void> {
    await this.rewrite(location, (values) => (values.includes(value) ? values.filter((v) => v !== value) : undefined));
  }

  /** Reads the set, computes the new values (undefined: nothing to do), writes on the etag read; retries lost races. */
  private async rewrite(location: TxtLocation, change: (values: string[]) => string[] | undefined): Promise<void> {
    const { zone, relativeName } = location;
    const records = this.clientFor(zone.subscriptionId).recordSets;
    for (let race = 0; ; race++) {
      try {
        const current = await this.readTxt(location);
        const values = change(current?.values ?? []);
        if (values === undefined) return;
        if (values.length === 0) {
          if (current) await records.delete(zone.resourceGroup, zone.name, relativeName, 'TXT', { ifMatch: current.etag });
          return;
        }
        const body: RecordSet = { ttl: TXT_TTL, txtRecords: values.map((v) => ({ value: [v] })) };
        await records.createOrUpdate(zone.resourceGroup, zone.name, relativeName, 'TXT', body, current ? { ifMatch: current.etag } : { ifNoneMatch: '*' });
        return;
      } catch (error) {
        if (statusOf(error) === PRECONDITION_FAILED && race < MAX_RACES) continue;
        throw this.translate(error);
      }
    }
  }

  private async readTxt({ zone, relativeName }: TxtLocation): Promise<{ etag: string; values: string[] } | undefined> {
    try {
      const set = await this.clientFor(zone.subscriptionId).recordSets.get(zone.resourceGroup, zone.name, relativeName, 'TXT');
      return { etag: set.etag ?? '*', values: (set.txtRecords ?? []).map((r) => (r.value ?? []).join('')) };
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }
}

function refOf(zone: Zone): DnsZoneRef {
  const { subscriptionId, resourceGroup } = parseResourceId(zone.id ?? '') ?? { subscriptionId: '', resourceGroup: '' };
  return {
    id: zone.id ?? '',
    subscriptionId,
    resourceGroup,
    name: (zone.name ?? '').toLowerCase(),
    nameServers: zone.nameServers ?? [],
  };
}

import { DnsZonesAdapter, TxtLocation } from '../azure/dnsZones';
import { CertbotError } from '../domain/errors';
import { CertbotConfig } from '../domain/config';
import { followCnames } from '../dns/resolution';
import { txtOnNameServers, TxtVisibility } from '../dns/txtCheck';
import { activity } from './context';

/** A DNS-01 TXT value for a hostname (`*.example.com` proves `example.com`'s `_acme-challenge`). Public: the CA reads it from DNS. */
export interface TxtChallenge {
  hostname: string;
  value: string;
  /** Where CreateDnsTxtRecord put it: the check and the delete use it, never a new CNAME lookup that could land elsewhere. */
  location?: TxtLocation;
}

/**
 * `_acme-challenge.<name>` (RFC 8555 section 8.4; a wildcard's is its base name's), or where its
 * CNAME chain leads: delegating `_acme-challenge` to another zone is how a domain outside Azure
 * DNS, or one the app may not write, still gets DNS-01 (CAs follow the CNAME). Located afresh each
 * time, so that deleting needs nothing but the hostname and the value.
 */
async function locate(hostname: string, config: CertbotConfig, dnsZones: DnsZonesAdapter): Promise<TxtLocation> {
  const challengeName = `_acme-challenge.${hostname.replace(/^\*\./, '')}`;
  let chain: string[];
  try {
    chain = await followCnames(challengeName, config.dnsServers);
  } catch (error) {
    // Not "no CNAME" (that is an empty answer): guessing would write, or delete, in the wrong place.
    throw new CertbotError('DnsZoneRequestFailed', `The CNAME lookup of ${challengeName} failed (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); check the DNS servers (DnsServers), then retry.`, undefined, true);
  }
  return dnsZones.locate(chain[chain.length - 1]);
}

const locationOf = async (txt: TxtChallenge, config: CertbotConfig, dnsZones: DnsZonesAdapter): Promise<TxtLocation> => txt.location ?? locate(txt.hostname, config, dnsZones);

/** CreateDnsTxtRecordStep: adds the value (idempotent: a retry finds it there) and says where. */
export const createDnsTxtRecord = activity<TxtChallenge, TxtLocation>(async ({ hostname, value }, { config, dnsZones }) => {
  const location = await locate(hostname, config, dnsZones);
  await dnsZones.addTxtValue(location, value);
  return location;
});

/** CheckDnsTxtRecordStep: is the value on every one of the zone's name servers yet? */
export const checkDnsTxtRecord = activity<TxtChallenge, TxtVisibility>(async (txt, { config, dnsZones }) => {
  const location = await locationOf(txt, config, dnsZones);
  const { value } = txt;
  return txtOnNameServers(location.fqdn, value, location.zone.nameServers, config.dnsServers, config.dnsAuthoritativePort);
});

/** DeleteDnsTxtRecordStep: removes the value, and the record set with its last value (idempotent). */
export const deleteDnsTxtRecord = activity<TxtChallenge, void>(async (txt, { config, dnsZones }) => {
  await dnsZones.removeTxtValue(await locationOf(txt, config, dnsZones), txt.value);
});

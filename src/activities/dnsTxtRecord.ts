import { DnsZonesAdapter, TxtLocation } from '../azure/dnsZones';
import { CertbotConfig } from '../domain/config';
import { followCnames } from '../dns/resolution';
import { txtOnNameServers, TxtVisibility } from '../dns/txtCheck';
import { activity } from './context';

/** A DNS-01 TXT value for a hostname (`*.example.com` proves `example.com`'s `_acme-challenge`). Public: the CA reads it from DNS. */
export interface TxtChallenge {
  hostname: string;
  value: string;
}

/**
 * `_acme-challenge.<name>` (RFC 8555 section 8.4; a wildcard's is its base name's), or where its
 * CNAME chain leads: delegating `_acme-challenge` to another zone is how a domain outside Azure
 * DNS, or one the app may not write, still gets DNS-01 (CAs follow the CNAME). Located afresh each
 * time, so that deleting needs nothing but the hostname and the value.
 */
async function locate(hostname: string, config: CertbotConfig, dnsZones: DnsZonesAdapter): Promise<TxtLocation> {
  const challengeName = `_acme-challenge.${hostname.replace(/^\*\./, '')}`;
  let chain = [challengeName];
  try {
    chain = await followCnames(challengeName, config.dnsServers);
  } catch {
    // No answer about a CNAME: the record goes at the name itself, where its own zone holds it.
  }
  return dnsZones.locate(chain[chain.length - 1]);
}

/** CreateDnsTxtRecordStep: adds the value (idempotent: a retry finds it there). */
export const createDnsTxtRecord = activity<TxtChallenge, { fqdn: string; zone: string }>(async ({ hostname, value }, { config, dnsZones }) => {
  const location = await locate(hostname, config, dnsZones);
  await dnsZones.addTxtValue(location, value);
  return { fqdn: location.fqdn, zone: location.zone.name };
});

/** CheckDnsTxtRecordStep: is the value on every one of the zone's name servers yet? */
export const checkDnsTxtRecord = activity<TxtChallenge, TxtVisibility>(async ({ hostname, value }, { config, dnsZones }) => {
  const location = await locate(hostname, config, dnsZones);
  return txtOnNameServers(location.fqdn, value, location.zone.nameServers, config.dnsServers, config.dnsAuthoritativePort);
});

/** DeleteDnsTxtRecordStep: removes the value, and the record set with its last value (idempotent). */
export const deleteDnsTxtRecord = activity<TxtChallenge, void>(async ({ hostname, value }, { config, dnsZones }) => {
  await dnsZones.removeTxtValue(await locate(hostname, config, dnsZones), value);
});

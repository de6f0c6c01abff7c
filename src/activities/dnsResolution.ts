import { CertbotError } from '../domain/errors';
import { checkPointsAtGateway, DnsAnswer, resolveHostname } from '../dns/resolution';
import { wildcardProbeName } from '../domain/hostname';
import { activity } from './context';

export interface DnsCheckInput {
  hostname: string;
  gatewayIps: string[];
  /**
   * False for DNS-01, which proves the name through its zone: a name that does not point at the
   * gateway yet (before the cut-over) is fine, and the answer says whether it does.
   */
  mustPointAtGateway?: boolean;
}

export interface DnsCheckResult extends DnsAnswer {
  pointsAtGateway: boolean;
}

/** CheckDnsResolutionStep: the hostname resolves (A/AAAA, through CNAMEs) to the gateway only. */
export const checkDnsResolution = activity<DnsCheckInput, DnsCheckResult>(async ({ hostname, gatewayIps, mustPointAtGateway = true }, { config }) => {
  let answer: DnsAnswer;
  try {
    // A wildcard's records are those a name under it gets (a `*` record, or none).
    answer = await resolveHostname(wildcardProbeName(hostname), config.dnsServers);
  } catch (error) {
    if (!mustPointAtGateway) return { chain: [hostname], ipv4: [], ipv6: [], pointsAtGateway: false };
    throw new CertbotError(
      'HostnameNotResolvingToApplicationGateway',
      `DNS lookup of ${hostname} failed (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); check the zone's name servers.`,
      undefined,
      true,
    );
  }
  try {
    checkPointsAtGateway(hostname, answer, gatewayIps);
  } catch (error) {
    if (mustPointAtGateway) throw error;
    return { ...answer, pointsAtGateway: false };
  }
  return { ...answer, pointsAtGateway: true };
});

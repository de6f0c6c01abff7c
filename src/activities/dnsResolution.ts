import { CertbotError } from '../domain/errors';
import { checkPointsAtGateway, DnsAnswer, resolveHostname } from '../dns/resolution';
import { activity } from './context';

export interface DnsCheckInput {
  hostname: string;
  gatewayIps: string[];
}

/** CheckDnsResolutionStep: the hostname resolves (A/AAAA, through CNAMEs) to the gateway only. */
export const checkDnsResolution = activity<DnsCheckInput, DnsAnswer>(async ({ hostname, gatewayIps }, { config }) => {
  let answer: DnsAnswer;
  try {
    answer = await resolveHostname(hostname, config.dnsServers);
  } catch (error) {
    throw new CertbotError(
      'HostnameNotResolvingToApplicationGateway',
      `DNS lookup of ${hostname} failed (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); check the zone's name servers.`,
      undefined,
      true,
    );
  }
  checkPointsAtGateway(hostname, answer, gatewayIps);
  return answer;
});

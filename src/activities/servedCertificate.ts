import { fetchServedCertificate, sameSerial } from '../azure/servedCertificate';
import { DnsAnswer, resolveHostname, servedCheckAddresses } from '../dns/resolution';
import { wildcardProbeName } from '../domain/hostname';
import { activity } from './context';

export interface ExpectedCertificate {
  hostname: string;
  serialNumber: string;
}

export interface ServedCheck {
  hostname: string;
  /** Every frontend IP served the expected serial (or the check is switched off). */
  live: boolean;
  /** No frontend answered TLS at all (no alert either): a network problem rather than a stale certificate. */
  unreachable: boolean;
  /** What each frontend served, for the failure detail: "203.0.113.7 serial 0a1b" / "... ECONNREFUSED". */
  seen: string[];
}

export interface ServedChecks {
  checks: ServedCheck[];
  /** ServedCertificateRecheckSeconds, handed to the orchestrator, which must not read settings. */
  recheckSeconds: number[];
}

/**
 * Part of ConfigureApplicationGatewayStep: connects to the gateway's public IPs the hostname
 * resolves to (every frontend's when DNS names none; servedCheckAddresses) with the hostname as
 * SNI and compares the served serial with the certificate just bound. Read-only.
 */
export const checkServedCertificates = activity<{ gatewayIps: string[]; expected: ExpectedCertificate[] }, ServedChecks>(
  async ({ gatewayIps, expected }, { config }) => {
    const recheckSeconds = config.servedCertificateRecheckSeconds;
    if (!config.verifyServedCertificate) {
      return { recheckSeconds, checks: expected.map(({ hostname }) => ({ hostname, live: true, unreachable: false, seen: ['not checked (VerifyServedCertificate is false)'] })) };
    }
    const checks = await Promise.all(
      expected.map(async ({ hostname, serialNumber }) => {
        // A wildcard is asked for by a name it covers, as a browser would (no client sends `*` as SNI).
        const serverName = wildcardProbeName(hostname);
        const answer: DnsAnswer | undefined = await resolveHostname(serverName, config.dnsServers).catch(() => undefined);
        const addresses = servedCheckAddresses(answer, gatewayIps);
        const served = await Promise.all(addresses.map((ip) => fetchServedCertificate(ip, config.gatewayHttpsPort, serverName)));
        return {
          hostname,
          live: served.length > 0 && served.every((s) => 'serialNumber' in s && sameSerial(s.serialNumber, serialNumber)),
          // Unreachable only when no frontend answered TLS at all; one that refused this name with a
          // TLS alert is reachable and not serving it (a disabled listener).
          unreachable: served.every((s) => 'error' in s && !s.alert),
          seen: served.map((s) =>
            'serialNumber' in s ? `${s.address} serial ${s.serialNumber}` : `${s.address} ${s.error}${s.alert ? ' (the gateway refused TLS for this hostname: its listener may be disabled)' : ''}`,
          ),
        };
      }),
    );
    return { checks, recheckSeconds };
  },
);

import { Resolver } from 'node:dns/promises';
import { CertbotError } from '../domain/errors';

/**
 * Checks that a hostname reaches the gateway the way a CA will resolve it: A records (directly or
 * through a CNAME chain of any length) must all be gateway addresses, and so must any AAAA record,
 * because CAs try IPv6 first.
 */
export interface DnsAnswer {
  chain: string[];
  ipv4: string[];
  ipv6: string[];
}

const MAX_CNAME_HOPS = 16;
const NO_DATA = new Set(['ENODATA', 'ENOTFOUND', 'NXDOMAIN']);

export function resolverFor(servers: string[]): Resolver {
  const resolver = new Resolver({ timeout: 3000, tries: 2 });
  if (servers.length) resolver.setServers(servers);
  return resolver;
}

export async function orEmpty<T>(query: Promise<T[]>): Promise<T[]> {
  try {
    return await query;
  } catch (error) {
    if (NO_DATA.has((error as NodeJS.ErrnoException).code ?? '')) return [];
    throw error;
  }
}

/** The name and the CNAME targets it leads to, hop by hop (a loop ends the chain). */
export async function followCnames(name: string, servers: string[]): Promise<string[]> {
  const resolver = resolverFor(servers);
  const chain = [name];
  for (let hop = 0; hop < MAX_CNAME_HOPS; hop++) {
    const [target] = await orEmpty(resolver.resolveCname(chain[chain.length - 1]));
    if (!target) break;
    if (chain.includes(target)) break; // a CNAME loop resolves to nothing below
    chain.push(target);
  }
  return chain;
}

/** Follows CNAMEs hop by hop (so the chain can be reported), then reads A and AAAA at its end. */
export async function resolveHostname(hostname: string, servers: string[]): Promise<DnsAnswer> {
  const resolver = resolverFor(servers);
  const chain = await followCnames(hostname, servers);
  const end = chain[chain.length - 1];
  const [ipv4, ipv6] = await Promise.all([orEmpty(resolver.resolve4(end)), orEmpty(resolver.resolve6(end))]);
  return { chain, ipv4, ipv6 };
}

/**
 * One spelling per address, so addresses compare, not strings: an IPv6 address may be written with
 * leading zeros, upper case or uncompressed (RFC 4291 section 2.2), and RFC 5952 defines the
 * canonical text form, which the WHATWG URL parser produces for an IPv6 host. IPv4 is kept as is.
 */
export function canonicalIp(ip: string): string {
  if (!ip.includes(':')) return ip;
  try {
    return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  } catch {
    return ip.toLowerCase();
  }
}

/**
 * Every A and AAAA record must be an address of the gateway's frontends. A dual-stack gateway
 * (IPv4 and IPv6 public frontends) needs no AAAA record: the gateway's addresses are what the
 * records may point at, not what they must all cover.
 */
export function checkPointsAtGateway(hostname: string, answer: DnsAnswer, gatewayIps: string[]): void {
  const via = answer.chain.length > 1 ? ` (via ${answer.chain.slice(1).join(' -> ')})` : '';
  const addresses = [...answer.ipv4, ...answer.ipv6];
  if (addresses.length === 0) {
    throw new CertbotError(
      'HostnameNotResolvingToApplicationGateway',
      `${hostname}${via} has no A or AAAA record; it must resolve to ${gatewayIps.join(', ')}.`,
    );
  }
  const gateway = new Set(gatewayIps.map(canonicalIp));
  const wrong = addresses.filter((ip) => !gateway.has(canonicalIp(ip)));
  if (wrong.length > 0) {
    throw new CertbotError(
      'HostnameNotResolvingToApplicationGateway',
      `${hostname}${via} resolves to ${wrong.join(', ')}, not to the gateway's HTTPS frontend (${gatewayIps.join(', ')}). On a dual-stack gateway the app binds one frontend (the first public one); remove records naming the other.`,
    );
  }
}

/**
 * The gateway addresses the served-certificate check connects to for a hostname: those its A and
 * AAAA records name (what clients and the CA reach), or every frontend's when DNS names none of
 * them (or was not read). The app binds its HTTPS listener on one public frontend
 * (planHttpsBindings), so a dual-stack gateway's other frontend, which the hostname does not resolve
 * to, proves nothing, and may not be reachable from the app at all (an IPv6 frontend from an
 * IPv4-only network).
 */
export function servedCheckAddresses(answer: DnsAnswer | undefined, gatewayIps: string[]): string[] {
  const resolved = new Set([...(answer?.ipv4 ?? []), ...(answer?.ipv6 ?? [])].map(canonicalIp));
  const named = gatewayIps.filter((ip) => resolved.has(canonicalIp(ip)));
  return named.length > 0 ? named : gatewayIps;
}

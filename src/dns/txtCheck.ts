import { Resolver } from 'node:dns/promises';
import { orEmpty, resolverFor } from './resolution';

/**
 * Is the TXT value on every one of the zone's name servers? Asked of the name servers themselves,
 * not a recursive resolver (whose cache may hold the answer from before the write for the TTL):
 * the CA may ask any of them, and Azure DNS takes up to a minute to reach all of them (Learn,
 * Azure DNS FAQ). The name servers' addresses come from the configured resolvers.
 */
export interface TxtVisibility {
  visible: boolean;
  /** The name servers that do not answer the value yet (or could not be asked). */
  missingOn: string[];
}

export async function txtOnNameServers(fqdn: string, value: string, nameServers: string[], servers: string[], port: number): Promise<TxtVisibility> {
  const lookup = resolverFor(servers);
  const missingOn: string[] = [];
  await Promise.all(
    nameServers.map(async (nameServer) => {
      try {
        const [address] = await orEmpty(lookup.resolve4(nameServer.replace(/\.$/, '')));
        if (!address) return void missingOn.push(nameServer);
        const authoritative = new Resolver({ timeout: 3000, tries: 1 });
        authoritative.setServers([`${address}:${port}`]);
        const records = await orEmpty(authoritative.resolveTxt(fqdn));
        if (!records.some((chunks) => chunks.join('') === value)) missingOn.push(nameServer);
      } catch {
        missingOn.push(nameServer);
      }
    }),
  );
  return { visible: nameServers.length > 0 && missingOn.length === 0, missingOn: missingOn.sort() };
}

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
      // Why each one is missing, for the failure detail: the fixes differ (egress, resolvers, propagation).
      let address: string | undefined;
      try {
        [address] = await orEmpty(lookup.resolve4(nameServer.replace(/\.$/, '')));
      } catch (error) {
        return void missingOn.push(`${nameServer} (its address could not be resolved: ${(error as NodeJS.ErrnoException).code ?? 'error'})`);
      }
      if (!address) return void missingOn.push(`${nameServer} (no address)`);
      try {
        const authoritative = new Resolver({ timeout: 3000, tries: 1 });
        authoritative.setServers([`${address}:${port}`]);
        const records = await orEmpty(authoritative.resolveTxt(fqdn));
        if (!records.some((chunks) => chunks.join('') === value)) missingOn.push(`${nameServer} (answers without the value yet)`);
      } catch (error) {
        missingOn.push(`${nameServer} (no answer from ${address}:${port}: ${(error as NodeJS.ErrnoException).code ?? 'error'})`);
      }
    }),
  );
  return { visible: nameServers.length > 0 && missingOn.length === 0, missingOn: missingOn.sort() };
}

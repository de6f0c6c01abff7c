import { Resolver } from 'node:dns/promises';
import type { CaaLookup, CaaRecord } from '../domain/caa';

/**
 * The CAA records of one name through a resolver (CNAMEs followed by the resolver, as in any
 * lookup: RFC 8659 section 3). "No records" (NODATA, NXDOMAIN) is [], so the caller climbs to the
 * parent; anything else (SERVFAIL, refused, timeout) is an error, never read as "no CAA".
 */
const NO_RECORDS = new Set(['ENODATA', 'ENOTFOUND', 'NXDOMAIN']);

/** Node's answer: `critical` and one property named by the tag (`issue`, `issuewild`, `iodef`, or any other). */
type NodeCaaRecord = { critical: number } & Record<string, string | number>;

export function toCaaRecord(answer: NodeCaaRecord): CaaRecord | undefined {
  const tag = Object.keys(answer).find((key) => key !== 'critical');
  if (!tag) return undefined;
  return { flags: answer.critical, tag, value: String(answer[tag]) };
}

export function caaLookup(servers: string[]): CaaLookup {
  const resolver = new Resolver({ timeout: 3000, tries: 2 });
  if (servers.length) resolver.setServers(servers);
  return async (name) => {
    try {
      const answers = (await resolver.resolveCaa(name)) as unknown as NodeCaaRecord[]; // Reason: Node's CaaRecord type names only the known tags.
      return answers.map(toCaaRecord).filter((record): record is CaaRecord => record !== undefined);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      if (NO_RECORDS.has(code)) return [];
      return { error: code };
    }
  };
}

import type { CaaLookup, CaaRecord } from '../domain/caa';
import { resolverFor } from './resolution';

/**
 * The CAA records of one name (RFC 8659 section 3: "CNAMEs followed"). "No records" (NODATA,
 * NXDOMAIN) is [], so the caller climbs to the parent; anything else (SERVFAIL, refused, timeout)
 * is an error, never read as "no CAA". A recursive resolver follows CNAMEs itself; the chain is
 * also followed here when a name answers nothing, so a resolver (or forwarder) that stops after
 * one hop cannot hide a record further down it.
 */
const NO_RECORDS = new Set(['ENODATA', 'ENOTFOUND', 'NXDOMAIN']);
const MAX_CNAME_HOPS = 8;

/** Node's answer: `critical` and one property named by the tag (`issue`, `issuewild`, `iodef`, or any other). */
type NodeCaaRecord = { critical: number } & Record<string, string | number>;

/** What the lookup needs of a resolver (node:dns/promises Resolver). */
export interface CaaResolver {
  resolveCaa(name: string): Promise<unknown[]>;
  resolveCname(name: string): Promise<string[]>;
}

export function toCaaRecord(answer: NodeCaaRecord): CaaRecord | undefined {
  const tag = Object.keys(answer).find((key) => key !== 'critical');
  if (!tag) return undefined;
  return { flags: answer.critical, tag, value: String(answer[tag]) };
}

const codeOf = (error: unknown): string => (error as NodeJS.ErrnoException).code ?? (error as Error).message;

export function caaLookup(servers: string[], resolver: CaaResolver = resolverFor(servers)): CaaLookup {
  return async (name) => {
    const seen = new Set<string>();
    let current = name;
    for (let hop = 0; hop <= MAX_CNAME_HOPS && !seen.has(current); hop++) {
      seen.add(current);
      let answers: NodeCaaRecord[];
      try {
        answers = (await resolver.resolveCaa(current)) as NodeCaaRecord[]; // Reason: Node's CaaRecord type names only the known tags.
      } catch (error) {
        if (!NO_RECORDS.has(codeOf(error))) return { error: codeOf(error) };
        answers = [];
      }
      if (answers.length > 0) return answers.map(toCaaRecord).filter((record): record is CaaRecord => record !== undefined);
      let target: string | undefined;
      try {
        [target] = await resolver.resolveCname(current);
      } catch (error) {
        if (!NO_RECORDS.has(codeOf(error))) return { error: codeOf(error) };
      }
      if (!target) return [];
      current = target.toLowerCase().replace(/\.$/, '');
    }
    return []; // a CNAME loop, or a chain longer than any resolver follows: no records at its end
  };
}

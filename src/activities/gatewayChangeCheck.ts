import { certificateNameFor, KeyVaultAdapter, versionedSecretId } from '../azure/keyVault';
import type { HostnameClaims } from '../azure/hostnameClaims';
import type { CertbotConfig } from '../domain/config';
import { normaliseHostname } from '../domain/hostname';

/**
 * The gateway writer's inbox can be written by anyone holding the storage account's keys, so
 * before a write every request is held against what this app itself would ask for: it comes from
 * the operation that holds each of its hostnames (the claim, src/azure/hostnameClaims.ts); a
 * binding names the certificate this app derives for the hostname, managed in this app's vault,
 * and exactly the secret id of that certificate's current version; a removal names a hostname this
 * app manages. Anything else is refused, logged and never applied.
 */
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function canonical(hostname: unknown): string | undefined {
  const verdict = normaliseHostname(hostname, { wildcard: true });
  return verdict.ok && verdict.hostname === hostname ? verdict.hostname : undefined;
}

export interface ChangeCheckServices {
  config: CertbotConfig;
  keyVault: KeyVaultAdapter;
  claims: HostnameClaims;
}

/** Why the request must not be applied, or undefined when it is one this app would make. */
export async function refusalOf(request: unknown, { config, keyVault, claims }: ChangeCheckServices): Promise<string | undefined> {
  if (!isObject(request) || typeof request.replyTo !== 'string' || typeof request.requestId !== 'string' || !Array.isArray(request.bindings)) return 'not a change request';
  const { bindings, removals = [], replyTo } = request;
  if (!Array.isArray(removals)) return 'removals is not a list';
  const heldByRequester = async (hostname: string): Promise<boolean> => (await claims.holderOf(hostname)) === replyTo;
  for (const binding of bindings as unknown[]) {
    if (!isObject(binding)) return 'a binding is not an object';
    const hostname = canonical(binding.hostname);
    if (!hostname) return `binding hostname ${JSON.stringify(binding.hostname)} is not a canonical hostname`;
    const name = certificateNameFor(hostname);
    if (binding.name !== name) return `binding for ${hostname} names ${JSON.stringify(binding.name)}, not ${name}`;
    if (!(await heldByRequester(hostname))) return `binding for ${hostname} from ${replyTo}, which does not hold that hostname`;
    const managed = await keyVault.findManaged(hostname);
    if (!managed) return `binding for ${hostname}, whose certificate this app does not hold in Key Vault`;
    const current = versionedSecretId(config.keyVaultBaseUrl, name, managed.version);
    if (binding.keyVaultSecretId !== current) return `binding for ${hostname} names a secret other than the current version ${current}`;
    // A certificate for several names puts all of them on one listener: exactly the certificate's names, each held by the requester.
    if (binding.hostnames !== undefined) {
      const listed = Array.isArray(binding.hostnames) ? binding.hostnames.map(canonical) : [undefined];
      if (listed.some((n) => !n) || listed[0] !== hostname) return `binding for ${hostname} lists hostnames ${JSON.stringify(binding.hostnames)} that are not canonical names starting with ${hostname}`;
      const names = listed as string[];
      if (new Set(names).size !== names.length || names.length !== managed.names.length || !names.every((n) => managed.names.includes(n))) return `binding for ${hostname} lists ${names.join(', ')}, not the certificate's names (${managed.names.join(', ')})`;
      for (const other of names.slice(1)) if (!(await heldByRequester(other))) return `binding for ${hostname} from ${replyTo}, which does not hold ${other}`;
    }
  }
  for (const removal of removals as unknown[]) {
    if (!isObject(removal)) return 'a removal is not an object';
    const hostname = canonical(removal.hostname);
    if (!hostname) return `removal hostname ${JSON.stringify(removal.hostname)} is not a canonical hostname`;
    if (removal.name !== certificateNameFor(hostname)) return `removal for ${hostname} names ${JSON.stringify(removal.name)}, not ${certificateNameFor(hostname)}`;
    if (!(await heldByRequester(hostname))) return `removal for ${hostname} from ${replyTo}, which does not hold that hostname`;
    if (!(await keyVault.findRecord(hostname))) return `removal for ${hostname}, which this app does not manage`;
  }
  return undefined;
}

import { certificateNameFor, versionlessSecretId } from '../azure/keyVault';
import { normaliseHostname } from '../domain/hostname';
import type { GatewayChangeRequest } from '../orchestrators/gatewayWriter';
import { activity } from './context';

/**
 * The gateway writer is fed by events, and whoever holds a check-status link (it carries the key
 * that raises events) can raise one. So before a write, every request is held against what this
 * app itself would ask for: it comes from the operation that holds each of its hostnames (the
 * claim, src/azure/hostnameClaims.ts); a binding names the certificate this app derives for the
 * hostname, managed in this app's vault, and exactly that certificate's versionless secret id; a
 * removal names a hostname this app manages. Anything else is refused, logged and never applied.
 */
export interface ChangeVerdicts {
  accepted: number[];
  refused: { index: number; reason: string }[];
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function canonical(hostname: unknown): string | undefined {
  const verdict = normaliseHostname(hostname);
  return verdict.ok && verdict.hostname === hostname ? verdict.hostname : undefined;
}

export const checkGatewayChanges = activity<unknown[], ChangeVerdicts>(async (requests, { config, keyVault, claims }, context) => {
  const verdicts: ChangeVerdicts = { accepted: [], refused: [] };
  const ownSecret = (name: string): string => versionlessSecretId(config.keyVaultBaseUrl, name);
  for (const [index, request] of (Array.isArray(requests) ? requests : []).entries()) {
    const reason = await refusal(request);
    if (reason) {
      verdicts.refused.push({ index, reason });
      context.warn(`Gateway writer refused a change request: ${reason}`);
    } else {
      verdicts.accepted.push(index);
    }
  }
  return verdicts;

  async function refusal(request: unknown): Promise<string | undefined> {
    if (!isObject(request) || typeof request.replyTo !== 'string' || !Array.isArray(request.bindings)) return 'not a change request';
    const { bindings, removals = [], replyTo } = request as unknown as GatewayChangeRequest;
    if (!Array.isArray(removals)) return 'removals is not a list';
    const heldByRequester = async (hostname: string): Promise<boolean> => (await claims.holderOf(hostname)) === replyTo;
    for (const binding of bindings as unknown[]) {
      if (!isObject(binding)) return 'a binding is not an object';
      const hostname = canonical(binding.hostname);
      if (!hostname) return `binding hostname ${JSON.stringify(binding.hostname)} is not a canonical hostname`;
      const name = certificateNameFor(hostname);
      if (binding.name !== name) return `binding for ${hostname} names ${JSON.stringify(binding.name)}, not ${name}`;
      if (binding.keyVaultSecretId !== ownSecret(name)) return `binding for ${hostname} names a secret other than ${ownSecret(name)}`;
      if (!(await heldByRequester(hostname))) return `binding for ${hostname} from ${replyTo}, which does not hold that hostname`;
      if (!(await keyVault.findManaged(hostname))) return `binding for ${hostname}, whose certificate this app does not hold in Key Vault`;
    }
    for (const removal of removals as unknown[]) {
      if (!isObject(removal)) return 'a removal is not an object';
      const hostname = canonical(removal.hostname);
      if (!hostname) return `removal hostname ${JSON.stringify(removal.hostname)} is not a canonical hostname`;
      if (removal.name !== certificateNameFor(hostname)) return `removal for ${hostname} names ${JSON.stringify(removal.name)}, not ${certificateNameFor(hostname)}`;
      if (!(await heldByRequester(hostname))) return `removal for ${hostname} from ${replyTo}, which does not hold that hostname`;
      if (!(await keyVault.findManaged(hostname))) return `removal for ${hostname}, which this app does not manage`;
    }
    return undefined;
  }
});

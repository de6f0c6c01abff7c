import type { OrchestrationContext } from 'durable-functions';
import type { ExpectedCertificate, ServedCheck, ServedChecks } from '../activities/servedCertificate';
import type { ErrorCode } from '../domain/errors';
import { HttpsBinding, namesOf } from '../domain/gatewayPlan';
import { Activities } from '../functions/names';
import { applyGatewayChangeOrFail } from './gatewayWriter';
import { callStep, Step, wait } from './steps';

/**
 * The end of ConfigureApplicationGatewayStep: confirm the gateway serves the certificate just
 * bound (its versioned secret id, so a renewal is a changed keyVaultSecretId, which the gateway
 * fetches at once under either documented refresh rule). Where it still serves another, write the
 * binding again (under the 2022 overview's rule any update re-reads Key Vault:
 * https://learn.microsoft.com/azure/application-gateway/key-vault-certs#how-integration-works;
 * under the stricter one it does nothing and the recheck tells), and check again after each pause
 * of ServedCertificateRecheckSeconds (default 0, 60, 300 s).
 */
export interface LiveTarget {
  binding: HttpsBinding;
  serialNumber: string;
}

export interface NotLive {
  hostname: string;
  code: Extract<ErrorCode, 'CertificateNotServedByGateway' | 'GatewayHttpsUnreachable'>;
  detail: string;
}

export function* confirmServed(context: OrchestrationContext, targets: LiveTarget[], knownGatewayIps?: string[]): Step<NotLive[]> {
  if (targets.length === 0) return [];
  const gatewayIps = knownGatewayIps ?? (yield* callStep<string[]>(context, Activities.GetGatewayPublicIps));
  let pending = targets;
  let failed: ServedCheck[] = [];
  let refreshes = 0;
  // Each name of a certificate is checked (its own SNI); a failure is reported for the certificate's first name.
  const ownerOf = (name: string): string => targets.find((t) => namesOf(t.binding).includes(name))?.binding.hostname ?? name;
  const failedFor = (target: LiveTarget): ServedCheck[] => failed.filter((c) => namesOf(target.binding).includes(c.hostname));
  for (let round = 0; ; round++) {
    const expected: ExpectedCertificate[] = pending.flatMap((t) => namesOf(t.binding).map((hostname) => ({ hostname, serialNumber: t.serialNumber })));
    const { checks, recheckSeconds } = yield* callStep<ServedChecks>(context, Activities.CheckServedCertificates, { gatewayIps, expected });
    failed = checks.filter((c) => !c.live);
    pending = pending.filter((t) => failedFor(t).length > 0);
    if (pending.length === 0 || round >= recheckSeconds.length) break;
    // A refresh cannot help a gateway the app cannot reach: those are only checked again.
    const stale = pending.filter((t) => !failedFor(t).every((c) => c.unreachable));
    if (stale.length > 0) {
      yield* applyGatewayChangeOrFail(context, stale.map((t) => ({ ...t.binding, refresh: true })));
      refreshes += 1;
    }
    if (recheckSeconds[round] > 0) yield* wait(context, recheckSeconds[round]);
  }
  const byOwner = new Map<string, ServedCheck[]>();
  for (const check of failed) byOwner.set(ownerOf(check.hostname), [...(byOwner.get(ownerOf(check.hostname)) ?? []), check]);
  return [...byOwner].map(([hostname, checks]) => ({
    hostname,
    code: checks.every((c) => c.unreachable) ? 'GatewayHttpsUnreachable' : 'CertificateNotServedByGateway',
    detail: checks.map((c) => `${c.hostname} after ${refreshes} refresh(es) of the gateway: ${c.seen.join('; ')}`).join(' | '),
  }));
}

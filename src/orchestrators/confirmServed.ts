import type { OrchestrationContext } from 'durable-functions';
import type { ExpectedCertificate, ServedCheck, ServedChecks } from '../activities/servedCertificate';
import type { ErrorCode } from '../domain/errors';
import type { HttpsBinding } from '../domain/gatewayPlan';
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
  for (let round = 0; ; round++) {
    const expected: ExpectedCertificate[] = pending.map((t) => ({ hostname: t.binding.hostname, serialNumber: t.serialNumber }));
    const { checks, recheckSeconds } = yield* callStep<ServedChecks>(context, Activities.CheckServedCertificates, { gatewayIps, expected });
    failed = checks.filter((c) => !c.live);
    pending = pending.filter((t) => failed.some((c) => c.hostname === t.binding.hostname));
    if (pending.length === 0 || round >= recheckSeconds.length) break;
    // A refresh cannot help a gateway the app cannot reach: those are only checked again.
    const stale = pending.filter((t) => !failed.find((c) => c.hostname === t.binding.hostname)?.unreachable);
    if (stale.length > 0) {
      yield* applyGatewayChangeOrFail(context, stale.map((t) => ({ ...t.binding, refresh: true })));
      refreshes += 1;
    }
    if (recheckSeconds[round] > 0) yield* wait(context, recheckSeconds[round]);
  }
  return failed.map((c) => ({
    hostname: c.hostname,
    code: c.unreachable ? 'GatewayHttpsUnreachable' : 'CertificateNotServedByGateway',
    detail: `${c.hostname} after ${refreshes} refresh(es) of the gateway: ${c.seen.join('; ')}`,
  }));
}

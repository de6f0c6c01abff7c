import type { OrchestrationContext } from 'durable-functions';
import type { IssuedCertificate } from '../azure/keyVault';
import type { CertificateFacts } from '../domain/notification';
import { stepStatus } from '../domain/customStatus';
import { StepStatus } from '../domain/status';
import { Activities } from '../functions/names';
import { confirmServed, LiveTarget } from './confirmServed';
import { applyGatewayChangeOrFail } from './gatewayWriter';
import { callStep, claimOrFail, failOrchestration, notifySuccess, releaseClaims, Step, StepFailure } from './steps';

/**
 * AddCertificateWithPrivateKeyFunctions: the certificates are already in Key Vault (the starter
 * put them there); this binds them to the gateway. Its input holds names only, never key material.
 */
export interface ImportInput {
  certificates: { hostname: string; certificateName: string }[];
}

export function* importCertificateOrchestrator(context: OrchestrationContext): Step<null> {
  const { certificates } = context.df.getInput<ImportInput>();
  let step: StepStatus = 'ImportCertificateStep';
  const report = (status: StepStatus): void => {
    step = status;
    context.df.setCustomStatus(stepStatus(status));
  };
  try {
    report('ImportCertificateStep');
    yield* claimOrFail(context, certificates.map((c) => c.hostname));
    const targets: LiveTarget[] = [];
    const bound: CertificateFacts[] = [];
    for (const { hostname, certificateName } of certificates) {
      const current = yield* callStep<IssuedCertificate>(context, Activities.GetCertificate, { certificateName });
      targets.push({ binding: { hostname, name: current.name, keyVaultSecretId: current.secretId, refresh: true }, serialNumber: current.serialNumber });
      bound.push({ hostname, certificateName: current.name, notAfter: current.notAfter, challengeType: 'import' });
    }
    report('ConfigureApplicationGatewayStep');
    yield* applyGatewayChangeOrFail(context, targets.map((t) => t.binding));
    const notLive = yield* confirmServed(context, targets);
    if (notLive.length > 0) {
      const code = notLive.every((n) => n.code === 'GatewayHttpsUnreachable') ? 'GatewayHttpsUnreachable' : 'CertificateNotServedByGateway';
      throw new StepFailure({ code, detail: notLive.map((n) => n.detail).join(' | ') });
    }
    yield* releaseClaims(context, certificates.map((c) => c.hostname));
    yield* notifySuccess(context, { instanceId: context.df.instanceId, certificates: bound });
    report('Completed');
    return null;
  } catch (error) {
    yield* releaseClaims(context, certificates.map((c) => c.hostname));
    return yield* failOrchestration(context, error, { failedStep: step, hostnames: certificates.map((c) => c.hostname) });
  }
}

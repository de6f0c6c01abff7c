import type { OrchestrationContext } from 'durable-functions';
import type { Removal } from '../azure/keyVault';
import { stepStatus } from '../domain/customStatus';
import { Activities } from '../functions/names';
import { applyGatewayChangeOrFail } from './gatewayWriter';
import { callStep, claimOrFail, failOrchestration, releaseClaims, Step } from './steps';

/**
 * RemoveCertificateFunctions: takes the hostname off the gateway (listener, rules, SSL
 * certificate, through the one gateway writer), then deletes the certificate from Key Vault.
 */
export interface RemovalInput {
  hostname: string;
  certificateName: string;
  purge: boolean;
  /** Every name of a certificate for several names (held while it is removed), `hostname` first. */
  names?: string[];
}

/** The output: whether the certificate was purged, and why not where a purge was asked and refused. */
export interface RemovalOutput extends Removal {
  hostname: string;
}

export function* removeCertificateOrchestrator(context: OrchestrationContext): Step<RemovalOutput> {
  const { hostname, certificateName, purge, names = [hostname] } = context.df.getInput<RemovalInput>();
  let step: 'ConfigureApplicationGatewayStep' | 'CreateCertificateStep' = 'ConfigureApplicationGatewayStep';
  try {
    context.df.setCustomStatus(stepStatus('ConfigureApplicationGatewayStep'));
    yield* claimOrFail(context, names);
    yield* applyGatewayChangeOrFail(context, [], [{ hostname, name: certificateName }]);
    step = 'CreateCertificateStep';
    const removal = yield* callStep<Removal>(context, Activities.DeleteCertificate, { certificateName, purge });
    yield* releaseClaims(context, names);
    context.df.setCustomStatus(stepStatus('Completed'));
    return { hostname, ...removal };
  } catch (error) {
    yield* releaseClaims(context, names);
    return yield* failOrchestration(context, error, { failedStep: step, hostname });
  }
}

import type { OrchestrationContext } from 'durable-functions';
import type { Revocation, RevocationRequest } from '../activities/revocation';
import type { ChallengeType } from '../domain/config';
import { stepStatus } from '../domain/customStatus';
import { instanceIdFor } from '../domain/requests';
import { replacesCertificate, RevocationReason } from '../domain/revocation';
import type { StepStatus } from '../domain/status';
import { decodeFailure } from '../domain/stepError';
import { Activities, Orchestrators } from '../functions/names';
import { bindAndConfirm, DeferredIssuance, IssuanceResult } from './addCertificate';
import { callStep, claimOrFail, failOrchestration, notifySuccess, releaseClaims, Step, StepFailure } from './steps';

/**
 * RevokeCertificateFunctions: revoke a hostname's current ACME certificate (one version) with the
 * CA through the account key, record it on that version, and where the reason says the
 * certificate must be replaced (keyCompromise, superseded: src/domain/revocation.ts) issue a new
 * one with a new key and bind it, as renew-now does: AddCertificateFunctions runs as a deferred
 * sub-orchestration (the batch's way: it holds no claim of its own, this run holds the names), and
 * its binding goes through the same ConfigureApplicationGatewayStep (`bindAndConfirm`).
 * Revocation comes first: a compromised key must not stay trusted while a replacement is issued.
 */
export interface RevocationInput {
  hostname: string;
  certificateName: string;
  /** The issued version revoked: the current one when the request came. */
  version: string;
  reason: RevocationReason;
  /** Every name of the certificate (all held), `hostname` first; absent = the hostname alone. */
  names?: string[];
  /** How the replacement is proven (as the certificate was first proven); absent = http-01. */
  challengeType?: ChallengeType;
  /** The ACME profile the replacement is ordered under (the certificate's, else AcmeProfile); absent: none sent. */
  profile?: string;
}

export interface RevocationOutput {
  hostname: string;
  revoked: Revocation;
  /** The new certificate, bound to the gateway (keyCompromise, superseded); null for the other reasons. */
  replacement: { version: string; serialNumber: string; notAfter: string } | null;
}

export function* revokeCertificateOrchestrator(context: OrchestrationContext): Step<RevocationOutput> {
  const { hostname, certificateName, version, reason, names = [hostname], challengeType = 'http-01', profile } = context.df.getInput<RevocationInput>();
  let step: StepStatus = 'RevokeCertificateStep';
  const report = (status: StepStatus): void => {
    step = status;
    context.df.setCustomStatus(stepStatus(status));
  };
  let revoked: Revocation | undefined;
  try {
    report('RevokeCertificateStep');
    yield* claimOrFail(context, names);
    const request: RevocationRequest = { certificateName, version, reason, at: context.df.currentUtcDateTime.toISOString() };
    revoked = yield* callStep<Revocation>(context, Activities.RevokeCertificate, request);

    let replacement: RevocationOutput['replacement'] = null;
    if (replacesCertificate(reason)) {
      // The issuance reports its own steps under its own instance id; this run shows the step it waits in.
      report('CreateCertificateStep');
      const issued = yield* issueReplacement(context, { hostname, deferGatewayConfiguration: true, ...(challengeType === 'dns-01' ? { challengeType } : {}), ...(names.length > 1 ? { additionalNames: names.slice(1) } : {}), ...(profile === undefined ? {} : { profile }) });
      report('ConfigureApplicationGatewayStep');
      yield* bindAndConfirm(context, issued.binding, issued.serialNumber);
      const newVersion = issued.binding.keyVaultSecretId.split('/').pop() ?? '';
      replacement = { version: newVersion, serialNumber: issued.serialNumber, notAfter: issued.notAfter };
      yield* notifySuccess(context, {
        instanceId: context.df.instanceId,
        renewal: true,
        certificates: [{ hostname, ...(names.length > 1 ? { names } : {}), certificateName, notAfter: issued.notAfter, challengeType }],
      });
    }
    yield* releaseClaims(context, names);
    report('Completed');
    return { hostname, revoked, replacement };
  } catch (error) {
    yield* releaseClaims(context, names);
    // Revoked but not replaced: the gateway still serves the revoked certificate, which the detail says.
    const failure = revoked && error instanceof StepFailure
      ? new StepFailure({ ...error.info, detail: `Certificate ${revoked.serialNumber} was revoked (${reason}), but its replacement failed, so the gateway still serves the revoked one: ${error.info.detail} Fix that, then renew now (POST /api/certificates/${hostname}/renew).` })
      : error;
    return yield* failOrchestration(context, failure, { failedStep: step, hostname });
  }
}

/** The replacement, issued by AddCertificateFunctions (deferred) under the hostname's own instance id. */
function* issueReplacement(context: OrchestrationContext, input: DeferredIssuance): Step<IssuanceResult> {
  try {
    return (yield context.df.callSubOrchestrator(Orchestrators.AddCertificate, input, instanceIdFor(input.hostname))) as IssuanceResult;
  } catch (error) {
    const record = decodeFailure(error);
    throw new StepFailure({ code: record?.code ?? 'InternalError', detail: record?.detail ?? 'The replacement failed without a typed error; see the function app logs.' });
  }
}

import { createHash } from 'node:crypto';
import type { OrchestrationContext } from 'durable-functions';
import type { Http01Snapshot, OrderSnapshot } from '../acme/session';
import { problemError } from '../acme/problems';
import type { IssuedCertificate } from '../azure/keyVault';
import { stepStatus } from '../domain/customStatus';
import { CertbotError } from '../domain/errors';
import type { RefusedBinding } from '../domain/gatewayChange';
import type { HttpsBinding } from '../domain/gatewayPlan';
import { StepStatus } from '../domain/status';
import { Activities } from '../functions/names';
import { confirmServed } from './confirmServed';
import { applyGatewayChangeOrFail } from './gatewayWriter';
import { backoffSeconds, Backoff, callStep, claimOrFail, failOrchestration, releaseClaims, Step, StepFailure, ValidationPolling, wait } from './steps';

/**
 * AddCertificateFunctions: issue an ACME certificate for one hostname over HTTP-01 and bind it to
 * the gateway. Reads like the contract's step list; each step is one activity.
 */
/** Run by the multiple-hostname orchestration: issue only; it writes the gateway once for all. */
export interface DeferredIssuance {
  hostname: string;
  deferGatewayConfiguration: true;
}

/**
 * What the renewal timer started before renewal runs (one AddMultipleCertificates run per tick):
 * still read, so that instances in flight across an upgrade finish as they began.
 */
export interface ScheduledRenewal {
  hostname: string;
  startDelaySeconds: number;
}

export interface IssuanceResult {
  hostname: string;
  binding: HttpsBinding;
  serialNumber: string;
  notAfter: string;
}

export function* addCertificateOrchestrator(context: OrchestrationContext): Step<IssuanceResult | null> {
  // The contract's input is the hostname itself; sub-orchestrations pass an object.
  const input = context.df.getInput<string | DeferredIssuance | ScheduledRenewal>();
  const hostname = typeof input === 'string' ? input : input.hostname;
  const deferred = typeof input !== 'string' && 'deferGatewayConfiguration' in input;
  if (typeof input !== 'string' && 'startDelaySeconds' in input && input.startDelaySeconds > 0) {
    yield* wait(context, input.startDelaySeconds);
  }
  let step: StepStatus = 'GetApplicationGatewayPublicIpStep';
  const report = (status: StepStatus): void => {
    step = status;
    context.df.setCustomStatus(stepStatus(status));
  };
  let pendingToken: string | undefined;
  // The Key Vault create this run made and has not merged yet (deleted if the run fails).
  let pendingCreate: { certificateName: string; run: string } | undefined;

  try {
    // The first contract step shows from the start; holding the hostname is part of it.
    report('GetApplicationGatewayPublicIpStep');
    if (!deferred) yield* claimOrFail(context, [hostname]);
    const gatewayIps = yield* callStep<string[]>(context, Activities.GetGatewayPublicIps);
    // Room on the gateway is counted before the CA is asked (a batch counts for all its hostnames).
    if (!deferred) {
      const [noRoom] = yield* callStep<RefusedBinding[]>(context, Activities.CheckGatewayCapacity, { hostnames: [hostname] });
      if (noRoom) throw new StepFailure({ code: noRoom.code, detail: noRoom.detail });
    }

    report('CheckDnsResolutionStep');
    yield* callStep(context, Activities.CheckDnsResolution, { hostname, gatewayIps });

    report('CheckCaaRecordsStep');
    yield* callStep(context, Activities.CheckCaaRecords, { hostname, validationMethod: 'http-01' });

    report('GetAcmeOrderStep');
    let order = yield* callStep<OrderSnapshot>(context, Activities.CreateAcmeOrder, { hostname });

    if (order.status === 'pending') {
      report('GetAcmeHttp01ChallengeStep');
      const authorizationUrl = order.authorizations[0];
      const challenge = yield* callStep<Http01Snapshot>(context, Activities.GetHttp01Challenge, { authorizationUrl });

      if (challenge.authorizationStatus === 'pending') {
        report('UploadValidationFileToBlobStorageStep');
        pendingToken = challenge.token;
        yield* callStep(context, Activities.UploadValidationFile, {
          hostname,
          token: challenge.token,
          keyAuthorization: challenge.keyAuthorization,
        });

        report('AnswerAcmeHttp01ChallengeStep');
        yield* callStep(context, Activities.AnswerHttp01Challenge, { challengeUrl: challenge.challengeUrl });
      }

      report('CheckAcmeOrderStep');
      yield* awaitAuthorization(context, authorizationUrl);
    }

    report('CreateCertificateStep');
    // Marks this run's create in Key Vault, so that a retry reuses it and a later run replaces it.
    // Not newGuid: that moves the context's guid counter, which would change the request ids of
    // instances replaying across this upgrade (their gateway requests would never be answered).
    const run = runTag(context);
    const { certificateName, csrPem } = yield* callStep<{ certificateName: string; csrPem: string }>(
      context,
      Activities.CreateCertificateSigningRequest,
      { hostname, run },
    );
    pendingCreate = { certificateName, run };
    if (order.status === 'pending' || order.status === 'ready') {
      order = yield* callStep<OrderSnapshot>(context, Activities.FinalizeAcmeOrder, { order, csrPem });
    }
    order = yield* awaitOrder(context, order);
    const issued = yield* callStep<IssuedCertificate>(context, Activities.MergeIssuedCertificate, {
      order,
      certificateName,
    });
    pendingCreate = undefined;

    if (pendingToken) {
      report('DeleteValidationFileFromBlobStorageStep');
      yield* callStep(context, Activities.DeleteValidationFile, { token: pendingToken });
      pendingToken = undefined;
    }

    const binding: HttpsBinding = { hostname, name: issued.name, keyVaultSecretId: issued.secretId, refresh: true };
    if (deferred) {
      report('Completed');
      return { hostname, binding, serialNumber: issued.serialNumber, notAfter: issued.notAfter };
    }
    report('ConfigureApplicationGatewayStep');
    yield* applyGatewayChangeOrFail(context, [binding]);
    const [notLive] = yield* confirmServed(context, [{ binding, serialNumber: issued.serialNumber }], gatewayIps);
    if (notLive) throw new StepFailure({ code: notLive.code, detail: notLive.detail });

    yield* releaseClaims(context, [hostname]);
    report('Completed');
    return null;
  } catch (error) {
    if (pendingToken) yield* deleteQuietly(context, pendingToken);
    if (pendingCreate) yield* quietly(context, Activities.DiscardPendingCertificate, pendingCreate);
    // Inside a batch the batch holds the hostname, and reports once for all its hostnames.
    if (!deferred) yield* releaseClaims(context, [hostname]);
    return yield* failOrchestration(context, error, { failedStep: step, hostname }, !deferred);
  }
}

/** The validation file must not outlive a failure; a failing delete must not hide the first error. */
function* deleteQuietly(context: OrchestrationContext, token: string): Step<void> {
  yield* quietly(context, Activities.DeleteValidationFile, { token });
}

/** Clean-up after a failure: the original failure is what the user must act on, not the clean-up's. */
function* quietly(context: OrchestrationContext, activityName: string, input: unknown): Step<void> {
  try {
    yield* callStep(context, activityName, input);
  } catch {
    // Left for the next run, which handles it (a leftover create is replaced, a file overwritten).
  }
}

function* pollUntilSettled<T extends { retryAfterSeconds?: number }>(
  context: OrchestrationContext,
  fetch: () => Step<T>,
  settled: (value: T) => boolean,
  backoff: Backoff,
  what: string,
): Step<T> {
  let waited = 0;
  for (let attempt = 0; ; attempt++) {
    const value = yield* fetch();
    if (settled(value)) return value;
    const pause = backoffSeconds(backoff, attempt, value.retryAfterSeconds);
    if (waited + pause > backoff.budgetSeconds) {
      throw StepFailure.of(
        new CertbotError('AcmeOrderFailed', `The CA did not finish ${what} within ${backoff.budgetSeconds / 60} minutes.`),
      );
    }
    waited += pause;
    yield* wait(context, pause);
  }
}

function* awaitAuthorization(context: OrchestrationContext, authorizationUrl: string): Step<void> {
  yield* wait(context, ValidationPolling.firstSeconds);
  const authz = yield* pollUntilSettled(
    context,
    () => callStep<Http01Snapshot>(context, Activities.GetHttp01Challenge, { authorizationUrl }),
    (a) => a.authorizationStatus !== 'pending',
    ValidationPolling,
    'validating the hostname',
  );
  if (authz.authorizationStatus !== 'valid') {
    const problem = authz.problem ?? {
      type: 'urn:ietf:params:acme:error:unauthorized',
      detail: `authorization is ${authz.authorizationStatus}`,
      status: 403,
    };
    throw StepFailure.of(problemError(problem));
  }
}

function* awaitOrder(context: OrchestrationContext, order: OrderSnapshot): Step<OrderSnapshot> {
  if (order.status === 'valid') return order;
  yield* wait(context, ValidationPolling.firstSeconds);
  const settledOrder = yield* pollUntilSettled(
    context,
    () => callStep<OrderSnapshot>(context, Activities.GetAcmeOrder, { orderUrl: order.url }),
    (o) => o.status === 'valid' || o.status === 'invalid',
    ValidationPolling,
    'issuing the certificate',
  );
  if (settledOrder.status !== 'valid') {
    throw StepFailure.of(
      problemError(
        settledOrder.problem ?? { type: 'urn:ietf:params:acme:error:serverInternal', detail: 'order became invalid', status: 500 },
      ),
    );
  }
  return settledOrder;
}

/**
 * This run's id for its Key Vault create: the instance and the replay-safe time it reached this
 * step, hashed (a pure function, so deterministic) to fit a Key Vault tag value (256 characters).
 */
function runTag(context: OrchestrationContext): string {
  return createHash('sha256').update(`${context.df.instanceId}@${context.df.currentUtcDateTime.toISOString()}`).digest('hex').slice(0, 32);
}

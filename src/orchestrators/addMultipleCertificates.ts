import type { OrchestrationContext, Task } from 'durable-functions';
import { ErrorCode, ErrorMessages } from '../domain/errors';
import type { RefusedBinding } from '../domain/gatewayChange';
import { stepStatus, failedStatus, CustomStatus } from '../domain/customStatus';
import { instanceIdFor } from '../domain/requests';
import { StepStatus } from '../domain/status';
import { decodeFailure } from '../domain/stepError';
import { Activities, Orchestrators } from '../functions/names';
import type { DeferredIssuance, IssuanceResult, SelfSignedStandIn } from './addCertificate';
import type { SelfSignedFallbackOutcome } from '../activities/selfSignedFallback';
import type { HttpsBinding } from '../domain/gatewayPlan';
import { selfSignedFallbackApplies } from '../domain/selfSignedFallback';
import { NOT_COUNTED_FAILURES } from '../domain/failureBackoff';
import { confirmServed } from './confirmServed';
import { requestGatewayChange } from './gatewayWriter';
import { asStepError, callStep, claimOrFail, failedWith, failOrchestration, failureMessage, notify, notifySuccess, releaseClaims, Step, wait } from './steps';

/**
 * AddMultipleCertificatesFunctions: one certificate per hostname, issued in parallel (bounded) as
 * AddCertificateFunctions sub-orchestrations, then one gateway change for all that succeeded.
 *
 * runtimeStatus: Completed when every hostname went live; Failed when any did not, so that a
 * ticket manager logging Failed outputs sees each failed hostname with its code (the others are
 * live, and listed as such in the same output).
 */
export interface MultipleInput {
  hostnames: string[];
  maxParallel: number;
  /**
   * A renewal run started by the timer waits this long before its first order (random, decided by
   * the timer: spreads deployments' load on the CA); its gateway write is one for all, as a batch's.
   */
  startDelaySeconds?: number;
  /** The hostnames proven by DNS-01 (the others by http-01). */
  dns01Hostnames?: string[];
  /** The ACME profile each hostname's order names (draft-aaron-acme-profiles); absent: none sent. */
  profiles?: Record<string, string>;
  /** Certificates for several names: hostname -> the names after it (each certificate is one hostname of `hostnames`). */
  additionalNames?: Record<string, string[]>;
  /**
   * Started by the renewal timer: what goes live is renewed (the success notice says `renewed`).
   * Absent on a batch request, and on runs started before the flag, which therefore count as issued.
   */
  renewal?: true;
  /** SelfSignedFallback was on when the batch started: its new hostnames that fail get a self-signed stand-in in the batch's gateway write. */
  selfSignedFallback?: true;
}

export interface HostnameOutcome {
  hostname: string;
  instanceId: string;
  status: 'Queued' | 'Issuing' | 'Completed' | 'Failed';
  error: ErrorCode | null;
  message?: string;
  detail?: string;
  failedStep?: string;
  /** SelfSignedFallback: whether a self-signed stand-in went on the listener after the failure. */
  selfSignedFallback?: SelfSignedStandIn;
  /** When retrying makes sense (a CA's Retry-After, or when a counted rate limit frees up). */
  retryAt?: string;
}

/** At most this many failures are listed in customStatus; the output lists every hostname. */
export const LISTED_FAILURES = 10;

/**
 * The batch's customStatus stays small whatever the batch: the extension fails an orchestration
 * whose customStatus exceeds 16 KB of UTF-16 JSON (DurableOrchestrationContext.cs). Counts, and
 * the latest failures without their details (hostnames are at most 253 characters).
 */
export interface MultipleStatus extends CustomStatus {
  progress: { done: number; failed: number; issuing: number; queued: number; total: number };
  failures: { hostname: string; error: ErrorCode | null }[];
}

export function* addMultipleCertificatesOrchestrator(context: OrchestrationContext): Step<{ hostnames: HostnameOutcome[] }> {
  const { hostnames, maxParallel, startDelaySeconds = 0, dns01Hostnames = [], additionalNames = {}, profiles = {}, renewal, selfSignedFallback } = context.df.getInput<MultipleInput>();
  // What the batch holds: every name of every certificate.
  const allNames = hostnames.flatMap((hostname) => [hostname, ...(additionalNames[hostname] ?? [])]);
  const batchInstanceId = context.df.instanceId;
  const outcomes: HostnameOutcome[] = hostnames.map((hostname) => ({
    hostname,
    instanceId: instanceIdFor(hostname),
    status: 'Queued',
    error: null,
  }));
  const failedInOrder: HostnameOutcome[] = [];
  const fail = (outcome: HostnameOutcome, fields: Partial<HostnameOutcome>): void => {
    Object.assign(outcome, { ...fields, status: 'Failed' });
    failedInOrder.push(outcome);
  };
  const publish = (status: StepStatus, error: ErrorCode | null = null): void => {
    context.df.setCustomStatus(batchStatus(outcomes, failedInOrder, status, error));
  };

  publish('CreateCertificateStep');
  try {
    yield* claimOrFail(context, allNames);
  } catch (error) {
    return yield* failOrchestration(context, error, { failedStep: 'CreateCertificateStep', hostnames });
  }

  if (startDelaySeconds > 0) yield* wait(context, startDelaySeconds);
  // Room on the gateway is counted before any order: what does not fit fails now, the rest goes on.
  try {
    const noRoom = yield* callStep<RefusedBinding[]>(context, Activities.CheckGatewayCapacity, { hostnames, ...(Object.keys(additionalNames).length ? { additionalNames } : {}) });
    for (const refused of noRoom) {
      const outcome = outcomes.find((o) => o.hostname === refused.hostname);
      if (outcome) fail(outcome, { error: refused.code, message: ErrorMessages[refused.code], detail: refused.detail, failedStep: 'CreateCertificateStep' });
    }
  } catch (error) {
    yield* releaseClaims(context, allNames);
    return yield* failOrchestration(context, error, { failedStep: 'CreateCertificateStep', hostnames });
  }

  const issued: IssuanceResult[] = [];
  const toIssue = outcomes.filter((o) => o.status === 'Queued');
  // The starter claimed every hostname for this batch (src/azure/hostnameClaims.ts): no other
  // operation can hold a child's instance id, so no child start is ever dropped by the engine.
  for (let start = 0; start < toIssue.length; start += maxParallel) {
    const wave = toIssue.slice(start, start + maxParallel);
    wave.forEach((o) => (o.status = 'Issuing'));
    publish('CreateCertificateStep');
    const tasks: Task[] = wave.map((o) =>
      context.df.callSubOrchestrator(
        Orchestrators.AddCertificate,
        {
          hostname: o.hostname,
          deferGatewayConfiguration: true,
          ...(dns01Hostnames.includes(o.hostname) ? { challengeType: 'dns-01' } : {}),
          ...(profiles[o.hostname] === undefined ? {} : { profile: profiles[o.hostname] }),
          ...(additionalNames[o.hostname]?.length ? { additionalNames: additionalNames[o.hostname] } : {}),
        } satisfies DeferredIssuance,
        o.instanceId,
      ),
    );
    // Task.all fails fast on the first failure; Task.any returns the finished task whether it
    // failed or not, so every child is waited for and read.
    let running: Task[] = [...tasks];
    while (running.length > 0) {
      const finished = (yield context.df.Task.any(running)) as Task;
      running = running.filter((task) => task !== finished);
      const outcome = wave[tasks.indexOf(finished)];
      if (finished.isFaulted) fail(outcome, failureOf(finished.result));
      else {
        issued.push(finished.result as IssuanceResult);
        outcome.status = 'Completed';
      }
      publish('CreateCertificateStep');
    }
  }

  const succeeded = outcomes.filter((o) => o.status === 'Completed');
  // SelfSignedFallback: the failed new hostnames' stand-ins go into the same one gateway write.
  const standIns = selfSignedFallback === true && renewal !== true ? yield* selfSignedStandIns(context, outcomes, additionalNames, dns01Hostnames, profiles) : [];
  if (issued.length > 0 || standIns.length > 0) {
    publish('ConfigureApplicationGatewayStep');
    const change = yield* requestGatewayChange(context, [...issued.map((r) => r.binding), ...standIns.map((s) => s.binding)]);
    for (const { outcome, binding } of standIns) {
      const refused = !change.ok || (change.refused ?? []).some((x) => x.hostname === binding.hostname);
      outcome.selfSignedFallback = refused
        ? { bound: false, detail: `The gateway did not take the self-signed stand-in: ${change.error?.code ?? 'refused'}.` }
        : { bound: true, certificateName: binding.name, detail: 'A self-signed certificate is on the listener until issuance succeeds; browsers warn on it.' };
    }
    if (!change.ok) {
      const code = change.error?.code ?? 'ApplicationGatewayUpdateFailed';
      for (const outcome of succeeded) {
        fail(outcome, { error: code, message: ErrorMessages[code], detail: change.error?.detail, failedStep: 'ConfigureApplicationGatewayStep' });
      }
    } else {
      // What the gateway had no room for (others' requests took it meanwhile) is reported; the rest is bound.
      for (const refused of change.refused ?? []) {
        const outcome = outcomes.find((o) => o.hostname === refused.hostname);
        if (outcome) fail(outcome, { error: refused.code, message: ErrorMessages[refused.code], detail: refused.detail, failedStep: 'ConfigureApplicationGatewayStep' });
      }
      const bound = issued.filter((r) => !(change.refused ?? []).some((x) => x.hostname === r.hostname));
      const notLive = yield* confirmServed(context, bound.map((r) => ({ binding: r.binding, serialNumber: r.serialNumber })));
      for (const { hostname, code, detail } of notLive) {
        const outcome = outcomes.find((o) => o.hostname === hostname);
        if (outcome) fail(outcome, { error: code, message: ErrorMessages[code], detail, failedStep: 'ConfigureApplicationGatewayStep' });
      }
    }
  }

  // A child's success cleared its back-off before this gateway step: what failed here counts as a failure.
  const batchRun = `${batchInstanceId}@${context.df.currentUtcDateTime.toISOString()}`;
  for (const outcome of outcomes) {
    if (outcome.status !== 'Failed' || outcome.failedStep !== 'ConfigureApplicationGatewayStep' || !outcome.error || NOT_COUNTED_FAILURES.has(outcome.error)) continue;
    try {
      yield* callStep(context, Activities.RecordIssuanceOutcome, { hostname: outcome.hostname, failure: { code: outcome.error, run: batchRun } });
    } catch {
      // The back-off is advice for the timer; the batch's outcome is what it reports.
    }
  }
  yield* releaseClaims(context, allNames);
  // What went live (a renewal run's renewals among them), whether or not others failed.
  const live = issued.filter((r) => outcomes.some((o) => o.hostname === r.hostname && o.status === 'Completed'));
  yield* notifySuccess(context, {
    instanceId: batchInstanceId,
    ...(renewal === true ? { renewal: true } : {}),
    certificates: live.map((r) => ({
      hostname: r.hostname,
      ...(r.binding.hostnames ? { names: r.binding.hostnames } : {}),
      certificateName: r.binding.name,
      notAfter: r.notAfter,
      challengeType: dns01Hostnames.includes(r.hostname) ? 'dns-01' : 'http-01',
    })),
  });
  const failures = outcomes.filter((o) => o.status === 'Failed');
  if (failures.length === 0) {
    publish('Completed');
    return { hostnames: outcomes };
  }
  const code: ErrorCode = failures.every((f) => f.error === failures[0].error) && failures[0].error ? failures[0].error : 'SomeHostnamesFailed';
  publish('Failed', code);
  yield* notify(context, {
    kind: 'failure',
    code,
    message: ErrorMessages[code],
    detail: failures.map((f) => `${f.hostname}: ${f.error}`).join('; '),
    hostnames: failures.map((f) => f.hostname),
    instanceId: batchInstanceId,
  });
  throw failedWith({
    code,
    message: ErrorMessages[code],
    detail: `${failures.length} of ${outcomes.length} hostnames failed.`,
    instanceId: batchInstanceId,
    failed: failures.length,
    total: outcomes.length,
    hostnames: outcomes,
  });
}

/** The batch's customStatus: counts and the latest few failures (see MultipleStatus). */
export function batchStatus(outcomes: HostnameOutcome[], failedInOrder: HostnameOutcome[], status: StepStatus, error: ErrorCode | null): MultipleStatus {
  const count = (state: HostnameOutcome['status']): number => outcomes.filter((o) => o.status === state).length;
  const base = error ? failedStatus(error, ErrorMessages[error]) : stepStatus(status);
  return {
    ...base,
    progress: { done: count('Completed'), failed: count('Failed'), issuing: count('Issuing'), queued: count('Queued'), total: outcomes.length },
    failures: failedInOrder.slice(-LISTED_FAILURES).map((o) => ({ hostname: o.hostname, error: o.error })),
  };
}

/**
 * The self-signed stand-ins (Key Vault makes each) for the batch's failed hostnames that the
 * fallback applies to; a hostname with a certificate of its own gets none, and a failure making
 * one is noted on its outcome without changing its code.
 */
function* selfSignedStandIns(context: OrchestrationContext, outcomes: HostnameOutcome[], additionalNames: Record<string, string[]>, dns01Hostnames: string[], profiles: Record<string, string>): Step<{ outcome: HostnameOutcome; binding: HttpsBinding }[]> {
  const standIns: { outcome: HostnameOutcome; binding: HttpsBinding }[] = [];
  for (const outcome of outcomes) {
    if (outcome.status !== 'Failed' || !outcome.error || !selfSignedFallbackApplies(outcome.error, (outcome.failedStep ?? 'CreateCertificateStep') as StepStatus)) continue;
    const names = [outcome.hostname, ...(additionalNames[outcome.hostname] ?? [])];
    try {
      const made = yield* callStep<SelfSignedFallbackOutcome>(context, Activities.CreateSelfSignedFallback, { hostname: outcome.hostname, ...(names.length > 1 ? { names } : {}), ...(dns01Hostnames.includes(outcome.hostname) ? { challengeType: 'dns-01' } : {}), ...(profiles[outcome.hostname] ? { profile: profiles[outcome.hostname] } : {}) });
      // Turned off since the run started: no stand-ins (those made so far are still bound).
      if ('disabled' in made) break;
      if ('kept' in made) {
        outcome.selfSignedFallback = { bound: false, detail: `Not bound: the hostname has a certificate of its own (${made.kept}), which a stand-in never replaces.` };
        continue;
      }
      const binding: HttpsBinding = { hostname: outcome.hostname, ...(names.length > 1 ? { hostnames: names } : {}), name: made.certificate.name, keyVaultSecretId: made.certificate.secretId, refresh: true };
      standIns.push({ outcome, binding });
    } catch (error) {
      const info = asStepError(error);
      outcome.selfSignedFallback = { bound: false, detail: `The self-signed stand-in failed: ${info.code}: ${info.detail}` };
    }
  }
  return standIns;
}

/** A failed child's record, in the one failure encoding; anything else is an internal error. */
function failureOf(error: unknown): Partial<HostnameOutcome> {
  const record = decodeFailure(error);
  const code: ErrorCode = record?.code ?? 'InternalError';
  const failedStep = typeof record?.failedStep === 'string' ? record.failedStep : undefined;
  const retryAt = typeof record?.retryAt === 'string' ? { retryAt: record.retryAt } : {};
  const detail = record?.detail ?? 'The hostname failed without a typed error; see the function app logs.';
  return { error: code, message: failureMessage({ code, detail }), detail, failedStep, ...retryAt };
}

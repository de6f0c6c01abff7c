import type { OrchestrationContext, Task } from 'durable-functions';
import { failedStatus } from '../domain/customStatus';
import { CertbotError, ErrorMessages } from '../domain/errors';
import type { FailureNotice, SuccessReport } from '../domain/notification';
import { decodeStepError, encodeFailure, FailureRecord, StepErrorInfo } from '../domain/stepError';
import { Activities } from '../functions/names';

/**
 * Orchestrator building blocks. Everything here is deterministic: time comes from
 * `currentUtcDateTime`, waiting is a durable timer, and no I/O happens outside activities.
 */
export type Step<T> = Generator<Task, T, unknown>;

/** Waits between tries: short first, doubling, capped; a CA's or Azure's Retry-After wins. */
export interface Backoff {
  firstSeconds: number;
  maxSeconds: number;
  /** Give up after this many seconds in total. */
  budgetSeconds: number;
}

export const TransientRetry: Backoff = { firstSeconds: 2, maxSeconds: 60, budgetSeconds: 15 * 60 };
export const ValidationPolling: Backoff = { firstSeconds: 1, maxSeconds: 30, budgetSeconds: 15 * 60 };

/** The n-th wait (0-based), in seconds. */
export function backoffSeconds(backoff: Backoff, attempt: number, retryAfterSeconds?: number): number {
  const computed = Math.min(backoff.maxSeconds, backoff.firstSeconds * 2 ** attempt);
  if (retryAfterSeconds === undefined) return computed;
  return Math.min(Math.max(retryAfterSeconds, 1), 3600);
}

export function* wait(context: OrchestrationContext, seconds: number): Step<void> {
  const fireAt = new Date(context.df.currentUtcDateTime.getTime() + seconds * 1000);
  yield context.df.createTimer(fireAt);
}

/** The typed error a failure carries (a StepFailure's, or an activity's); anything else is an internal error. */
export function asStepError(error: unknown): StepErrorInfo {
  if (error instanceof StepFailure) return error.info;
  return (
    decodeStepError(error) ?? {
      code: 'InternalError',
      detail: 'A step failed without a typed error; see the function app logs.',
    }
  );
}

/** Thrown inside orchestrators so that typed failures keep their code up to the failure record. */
export class StepFailure extends Error {
  constructor(readonly info: StepErrorInfo) {
    super(`${info.code}: ${info.detail}`);
  }

  static of(error: CertbotError): StepFailure {
    return new StepFailure({ code: error.code, detail: error.detail });
  }
}

/**
 * Calls an activity; transient failures (conflict, throttling, outages) are retried after a
 * durable timer, honouring Retry-After, within the backoff's time budget.
 */
export function* callStep<T>(context: OrchestrationContext, name: string, input?: unknown, backoff = TransientRetry): Step<T> {
  let waited = 0;
  for (let attempt = 0; ; attempt++) {
    try {
      return (yield context.df.callActivity(name, input)) as T;
    } catch (error) {
      const info = asStepError(error);
      const pause = backoffSeconds(backoff, attempt, info.retryAfterSeconds);
      if (!info.transient || waited + pause > backoff.budgetSeconds) throw new StepFailure(info);
      waited += pause;
      yield* wait(context, pause);
    }
  }
}

/** Tells the failure webhook (best effort: the activity never fails, and a lost notice is not fatal). */
export function* notify(context: OrchestrationContext, notice: FailureNotice): Step<void> {
  try {
    yield context.df.callActivity(Activities.NotifyFailure, notice);
  } catch {
    // Notification is secondary to the failure being reported in the output.
  }
}

/**
 * Tells the webhook what went live, when NotificationEvents opts in: renewed when the report says
 * so (the run was started as a renewal), else issued; the activity decides whether to post at all.
 * Best effort, as notify.
 */
export function* notifySuccess(context: OrchestrationContext, report: SuccessReport): Step<void> {
  if (report.certificates.length === 0) return;
  try {
    yield context.df.callActivity(Activities.NotifySuccess, report);
  } catch {
    // The certificates are live whatever the webhook says.
  }
}

/** Who failed and where; the code, message and detail come from the error. */
export interface FailureSubject {
  failedStep: string;
  hostname?: string;
  hostnames?: string[];
  /** SelfSignedFallback: whether a self-signed stand-in was bound, and which. */
  selfSignedFallback?: { bound: boolean; certificateName?: string; notAfter?: string; detail: string };
}

/**
 * Ends an orchestration as Failed with the record a ticket manager needs (code, message, detail,
 * failed step, hostname(s), instance id; never a secret): customStatus carries its code, the
 * failure webhook gets it unless `notifyWebhook` is false (a batch reports once for all its
 * hostnames), and it becomes the Failed output.
 */
export function* failOrchestration(context: OrchestrationContext, error: unknown, subject: FailureSubject, notifyWebhook = true): Step<never> {
  const info = asStepError(error);
  // A CA's Retry-After (AcmeRateLimited) or the time a counted limit frees up (AcmeRateLimitWouldBeExceeded) stays in the record.
  const retry = info.retryAfterSeconds !== undefined ? { retryAfterSeconds: info.retryAfterSeconds, ...(info.retryAt ? { retryAt: info.retryAt } : {}) } : {};
  const record = { code: info.code, message: failureMessage(info), detail: info.detail, ...retry, ...subject, instanceId: context.df.instanceId };
  context.df.setCustomStatus(failedStatus(info.code, record.message));
  if (notifyWebhook) yield* notify(context, { kind: 'failure', ...record });
  throw failedWith(record);
}

/**
 * The human-readable message of a failure (customStatus.message, the record's `message`): the
 * code's advice; for AcmeRateLimitWouldBeExceeded also the detail, which names the limit and the
 * UTC time it frees up, what a frontend showing only the message must say.
 */
export function failureMessage(info: Pick<StepErrorInfo, 'code' | 'detail'>): string {
  return info.code === 'AcmeRateLimitWouldBeExceeded' ? `${ErrorMessages[info.code]} ${info.detail}` : ErrorMessages[info.code];
}

/** The Error a Failed orchestration ends with: its output carries the record in the one encoding. */
export function failedWith(record: FailureRecord): Error {
  return new Error(encodeFailure(record));
}

/** An operation's first step: it holds its hostnames, or fails with HostnameAlreadyInProgress. */
export function* claimOrFail(context: OrchestrationContext, hostnames: string[]): Step<void> {
  const busy = yield* callStep<{ hostname: string; holder: string }[]>(context, Activities.ClaimHostnames, { hostnames, holder: context.df.instanceId });
  if (busy.length > 0) {
    throw new StepFailure({ code: 'HostnameAlreadyInProgress', detail: busy.map((b) => `${b.hostname} is held by ${b.holder || 'another request'}`).join('; ') });
  }
}

/**
 * An operation's last step: its hostnames are free again. Best effort: a claim left behind is
 * taken over once this instance has finished (src/azure/hostnameClaims.ts).
 */
export function* releaseClaims(context: OrchestrationContext, hostnames: string[]): Step<void> {
  try {
    yield* callStep(context, Activities.ReleaseHostnames, { hostnames, holder: context.df.instanceId });
  } catch {
    // Never turns a finished operation into a failed one.
  }
}

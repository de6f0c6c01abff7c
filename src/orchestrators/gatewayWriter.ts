import type { OrchestrationContext, Task } from 'durable-functions';
import type { WritePlan } from '../activities/gatewayWriter';
import type { OperationState } from '../azure/gateway';
import { appliedEventFor, GatewayChangeRequest, GatewayChangeResult } from '../domain/gatewayChange';
import type { HttpsBinding, HttpsRemoval } from '../domain/gatewayPlan';
import type { StepErrorInfo } from '../domain/stepError';
import { GatewayWriter } from '../functions/names';
import { callStep, Step, StepFailure, wait } from './steps';

/**
 * The one writer of a gateway's configuration. Application Gateway updates take minutes and a
 * newer PUT cancels a running one, so every change, from any orchestration, goes through here:
 * requests wait in the inbox blob (src/azure/gatewayInbox.ts) while a write runs and are applied
 * together in the next one. The writer runs only while the inbox has work: it is started by the
 * request that finds no writer, and ends when it finds the inbox empty (no polling, no timers,
 * nothing while idle). Requests live in storage, so nothing is lost when a generation ends or
 * continues as new.
 */
const WRITES_PER_GENERATION = 20;
/** Past this, an update counts as stuck (2-5 minutes is usual; over 30 is stuck per Microsoft). */
const WRITE_BUDGET_SECONDS = 60 * 60;

type Results = Record<string, GatewayChangeResult>;

export function* gatewayWriterOrchestrator(context: OrchestrationContext): Step<void> {
  const writerId = context.df.instanceId;
  for (let writes = 0; writes < WRITES_PER_GENERATION; writes++) {
    const { count } = yield* callStep<{ count: number }>(context, GatewayWriter.takeActivity, { writerId });
    if (count === 0) return;
    const results = yield* writeTaken(context, writerId);
    yield* callStep(context, GatewayWriter.finishActivity, { writerId, results });
  }
  // History stays small; the inbox keeps whatever arrived meanwhile.
  context.df.continueAsNew(null);
}

/** One write for all taken requests; if the gateway refuses it, each request alone, so one bad change cannot sink the others. */
function* writeTaken(context: OrchestrationContext, writerId: string, only?: string[]): Step<Results> {
  const outcome = yield* writeOnce(context, writerId, only);
  if (outcome.kind !== 'failed') return outcome.results;
  // A gateway stuck in an update is stuck for every request, and a permission missing is missing
  // for every request: writing each alone would only repeat the refusal once per request.
  const splittable = outcome.error.code !== 'GatewayWriteTimedOut' && !outcome.error.code.endsWith('PermissionDenied');
  const failedAll = (ids: string[]): Results => Object.fromEntries(ids.map((id) => [id, { ok: false, error: outcome.error }]));
  const pending = outcome.requestIds.filter((id) => !outcome.results[id]);
  if (pending.length <= 1 || !splittable) return { ...outcome.results, ...failedAll(pending) };
  const results: Results = { ...outcome.results };
  for (const id of pending) Object.assign(results, yield* writeTaken(context, writerId, [id]));
  return results;
}

type WriteOutcome = { kind: 'done'; results: Results } | { kind: 'failed'; requestIds: string[]; results: Results; error: StepErrorInfo };

/**
 * Read, plan, PUT with If-Match, follow the operation with durable timers at the service's
 * Retry-After. A running update by someone else, a change since the read (412), throttling (429)
 * or our update being cancelled by a newer PUT (Canceled) all mean: wait, read again, plan again.
 */
function* writeOnce(context: OrchestrationContext, writerId: string, only?: string[]): Step<WriteOutcome> {
  let waited = 0;
  const timedOut = (requestIds: string[], why: string): WriteOutcome => ({
    kind: 'failed',
    requestIds,
    results: {},
    error: { code: 'GatewayWriteTimedOut', detail: `The gateway update did not finish within ${WRITE_BUDGET_SECONDS / 60} minutes (${why}). Check the gateway's provisioning state in Azure.` },
  });
  for (;;) {
    const plan = yield* callStep<WritePlan>(context, GatewayWriter.beginActivity, { writerId, only });
    if (plan.kind === 'stop') return { kind: 'done', results: {} };
    if (plan.kind === 'done' || plan.kind === 'failed') return plan.kind === 'done' ? { kind: 'done', results: plan.results } : plan;
    if (plan.kind === 'wait') {
      if (waited >= WRITE_BUDGET_SECONDS) return timedOut(plan.requestIds, plan.reason);
      waited += plan.retryAfterSeconds;
      yield* wait(context, plan.retryAfterSeconds);
      continue;
    }
    let pause = plan.retryAfterSeconds;
    let operation: OperationState;
    do {
      if (waited >= WRITE_BUDGET_SECONDS) return timedOut(plan.requestIds, 'still in progress');
      waited += pause;
      yield* wait(context, pause);
      try {
        operation = yield* callStep<OperationState>(context, GatewayWriter.checkActivity, { operationUrl: plan.operationUrl });
      } catch (error) {
        // The operation cannot be followed (its status refused, e.g. no right to read it): the
        // requests fail with that, instead of the writer ending and leaving them unanswered.
        if (!(error instanceof StepFailure)) throw error;
        const detail = `${error.info.detail} Azure accepted the gateway update itself, which may have been applied; only its progress could not be read.`;
        return { kind: 'failed', requestIds: plan.requestIds, results: {}, error: { ...error.info, detail } };
      }
      pause = operation.retryAfterSeconds ?? pause;
    } while (!['Succeeded', 'Failed', 'Canceled'].includes(operation.status));
    if (operation.status === 'Succeeded') return { kind: 'done', results: plan.results };
    if (operation.status === 'Failed') {
      return { kind: 'failed', requestIds: plan.requestIds, results: {}, error: { code: 'ApplicationGatewayUpdateFailed', detail: `Azure failed the gateway update: ${operation.error ?? 'no detail'}` } };
    }
    // Canceled: superseded by another writer's PUT. Their configuration is read and ours planned on top.
  }
}

/** Long enough for a real update (minutes); after it the requester looks in the inbox for its answer. */
const ANSWER_CHECK_SECONDS = 10 * 60;
const MAX_WAIT_SECONDS = 3 * 60 * 60;

/**
 * The requesting side, used by every operation that changes the gateway: hand the change to the
 * writer and wait for the answer raised under this request's own id. If none comes for a while, the
 * request is submitted again (idempotent), which returns the answer if the event was lost and
 * restarts the writer if it died.
 */
export function* requestGatewayChange(context: OrchestrationContext, bindings: HttpsBinding[], removals: HttpsRemoval[] = []): Step<GatewayChangeResult> {
  const request: GatewayChangeRequest = { requestId: context.df.newGuid(context.df.instanceId), replyTo: context.df.instanceId, bindings, removals };
  // Listening before the request exists: the answer cannot arrive before the waiter.
  const answer: Task = context.df.waitForExternalEvent(appliedEventFor(request.requestId));
  for (let waited = 0; waited < MAX_WAIT_SECONDS; waited += ANSWER_CHECK_SECONDS) {
    const known = yield* callStep<{ result?: GatewayChangeResult }>(context, GatewayWriter.submitActivity, request);
    if (known.result) return known.result;
    const timeout = context.df.createTimer(new Date(context.df.currentUtcDateTime.getTime() + ANSWER_CHECK_SECONDS * 1000));
    if ((yield context.df.Task.any([answer, timeout])) === answer) {
      timeout.cancel();
      return answer.result as GatewayChangeResult;
    }
  }
  return { ok: false, error: { code: 'GatewayWriteTimedOut', detail: `No answer from the gateway writer after ${MAX_WAIT_SECONDS / 3600} hours.` } };
}

/** For an operation that needs all of its change: any failure or refused binding fails it with its code. */
export function* applyGatewayChangeOrFail(context: OrchestrationContext, bindings: HttpsBinding[], removals: HttpsRemoval[] = []): Step<void> {
  const change = yield* requestGatewayChange(context, bindings, removals);
  if (!change.ok) throw new StepFailure(change.error ?? { code: 'ApplicationGatewayUpdateFailed', detail: 'The gateway change failed.' });
  const refused = change.refused ?? [];
  if (refused.length > 0) throw new StepFailure({ code: refused[0].code, detail: refused.map((r) => r.detail).join(' ') });
}

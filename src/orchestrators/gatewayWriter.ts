import type { OrchestrationContext, Task } from 'durable-functions';
import type { HttpsBinding, HttpsRemoval } from '../domain/gatewayPlan';
import type { ChangeVerdicts } from '../activities/gatewayChangeCheck';
import { StepErrorInfo } from '../domain/stepError';
import { Activities, GatewayWriter } from '../functions/names';
import { callStep, Step, StepFailure, asStepError } from './steps';

/**
 * The one writer of a gateway's configuration (a singleton orchestration per gateway, fed by
 * events). Application Gateway updates take minutes and conflict with each other, so every change,
 * from any orchestration, comes here: requests arriving close together are batched into one PUT
 * (the ConfigureApplicationGateway activity re-reads the gateway before writing and verifies),
 * and each requester gets an event back with the outcome.
 */
export interface GatewayChangeRequest {
  replyTo: string;
  bindings: HttpsBinding[];
  removals?: HttpsRemoval[];
}

export interface GatewayChangeResult {
  ok: boolean;
  written?: boolean;
  error?: StepErrorInfo;
}

/** How long the writer waits for further requests on their way, once it has one. */
const GATHER_SECONDS = 1;
/** While idle it looks for requests at growing intervals up to this. */
const MAX_POLL_SECONDS = 5;
/** An idle writer starts a fresh generation (history stays small). */
const IDLE_SECONDS = 300;
const BATCHES_PER_GENERATION = 50;
const MAX_BATCH = 100;

const seconds = (context: OrchestrationContext, n: number): Date => new Date(context.df.currentUtcDateTime.getTime() + n * 1000);

/**
 * The durable-functions engine registers an event waiter each time it is yielded or put into a
 * Task.any; a waiter registered twice takes two events and keeps only the last. So each waiter
 * here is awaited exactly once, raced against a timer due now: buffered requests resolve it at
 * once, otherwise the timer wins and the waiter stays registered, to be read later through
 * `isCompleted` (never awaited again).
 */
class RequestInbox {
  private probe?: Task;

  constructor(private readonly context: OrchestrationContext) {}

  *drain(limit: number): Step<GatewayChangeRequest[]> {
    const taken: GatewayChangeRequest[] = [];
    while (taken.length < limit) {
      if (this.probe) {
        if (!this.probe.isCompleted) break;
        taken.push(this.probe.result as GatewayChangeRequest);
        this.probe = undefined;
        continue;
      }
      this.probe = this.context.df.waitForExternalEvent(GatewayWriter.requestEvent);
      const now = this.context.df.createTimer(this.context.df.currentUtcDateTime);
      if ((yield this.context.df.Task.any([this.probe, now])) === this.probe) now.cancel();
    }
    return taken;
  }
}

export function* gatewayWriterOrchestrator(context: OrchestrationContext): Step<void> {
  const inbox = new RequestInbox(context);
  let idle = 0;
  let poll = 1;
  for (let batches = 0; batches < BATCHES_PER_GENERATION; ) {
    const batch = yield* inbox.drain(MAX_BATCH);
    if (batch.length === 0) {
      if (idle >= IDLE_SECONDS) break;
      yield context.df.createTimer(seconds(context, poll));
      idle += poll;
      poll = Math.min(poll * 2, MAX_POLL_SECONDS);
      continue;
    }
    idle = 0;
    poll = 1;
    // Requests close behind the first share its write.
    yield context.df.createTimer(seconds(context, GATHER_SECONDS));
    batch.push(...(yield* inbox.drain(MAX_BATCH - batch.length)));
    // Only what this app itself would ask for is applied (the activity logs the rest).
    const verdicts = yield* callStep<ChangeVerdicts>(context, Activities.CheckGatewayChanges, batch);
    const accepted = verdicts.accepted.map((i) => batch[i]);
    if (accepted.length > 0) yield* applyBatch(context, accepted);
    // A refused request is answered at once (a real requester must not wait out its timeouts).
    const refusals = verdicts.refused
      .filter(({ index }) => typeof batch[index]?.replyTo === 'string')
      .map(({ index, reason }): { replyTo: string; result: GatewayChangeResult } => ({
        replyTo: batch[index].replyTo,
        result: { ok: false, error: { code: 'InternalError', detail: `The gateway writer refused the change: ${reason}` } },
      }));
    if (refusals.length > 0) yield context.df.Task.all(refusals.map((reply) => context.df.callActivity(GatewayWriter.replyActivity, reply)));
    batches++;
  }
  context.df.continueAsNew(null);
}

function* apply(context: OrchestrationContext, bindings: HttpsBinding[], removals: HttpsRemoval[]): Step<GatewayChangeResult> {
  try {
    const { written } = yield* callStep<{ written: boolean }>(context, Activities.ConfigureGateway, { bindings, removals });
    return { ok: true, written };
  } catch (error) {
    return { ok: false, error: error instanceof StepFailure ? error.info : asStepError(error) };
  }
}

/** One PUT for the whole batch; if it is refused, each request is tried alone so one bad change cannot sink the others. */
function* applyBatch(context: OrchestrationContext, batch: GatewayChangeRequest[]): Step<void> {
  const together = yield* apply(context, mergeBindings(batch.flatMap((r) => r.bindings)), batch.flatMap((r) => r.removals ?? []));
  const replies: { replyTo: string; result: GatewayChangeResult }[] = [];
  if (together.ok || batch.length === 1) {
    for (const request of batch) replies.push({ replyTo: request.replyTo, result: together });
  } else {
    for (const request of batch) replies.push({ replyTo: request.replyTo, result: yield* apply(context, request.bindings, request.removals ?? []) });
  }
  yield context.df.Task.all(replies.map((reply) => context.df.callActivity(GatewayWriter.replyActivity, reply)));
}

/** The newest binding per hostname wins. */
function mergeBindings(bindings: HttpsBinding[]): HttpsBinding[] {
  const byHostname = new Map<string, HttpsBinding>();
  for (const binding of bindings) {
    const refresh = binding.refresh || byHostname.get(binding.hostname)?.refresh;
    byHostname.set(binding.hostname, refresh ? { ...binding, refresh } : binding);
  }
  return [...byHostname.values()];
}

/** How long a requester waits for the writer's answer before asking again, and in total. */
const REPLY_WAIT_SECONDS = 120;
const MAX_REQUESTS = 15;

/**
 * The requesting side, used by the issuing orchestrations: send the change to the writer and wait
 * for its answer; ask again if no answer comes (requests are idempotent).
 */
export function* requestGatewayChange(context: OrchestrationContext, bindings: HttpsBinding[], removals: HttpsRemoval[] = []): Step<GatewayChangeResult> {
  for (let attempt = 0; attempt < MAX_REQUESTS; attempt++) {
    // A fresh waiter each time (see RequestInbox): the newest registered waiter gets the answer.
    const applied = context.df.waitForExternalEvent(GatewayWriter.appliedEvent);
    yield* callStep(context, GatewayWriter.requestActivity, { replyTo: context.df.instanceId, bindings, removals } satisfies GatewayChangeRequest);
    const timeout = context.df.createTimer(seconds(context, REPLY_WAIT_SECONDS));
    if ((yield context.df.Task.any([applied, timeout])) === applied) {
      timeout.cancel();
      return applied.result as GatewayChangeResult;
    }
  }
  return {
    ok: false,
    error: { code: 'GatewayWriteTimedOut', detail: `No answer from the gateway writer after ${(MAX_REQUESTS * REPLY_WAIT_SECONDS) / 60} minutes.` },
  };
}

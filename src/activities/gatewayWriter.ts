/**
 * The gateway writer's steps (src/orchestrators/gatewayWriter.ts): requests go into the inbox
 * blob (src/azure/gatewayInbox.ts), the writer takes them, plans one PUT for all of them on the
 * gateway as read, follows the long-running operation, and answers each requester.
 */
import type { InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import type { DurableClient } from 'durable-functions';
import { GatewayInbox } from '../azure/gatewayInbox';
import { certificateNameFor, versionedSecretId } from '../azure/keyVault';
import type { OperationState } from '../azure/gateway';
import { CertbotError } from '../domain/errors';
import { appliedEventFor, GatewayChangeRequest, GatewayChangeResult, RefusedBinding } from '../domain/gatewayChange';
import { CapacityRefusal, fitBindings } from '../domain/gatewayLimits';
import { HttpsBinding, nameConflict } from '../domain/gatewayPlan';
import type { StepErrorInfo } from '../domain/stepError';
import { GatewayWriter } from '../functions/names';
import { instanceStatus, isActive } from '../durable/instances';
import { refusalOf } from './gatewayChangeCheck';
import { activity, StepServices } from './context';

/** A writer named but not started yet is given this long before another takes its place. */
const WRITER_START_GRACE_MS = 2 * 60 * 1000;
/** Requests one write takes at most (each brings a few bindings; a batch up to its limit). */
const MAX_REQUESTS_PER_WRITE = 200;

const inboxOf = (services: StepServices): GatewayInbox => new GatewayInbox(services.config);

async function startWriter(client: DurableClient, instanceId: string): Promise<void> {
  try {
    await client.startNew(GatewayWriter.orchestrator, { instanceId });
  } catch (error) {
    // Started by a racing requester meanwhile: fine. Anything else is retried by the caller.
    if (!isActive(await instanceStatus(client, instanceId))) {
      throw new CertbotError('InternalError', `Starting the gateway writer ${instanceId} failed: ${(error as Error).message.split('\n')[0].slice(0, 200)}`, undefined, true);
    }
  }
}

/** Makes sure a writer is working on a non-empty inbox: the named one if alive, else a new generation. */
async function ensureWriter(inbox: GatewayInbox, client: DurableClient, gatewayName: string): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const state = await inbox.read();
    if (state.pending.length === 0 && state.taken.length === 0) return;
    const named = state.writer;
    if (named) {
      const status = await instanceStatus(client, named.instanceId);
      if (isActive(status)) return;
      if (!status && Date.now() - Date.parse(named.since) < WRITER_START_GRACE_MS) {
        // Named a moment ago by a requester that may have died before starting it: start it (idempotent).
        await startWriter(client, named.instanceId);
        return;
      }
    }
    // No writer, or it ended without emptying the inbox: the next generation takes over, with
    // whatever the last one had taken (a write is planned from the gateway as read, so redoing is safe).
    const next = await inbox.update((s) => {
      if (s.writer?.instanceId !== named?.instanceId) return { result: undefined, write: false };
      const instanceId = GatewayWriter.instanceId(gatewayName, s.generation + 1);
      s.generation += 1;
      s.writer = { instanceId, since: new Date().toISOString() };
      s.pending = [...s.taken, ...s.pending];
      s.taken = [];
      return { result: instanceId, write: true };
    });
    if (next) return startWriter(client, next);
  }
}

/**
 * A requester's one call, made again when it has waited long for its answer: adds the request to
 * the inbox unless it is there or answered already (idempotent by request id), makes sure a writer
 * works on it, and returns the answer if there is one (a reply event may have been lost).
 */
export const submitGatewayChange = activity<GatewayChangeRequest, { result?: GatewayChangeResult }>(async (request, services, context) => {
  const inbox = inboxOf(services);
  const known = await inbox.update((s) => {
    const answered = s.results[request.requestId]?.result;
    if (answered) return { result: answered, write: false };
    const queued = [...s.pending, ...s.taken].some((r) => r.requestId === request.requestId);
    if (!queued) s.pending.push(request);
    return { result: undefined, write: !queued };
  });
  if (known) return { result: known };
  await ensureWriter(inbox, df.getClient(context), services.config.applicationGatewayName);
  return {};
});

/** The writer takes what is waiting (or finds what it took before a crash); 0 ends it, idle. */
export const takeGatewayRequests = activity<{ writerId: string }, { count: number }>(async ({ writerId }, services) =>
  inboxOf(services).update((s) => {
    if (s.writer?.instanceId !== writerId) return { result: { count: 0 }, write: false };
    if (s.taken.length > 0) return { result: { count: s.taken.length }, write: false };
    if (s.pending.length === 0) {
      // Nothing to do: the writer ends, and the next request starts a new generation.
      delete s.writer;
      return { result: { count: 0 }, write: true };
    }
    s.taken = s.pending.splice(0, MAX_REQUESTS_PER_WRITE);
    return { result: { count: s.taken.length }, write: true };
  }),
);

export type WritePlan =
  | { kind: 'stop' }
  | { kind: 'wait'; requestIds: string[]; retryAfterSeconds: number; reason: string }
  | { kind: 'done'; requestIds: string[]; results: Record<string, GatewayChangeResult> }
  | { kind: 'failed'; requestIds: string[]; results: Record<string, GatewayChangeResult>; error: StepErrorInfo }
  | { kind: 'started'; requestIds: string[]; results: Record<string, GatewayChangeResult>; operationUrl: string; retryAfterSeconds: number };

/** The newest binding per hostname wins; a refresh asked by any of them is kept. */
function mergeBindings(bindings: HttpsBinding[]): HttpsBinding[] {
  const byHostname = new Map<string, HttpsBinding>();
  for (const binding of bindings) {
    const refresh = binding.refresh || byHostname.get(binding.hostname)?.refresh;
    byHostname.set(binding.hostname, refresh ? { ...binding, refresh } : binding);
  }
  return [...byHostname.values()];
}

const capacityRefusal = (refusal: CapacityRefusal): RefusedBinding => ({ ...refusal, code: 'ApplicationGatewayCapacityExceeded' });

/**
 * Reads the gateway and, unless another update is running on it, plans one write for the taken
 * requests (only what fits the gateway's limits) and starts it with If-Match. Another writer's
 * change between the read and the PUT (412), throttling (429) or a running update are "wait and
 * plan again", so their change is kept, never undone.
 */
export const beginGatewayWrite = activity<{ writerId: string; only?: string[] }, WritePlan>(async ({ writerId, only }, services, context) => {
  // Each plan (the first, or again after a wait, a 412 or a cancel) also takes what arrived since:
  // a write that has to start over anyway carries every request that waits, not a later one.
  const state = await inboxOf(services).update((s) => {
    const topUp = s.writer?.instanceId === writerId && !only && s.pending.length > 0 && s.taken.length < MAX_REQUESTS_PER_WRITE;
    if (topUp) s.taken.push(...s.pending.splice(0, MAX_REQUESTS_PER_WRITE - s.taken.length));
    return { result: s, write: topUp };
  });
  if (state.writer?.instanceId !== writerId) return { kind: 'stop' };
  const requests = state.taken.filter((r) => !only || only.includes(r.requestId));
  const requestIds = requests.map((r) => r.requestId);
  const results: Record<string, GatewayChangeResult> = {};
  const accepted: GatewayChangeRequest[] = [];
  for (const request of requests) {
    const reason = await refusalOf(request, services);
    if (!reason) accepted.push(request);
    else {
      context.warn(`Gateway writer refused a change request: ${reason}`);
      results[request.requestId] = { ok: false, error: { code: 'InternalError', detail: `The gateway writer refused the change: ${reason}` } };
    }
  }
  const wait = (retryAfterSeconds: number, reason: string): WritePlan => ({ kind: 'wait', requestIds, retryAfterSeconds, reason });
  // A write that fails answers every request not refused on its own with the failure: only the
  // refusals are kept (an "ok" planned before the PUT would report a refused write as done).
  const failed = (error: CertbotError): WritePlan => ({
    kind: 'failed',
    requestIds,
    results: Object.fromEntries(Object.entries(results).filter(([, result]) => !result.ok)),
    error: { code: error.code, detail: error.detail },
  });

  let current: Awaited<ReturnType<typeof services.gateway.read>>;
  try {
    current = await services.gateway.read();
  } catch (error) {
    // Final (a permission taken away, the gateway gone): the requests fail with it; the writer goes on.
    if (error instanceof CertbotError && !error.transient) return failed(error);
    throw error;
  }
  if (current.provisioningState === 'Updating') return wait(services.config.gatewayBusyPollSeconds, 'another update of the gateway is running');
  // A binding whose names another listener holds would make the gateway refuse the whole PUT: that
  // request alone fails (after the removals of this write, which may free the names).
  const afterRemovals = services.gateway.plan(current, [], accepted.flatMap((r) => r.removals ?? [])) ?? current;
  for (const request of [...accepted]) {
    const conflict = request.bindings.map((b) => nameConflict(afterRemovals, b)).find(Boolean);
    if (!conflict) continue;
    accepted.splice(accepted.indexOf(request), 1);
    results[request.requestId] = { ok: false, error: { code: 'ApplicationGatewayMisconfigured', detail: conflict } };
  }
  const removals = accepted.flatMap((r) => r.removals ?? []);
  const { fitting, refused } = fitBindings(services.gateway.plan(current, [], removals) ?? current, mergeBindings(accepted.flatMap((r) => r.bindings)));
  const desired = services.gateway.plan(current, fitting, removals);
  for (const request of accepted) {
    const mine = refused.filter((x) => request.bindings.some((b) => b.hostname === x.hostname)).map(capacityRefusal);
    const nothingFits = mine.length > 0 && mine.length === request.bindings.length && (request.removals ?? []).length === 0;
    results[request.requestId] = nothingFits
      ? { ok: false, error: { code: 'ApplicationGatewayCapacityExceeded', detail: mine.map((m) => m.detail).join(' ') }, refused: mine }
      : { ok: true, written: !!desired, ...(mine.length > 0 ? { refused: mine } : {}) };
  }
  if (!desired) return { kind: 'done', requestIds, results };
  if (!current.etag) throw new CertbotError('ApplicationGatewayUpdateFailed', 'The gateway read from Azure has no etag; a safe (If-Match) update is impossible.');
  try {
    const begun = await services.gateway.beginWrite(desired, current.etag);
    if (begun.kind === 'changed') return wait(1, 'the gateway changed since it was read (412)');
    return { kind: 'started', requestIds, results, operationUrl: begun.operationUrl, retryAfterSeconds: begun.retryAfterSeconds ?? services.config.gatewayBusyPollSeconds };
  } catch (error) {
    if (error instanceof CertbotError && error.transient) return wait(error.retryAfterSeconds ?? services.config.gatewayBusyPollSeconds, error.detail);
    if (error instanceof CertbotError) return failed(error);
    throw error;
  }
});

/** One look at the running gateway update. */
export const checkGatewayWrite = activity<{ operationUrl: string }, OperationState>(async ({ operationUrl }, { gateway }) => gateway.operation(operationUrl));

/** Records each answer in the inbox (for a requester that misses its event) and raises it. */
export const finishGatewayRequests = activity<{ writerId: string; results: Record<string, GatewayChangeResult> }, void>(async ({ results }, services, context) => {
  const ids = new Set(Object.keys(results));
  const replyTo = await inboxOf(services).update((s) => {
    const requests = [...s.taken, ...s.pending].filter((r) => ids.has(r.requestId));
    const at = new Date().toISOString();
    for (const id of ids) s.results[id] = { result: results[id], at };
    s.taken = s.taken.filter((r) => !ids.has(r.requestId));
    s.pending = s.pending.filter((r) => !ids.has(r.requestId));
    return { result: requests.map((r) => ({ requestId: r.requestId, instanceId: r.replyTo })), write: true };
  });
  await answer(df.getClient(context), replyTo, results, context);
});

async function answer(client: DurableClient, to: { requestId: string; instanceId: string }[], results: Record<string, GatewayChangeResult>, context: InvocationContext): Promise<void> {
  await Promise.all(
    to.map(({ requestId, instanceId }) =>
      client.raiseEvent(instanceId, appliedEventFor(requestId), results[requestId]).catch((error: Error) => {
        // A requester that is gone no longer cares; one still waiting finds the answer in the inbox.
        context.warn(`Could not answer ${instanceId}: ${error.message.split('\n')[0].slice(0, 200)}`);
      }),
    ),
  );
}

/**
 * Before any ACME order: does the gateway have room for these hostnames' certificate, listener and
 * rule? Those it has no room for are returned with the limit, the count and what to do.
 */
export const checkGatewayCapacity = activity<{ hostnames: string[]; additionalNames?: Record<string, string[]> }, RefusedBinding[]>(async ({ hostnames, additionalNames = {} }, { gateway, config }) => {
  const current = await gateway.read();
  const bindings = hostnames.map((hostname): HttpsBinding => {
    const name = certificateNameFor(hostname);
    const others = additionalNames[hostname] ?? [];
    return { hostname, ...(others.length ? { hostnames: [hostname, ...others] } : {}), name, keyVaultSecretId: versionedSecretId(config.keyVaultBaseUrl, name, 'new') };
  });
  // A name another listener holds is refused here too, before any order (the writer would refuse the binding).
  const conflicts = bindings.flatMap((binding): RefusedBinding[] => {
    const detail = nameConflict(current, binding);
    return detail ? [{ hostname: binding.hostname, code: 'ApplicationGatewayMisconfigured', detail }] : [];
  });
  const fitting = bindings.filter((b) => !conflicts.some((c) => c.hostname === b.hostname));
  return [...conflicts, ...fitBindings(current, fitting).refused.map(capacityRefusal)];
});

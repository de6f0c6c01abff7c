/**
 * Which hostnames of a batch's wave another operation holds. A batch never starts a child whose
 * instance id is busy: DTFx drops the start event of a running instance without a word
 * ("Duplicate start event", TaskOrchestrationDispatcher.cs), so the batch would wait forever.
 * The check before a wave prevents such starts; the check after it catches the one that raced in
 * between (a single request started the hostname after the first check), so nothing hangs.
 */
import type { InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import type { DurableClient, DurableOrchestrationStatus } from 'durable-functions';
import { instanceIdFor, removalInstanceIdFor } from '../domain/requests';
import { instanceStatus, isActive } from '../durable/instances';
import { activity } from './context';

export interface WaveCheck {
  batchInstanceId: string;
  hostnames: string[];
}

/** A batch's own child carries the batch's instance id in its input. */
const belongsTo = (status: DurableOrchestrationStatus | undefined, batchInstanceId: string): boolean =>
  !!status && typeof status.input === 'object' && status.input !== null && (status.input as { batchInstanceId?: unknown }).batchInstanceId === batchInstanceId;

async function heldByOther(client: DurableClient, hostname: string, batchInstanceId: string): Promise<{ busy: boolean; ours: boolean }> {
  const [issuing, removing] = await Promise.all([instanceStatus(client, instanceIdFor(hostname)), instanceStatus(client, removalInstanceIdFor(hostname))]);
  const ours = belongsTo(issuing, batchInstanceId);
  return { busy: (isActive(issuing) && !ours) || isActive(removing), ours };
}

/** Before a wave: the hostnames another operation is working on right now. */
export const findBusyHostnames = activity<WaveCheck, string[]>(async ({ batchInstanceId, hostnames }, _services, context: InvocationContext) => {
  const client = df.getClient(context);
  const held = await Promise.all(hostnames.map((h) => heldByOther(client, h, batchInstanceId)));
  return hostnames.filter((_, i) => held[i].busy);
});

/** How long the check after a wave waits for the engine to start each child (queues can lag). */
const CONFIRM_SECONDS = 300;

/**
 * After a wave's start: the hostnames whose start the engine dropped because another operation
 * took the instance id in between, and those it has not started within CONFIRM_SECONDS (the batch
 * stops waiting for them rather than hang). A child seen running or done with this batch's id is
 * confirmed. A failing status read counts as "not seen yet" and is tried again.
 */
export const findDroppedChildren = activity<WaveCheck, string[]>(async ({ batchInstanceId, hostnames }, _services, context: InvocationContext) => {
  const client = df.getClient(context);
  const dropped: string[] = [];
  let open = [...hostnames];
  const deadline = Date.now() + CONFIRM_SECONDS * 1000;
  for (let pauseMs = 250; open.length > 0 && Date.now() < deadline; pauseMs = Math.min(pauseMs * 2, 5000)) {
    const statuses = await Promise.all(open.map((h) => instanceStatus(client, instanceIdFor(h)).catch(() => 'unknown' as const)));
    open = open.filter((hostname, i) => {
      const status = statuses[i];
      if (status === 'unknown') return true;
      if (belongsTo(status, batchInstanceId)) return false;
      if (isActive(status)) {
        dropped.push(hostname);
        return false;
      }
      return true;
    });
    if (open.length > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
  }
  return [...dropped, ...open];
});

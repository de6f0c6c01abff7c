import * as df from 'durable-functions';
import type { DurableClient, DurableOrchestrationStatus } from 'durable-functions';

const ACTIVE = new Set<string>([df.OrchestrationRuntimeStatus.Running, df.OrchestrationRuntimeStatus.Pending]);

/** An instance's status, or undefined when there is none. */
export function instanceStatus(client: DurableClient, instanceId: string): Promise<DurableOrchestrationStatus | undefined> {
  return client.getStatus(instanceId).catch(() => undefined);
}

/** Whether a status belongs to an instance that has not finished. */
export const isActive = (status: DurableOrchestrationStatus | undefined): boolean => !!status && ACTIVE.has(status.runtimeStatus);

/** Whether an orchestration instance exists and has not finished. */
export async function isInProgress(client: DurableClient, instanceId: string): Promise<boolean> {
  return isActive(await instanceStatus(client, instanceId));
}

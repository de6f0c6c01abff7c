import * as df from 'durable-functions';
import type { DurableClient } from 'durable-functions';

const ACTIVE = new Set<string>([df.OrchestrationRuntimeStatus.Running, df.OrchestrationRuntimeStatus.Pending]);

/** Whether an orchestration instance exists and has not finished. */
export async function isInProgress(client: DurableClient, instanceId: string): Promise<boolean> {
  const status = await client.getStatus(instanceId).catch(() => undefined);
  return !!status && ACTIVE.has(status.runtimeStatus);
}

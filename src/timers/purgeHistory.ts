import type { InvocationContext, Timer } from '@azure/functions';
import * as df from 'durable-functions';
import { loadConfig } from '../domain/config';

/** Purges the history of finished orchestrations older than HistoryRetentionDays (running ones stay). */
export async function purgeOldHistory(_timer: Timer, context: InvocationContext): Promise<void> {
  const { historyRetentionDays } = loadConfig();
  const before = new Date(Date.now() - historyRetentionDays * 24 * 60 * 60 * 1000);
  const result = await df.getClient(context).purgeInstanceHistoryBy({
    createdTimeFrom: new Date(0),
    createdTimeTo: before,
    runtimeStatus: [df.OrchestrationRuntimeStatus.Completed, df.OrchestrationRuntimeStatus.Failed, df.OrchestrationRuntimeStatus.Terminated],
  });
  context.info(`History purge: ${result.instancesDeleted} finished instance(s) created before ${before.toISOString()}.`);
}

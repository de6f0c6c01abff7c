import * as df from 'durable-functions';
import type { DurableClient, DurableOrchestrationStatus } from 'durable-functions';
import type { HolderState } from '../azure/hostnameClaims';
import { CertbotError, ErrorMessages } from '../domain/errors';
import { decodeFailure, type LastFailure } from '../domain/stepError';

/** Unfinished: what holds an instance id (the extension's dedupe statuses, OverridableStates.NonRunningStates). */
const ACTIVE = new Set<string>([
  df.OrchestrationRuntimeStatus.Running,
  df.OrchestrationRuntimeStatus.Pending,
  df.OrchestrationRuntimeStatus.ContinuedAsNew,
  df.OrchestrationRuntimeStatus.Suspended,
]);

/**
 * An instance's status, or undefined when there is none (the client's 404). Any other failure
 * throws a transient error: reading "none" from an outage would let a busy hostname look free.
 */
export async function instanceStatus(client: DurableClient, instanceId: string): Promise<DurableOrchestrationStatus | undefined> {
  try {
    return await client.getStatus(instanceId);
  } catch (error) {
    // durable-functions' DurableClient.getStatus: "...replied with HTTP 404 response..." for an unknown id.
    if (/replied with HTTP 404 response/.test((error as Error)?.message ?? '')) return undefined;
    throw new CertbotError('InternalError', 'Reading an orchestration status from the Durable Functions extension failed; retrying.', undefined, true);
  }
}

/** Whether a status belongs to an instance that has not finished. */
export const isActive = (status: DurableOrchestrationStatus | undefined): boolean => !!status && ACTIVE.has(status.runtimeStatus);

/** Whether an orchestration instance exists and has not finished. */
export async function isInProgress(client: DurableClient, instanceId: string): Promise<boolean> {
  return isActive(await instanceStatus(client, instanceId));
}

/** A claim holder's state (src/azure/hostnameClaims.ts): running, finished, or not (yet) there. */
export async function holderState(client: DurableClient, instanceId: string): Promise<HolderState> {
  const status = await instanceStatus(client, instanceId);
  if (!status) return { state: 'missing' };
  return isActive(status) ? { state: 'running' } : { state: 'finished', createdAt: new Date(status.createdTime) };
}

/** Whether a running instance holds the hostname now (its claim, src/azure/hostnameClaims.ts). */
export async function isHostnameBusy(client: DurableClient, holderOf: (hostname: string) => Promise<string | undefined>, hostname: string): Promise<boolean> {
  const holder = await holderOf(hostname);
  return !!holder && (await holderState(client, holder)).state === 'running';
}


/**
 * The failure of the hostname's latest issuing run (its instance id is reused by every run for
 * the hostname: the form, a batch, renew-now and the renewal timer), or null when that run did
 * not fail, is still going, or is gone (purged history).
 */
export async function lastFailureOf(client: DurableClient, instanceId: string): Promise<LastFailure | null> {
  const status = await instanceStatus(client, instanceId);
  if (status?.runtimeStatus !== df.OrchestrationRuntimeStatus.Failed) return null;
  const record = decodeFailure(status.output);
  if (!record) return null;
  return {
    instanceId,
    code: record.code,
    message: typeof record.message === 'string' ? record.message : ErrorMessages[record.code],
    failedStep: typeof record.failedStep === 'string' ? record.failedStep : null,
    at: new Date(status.lastUpdatedTime).toISOString(),
    record,
  };
}

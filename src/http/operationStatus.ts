/**
 * GET /api/operations/{instanceId}: an operation's status under the function key, for the CLI and
 * scripts. The check-status link a starter returns carries the Durable extension's system key,
 * which on Azure is not the function key, so a caller holding only an id and the function key
 * reads the status here. Only this app's orchestrations are answered; the input is never returned.
 */
import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { instanceStatus } from '../durable/instances';
import { GatewayWriter, Orchestrators } from '../functions/names';
import { invalidRequest, problemResponse } from './problem';

/** The Durable client refuses longer instance ids (DurableOrchestrationClient.cs, MaxInstanceIdLength). */
const MAX_INSTANCE_ID = 256;

/**
 * durable-functions' getStatus puts the id into its URL unencoded (DurableClient.js
 * getStatusInternal: `instances/${instanceId}`), so `?`, `#`, `%` and `/` would change what is
 * asked; `\` and `/` are the characters DurableTask's Azure Storage backend used to refuse
 * (extension 2.4.2 release notes). None of these is in an id this app makes.
 */
const UNSAFE = /[/\\?#%\p{Cc}]/u;

const APP_ORCHESTRATIONS: ReadonlySet<string> = new Set<string>([...Object.values(Orchestrators), GatewayWriter.orchestrator]);

/** Why an id is not one (undefined when it is). */
export function instanceIdProblem(instanceId: string | undefined): string | undefined {
  if (!instanceId) return 'is required';
  if (instanceId.length > MAX_INSTANCE_ID) return `is ${instanceId.length} characters long; an instance id has at most ${MAX_INSTANCE_ID}`;
  if (UNSAFE.test(instanceId)) return 'contains a character no instance id has (/, \\, ?, #, % or a control character)';
  return undefined;
}

export async function operationStatus(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const instanceId = request.params.instanceId;
  const problem = instanceIdProblem(instanceId);
  if (problem) return invalidRequest([{ field: 'instanceId', reason: problem }]);
  // An outage throws (guarded answers 503); only the extension's 404 reads as "none".
  const status = await instanceStatus(df.getClient(context), instanceId);
  if (!status || !APP_ORCHESTRATIONS.has(status.name)) {
    return problemResponse(404, 'Not found', `No operation of this app has the instance id ${instanceId}.`);
  }
  return {
    status: 200,
    jsonBody: {
      instanceId: status.instanceId,
      name: status.name,
      runtimeStatus: status.runtimeStatus,
      customStatus: status.customStatus ?? null,
      output: status.output ?? null,
      createdTime: status.createdTime,
      lastUpdatedTime: status.lastUpdatedTime,
    },
  };
}

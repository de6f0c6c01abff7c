import type { InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { GatewayWriter } from '../functions/names';
import type { GatewayChangeRequest, GatewayChangeResult } from '../orchestrators/gatewayWriter';
import { isInProgress } from '../durable/instances';
import { activity } from './context';


/** Hands a change to the gateway's writer, starting the writer if it is not running. */
export function requestGatewayChange(input: unknown, context: InvocationContext): Promise<void> {
  return activity<GatewayChangeRequest, void>(async (request, { config }) => {
    const client = df.getClient(context);
    const writerId = GatewayWriter.instanceId(config.applicationGatewayName);
    if (!(await isInProgress(client, writerId))) {
      // Two requesters may race to start it; the loser's start is refused and its event still lands.
      await client.startNew(GatewayWriter.orchestrator, { instanceId: writerId }).catch(() => undefined);
    }
    await client.raiseEvent(writerId, GatewayWriter.requestEvent, request);
  })(input, context);
}

/** Tells a requester how its change went; a requester that is gone no longer cares. */
export function replyGatewayChange(input: unknown, context: InvocationContext): Promise<void> {
  return activity<{ replyTo: string; result: GatewayChangeResult }, void>(async ({ replyTo, result }) => {
    await df
      .getClient(context)
      .raiseEvent(replyTo, GatewayWriter.appliedEvent, result)
      .catch((error: Error) => context.warn(`Could not answer ${replyTo}: ${error.message}`));
  })(input, context);
}

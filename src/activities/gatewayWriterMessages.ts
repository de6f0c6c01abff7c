import * as df from 'durable-functions';
import { GatewayWriter } from '../functions/names';
import type { GatewayChangeRequest, GatewayChangeResult } from '../orchestrators/gatewayWriter';
import { isInProgress } from '../durable/instances';
import { activity } from './context';

/** Hands a change to the gateway's writer, starting the writer if it is not running. */
export const requestGatewayChange = activity<GatewayChangeRequest, void>(async (request, { config }, context) => {
  const client = df.getClient(context);
  const writerId = GatewayWriter.instanceId(config.applicationGatewayName);
  if (!(await isInProgress(client, writerId))) {
    // Two requesters may race to start it; the loser's start is refused and its event still lands.
    await client.startNew(GatewayWriter.orchestrator, { instanceId: writerId }).catch(() => undefined);
  }
  await client.raiseEvent(writerId, GatewayWriter.requestEvent, request);
});

/** Tells a requester how its change went; a requester that is gone no longer cares. */
export const replyGatewayChange = activity<{ replyTo: string; result: GatewayChangeResult }, void>(async ({ replyTo, result }, _services, context) => {
  await df
    .getClient(context)
    .raiseEvent(replyTo, GatewayWriter.appliedEvent, result)
    .catch((error: Error) => context.warn(`Could not answer ${replyTo}: ${error.message}`));
});

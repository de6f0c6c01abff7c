import * as df from 'durable-functions';
import type { Busy } from '../azure/hostnameClaims';
import { holderState } from '../durable/instances';
import { activity } from './context';

export interface ClaimRequest {
  hostnames: string[];
  holder: string;
}

/**
 * An operation's first step: hold its hostnames (the starter claimed them already, so this finds
 * them held). It matters when a run of the same instance id started in the gap after an earlier
 * run released them: every run holds its hostnames for its whole duration.
 */
export const claimHostnames = activity<ClaimRequest, Busy[]>(async ({ hostnames, holder }, { claims }, context) => {
  const client = df.getClient(context);
  const outcome = await claims.claim(hostnames, holder, (id) => holderState(client, id));
  return outcome.ok ? [] : outcome.busy;
});

/** An operation's last step: give its hostnames back (see src/azure/hostnameClaims.ts). */
export const releaseHostnames = activity<ClaimRequest, void>(async ({ hostnames, holder }, { claims }) => claims.release(hostnames, holder));

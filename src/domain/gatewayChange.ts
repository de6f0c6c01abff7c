/**
 * The messages between the operations that change the gateway and its single writer
 * (src/orchestrators/gatewayWriter.ts): a request carries its own id, and its answer is raised as
 * an event named after that id, so a late answer can never be taken by another waiter.
 */
import type { HttpsBinding, HttpsRemoval } from './gatewayPlan';
import type { StepErrorInfo } from './stepError';

export interface GatewayChangeRequest {
  requestId: string;
  /** The orchestration instance that asked (it must hold each hostname's claim). */
  replyTo: string;
  bindings: HttpsBinding[];
  removals: HttpsRemoval[];
}

/** A binding the gateway had no room for (the rest of the request was applied). */
export interface RefusedBinding {
  hostname: string;
  /** No room on the gateway, or a name another listener holds. */
  code: 'ApplicationGatewayCapacityExceeded' | 'ApplicationGatewayMisconfigured';
  detail: string;
}

export interface GatewayChangeResult {
  ok: boolean;
  written?: boolean;
  error?: StepErrorInfo;
  refused?: RefusedBinding[];
}

/** The event that answers one request. */
export const appliedEventFor = (requestId: string): string => `GatewayChangeApplied-${requestId}`;

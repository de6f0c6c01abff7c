import type { SandboxOptions } from '../../sandbox';

/**
 * Gateway timing scaled down for tests. `npm start` keeps the realistic default (a PUT lasting
 * 45 s, Retry-After 10 s); tests keep the same shape (a long-running operation that is polled and
 * can be cancelled or conflict) at a scale that lets a suite finish in minutes.
 */
export const SCALED_GATEWAY_MS = 1500;

export function scaledGateway(options: SandboxOptions): SandboxOptions {
  return {
    armOperationDelayMs: SCALED_GATEWAY_MS,
    armRetryAfterSeconds: 1,
    ...options,
    settings: { ApplicationGatewayBusyPollSeconds: '1', ...options.settings },
  };
}

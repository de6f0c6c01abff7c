import { FailureBackoffStore } from '../azure/failureBackoff';
import { activity } from './context';

/**
 * A run for the hostname ended: a failure moves its back-off on (src/domain/failureBackoff.ts), a
 * success clears it. `run` identifies the run, so that a repeated record counts once.
 */
export const recordIssuanceOutcome = activity<{ hostname: string; failure?: { code: string; run: string } }, void>(async ({ hostname, failure }, { config }) => {
  const store = new FailureBackoffStore(config);
  if (failure) await store.failed(hostname, failure.run, failure.code);
  else await store.succeeded(hostname);
});

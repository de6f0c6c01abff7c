/**
 * Per-hostname back-off after failed issuances and renewals, across runs and timer days, as Let's
 * Encrypt's integration guide asks of clients (https://letsencrypt.org/docs/integration-guide/,
 * "Retrying failures": back off 1 minute, 10 minutes, 100 minutes, then once a day). Only automatic
 * attempts (the renewal timer) wait; a manual issue or renew-now goes ahead and says so. A success
 * clears it. Pure logic; stored per hostname by src/azure/failureBackoff.ts.
 */
export interface BackoffState {
  consecutiveFailures: number;
  lastFailureAt: string;
  /** The earliest time the next automatic attempt may start (UTC). */
  nextAttemptAt: string;
  /** The code of the last failure. */
  lastCode?: string;
  /** The run (instance and start) the last failure was counted for: a repeated record of it counts once. */
  run?: string;
}

const MINUTE = 60_000;
/** 1 min, 10 min, 100 min, then a day for every further failure. */
export const BACKOFF_STEPS_MS = [MINUTE, 10 * MINUTE, 100 * MINUTE];
export const DAILY_MS = 24 * 60 * MINUTE;

/** The wait after the n-th consecutive failure (1-based). */
export function backoffAfter(failures: number): number {
  return failures <= BACKOFF_STEPS_MS.length ? BACKOFF_STEPS_MS[Math.max(1, failures) - 1] : DAILY_MS;
}

/** The state after one more failure at `now`. */
export function afterFailure(previous: BackoffState | undefined, now: Date, code?: string): BackoffState {
  const consecutiveFailures = (previous?.consecutiveFailures ?? 0) + 1;
  return {
    consecutiveFailures,
    lastFailureAt: now.toISOString(),
    nextAttemptAt: new Date(now.getTime() + backoffAfter(consecutiveFailures)).toISOString(),
    ...(code ? { lastCode: code } : {}),
  };
}

/**
 * Whether an automatic attempt must still wait at `now`. `dailySlackMs`: a daily timer's run starts
 * a little after its tick (jitter) and fails later still, so "a day after the failure" would fall
 * just after the next tick and skip a whole day; the daily step is due that much early.
 */
export function isBackingOff(state: BackoffState | undefined, now: Date, dailySlackMs = 0): state is BackoffState {
  if (!state) return false;
  const slack = state.consecutiveFailures > BACKOFF_STEPS_MS.length ? dailySlackMs : 0;
  return Date.parse(state.nextAttemptAt) - slack > now.getTime();
}

/** Failures that are not the hostname's own: another operation holds it. They leave the back-off alone. */
export const NOT_COUNTED_FAILURES = new Set(['HostnameAlreadyInProgress']);

/** What a manual request that goes ahead anyway is told. */
export function overrideNotice(state: BackoffState): string {
  return `Started despite the failure back-off: ${state.consecutiveFailures} consecutive failure(s), the last at ${state.lastFailureAt}; automatic attempts wait until ${state.nextAttemptAt}.`;
}

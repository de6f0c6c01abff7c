import { afterFailure, backoffAfter, isBackingOff, overrideNotice } from '../../src/domain/failureBackoff';

const MINUTE = 60_000;

describe('the per-hostname failure back-off', () => {
  it("waits 1 minute, 10 minutes, 100 minutes, then a day (Let's Encrypt's integration guide)", () => {
    expect([1, 2, 3, 4, 5, 30].map(backoffAfter)).toEqual([MINUTE, 10 * MINUTE, 100 * MINUTE, 1440 * MINUTE, 1440 * MINUTE, 1440 * MINUTE]);
  });

  it('counts consecutive failures and holds automatic attempts until the next attempt time', () => {
    const t0 = new Date('2026-12-01T00:00:00Z');
    const first = afterFailure(undefined, t0, 'AcmeChallengeFailed');
    expect(first).toEqual({ consecutiveFailures: 1, lastFailureAt: t0.toISOString(), nextAttemptAt: '2026-12-01T00:01:00.000Z', lastCode: 'AcmeChallengeFailed' });
    expect(isBackingOff(first, new Date(t0.getTime() + 59_000))).toBe(true);
    expect(isBackingOff(first, new Date(t0.getTime() + MINUTE))).toBe(false);
    const t1 = new Date(t0.getTime() + 2 * MINUTE);
    const second = afterFailure(first, t1);
    expect(second.consecutiveFailures).toBe(2);
    expect(second.nextAttemptAt).toBe('2026-12-01T00:12:00.000Z');
    expect(afterFailure(afterFailure(second, t1), t1).nextAttemptAt).toBe('2026-12-02T00:02:00.000Z');
    expect(isBackingOff(undefined, t0)).toBe(false);
  });

  it("lets the daily step be served by the next daily tick, whose run failed a little after its tick", () => {
    const tick = new Date('2026-12-01T03:00:00Z');
    let state = afterFailure(undefined, tick);
    for (let i = 0; i < 3; i++) state = afterFailure(state, new Date('2026-12-01T03:40:00Z'));
    expect(state).toMatchObject({ consecutiveFailures: 4, nextAttemptAt: '2026-12-02T03:40:00.000Z' });
    const nextTick = new Date('2026-12-02T03:00:00Z');
    expect(isBackingOff(state, nextTick)).toBe(true);
    expect(isBackingOff(state, nextTick, 90 * MINUTE)).toBe(false);
    // The stepped waits (1, 10, 100 minutes) are not shortened.
    expect(isBackingOff(afterFailure(undefined, tick), new Date(tick.getTime() + 30_000), 90 * MINUTE)).toBe(true);
  });

  it('tells a manual request that it went ahead despite the back-off', () => {
    const state = afterFailure(undefined, new Date('2026-12-01T00:00:00Z'));
    expect(overrideNotice(state)).toBe('Started despite the failure back-off: 1 consecutive failure(s), the last at 2026-12-01T00:00:00.000Z; automatic attempts wait until 2026-12-01T00:01:00.000Z.');
  });
});

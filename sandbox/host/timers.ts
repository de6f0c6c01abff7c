import type { Clock } from './clock';
import type { FunctionRegistry, RegisteredFunction } from './functionsCore';
import type { LogSink } from './invoke';
import { parseSchedule, Schedule } from './ncrontab';

/**
 * Runs timer-triggered functions on their schedules, as `func start` does: `%Setting%` in the
 * schedule is resolved from the app settings, and each run gets the schedule status the host's
 * schedule monitor keeps (last, next). Only with the real clock: the virtual clock serves protocol
 * tests, which run timers on demand through POST /admin/functions/{name}.
 */
export interface TimerTriggerOptions {
  registry: FunctionRegistry;
  clock: Clock;
  env: Record<string, string | undefined>;
  log: LogSink;
  run(fn: RegisteredFunction, scheduleStatus: { Last: string; Next: string; LastUpdated: string }): void;
}

export function resolveSchedule(schedule: string, env: Record<string, string | undefined>): string {
  return schedule.replace(/%([^%]+)%/g, (_match, name: string) => {
    const value = env[name];
    if (value === undefined) throw new Error(`app setting ${name} (used by the schedule) is not set`);
    return value;
  });
}

export function startTimerTriggers(options: TimerTriggerOptions): () => void {
  if (options.clock.kind !== 'real') return () => undefined;
  const cancels = new Map<string, () => void>();
  for (const fn of options.registry.byTriggerType('timerTrigger')) {
    let schedule: Schedule;
    try {
      schedule = parseSchedule(resolveSchedule(String((fn.trigger as { schedule?: unknown }).schedule ?? ''), options.env));
    } catch (error) {
      // The real host refuses to index such a function; here it is logged and left unscheduled.
      options.log(fn.metadata.name, 'error', `Timer schedule not usable: ${(error as Error).message}`);
      continue;
    }
    let last = options.clock.now();
    const arm = (): void => {
      const fireAt = schedule.next(options.clock.now());
      const cancel = options.clock.schedule(fireAt, () => {
        const now = options.clock.now();
        options.run(fn, { Last: last.toISOString(), Next: schedule.next(now).toISOString(), LastUpdated: now.toISOString() });
        last = now;
        arm();
      });
      cancels.set(fn.metadata.name, cancel);
    };
    arm();
  }
  return () => cancels.forEach((cancel) => cancel());
}

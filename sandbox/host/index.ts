import path from 'node:path';
import { Clock, RealClock, VirtualClock } from './clock';
import { loadApp } from './functionsCore';
import { defaultLogSink, LogSink } from './invoke';
import { DurableRuntime } from './runtime';
import { HostKeys, HostServer, newKey } from './server';
import { InstanceStore } from './store';
import { startTimerTriggers } from './timers';
import { ActivityWorkerPool } from './workerPool';

/**
 * The local durable host: loads the app unchanged, replays its orchestrations with the real
 * durable-functions engine and serves the same HTTP API as `func start`.
 */
export interface DurableHostOptions {
  /** The app's compiled entry (package.json "main"). */
  app: string;
  port?: number;
  stateDir: string;
  clock?: 'real' | 'virtual';
  keys?: Partial<HostKeys>;
  hubName?: string;
  log?: LogSink;
  /** Timer functions: run on their schedules like `func start` (default), or only on demand. */
  timers?: 'schedule' | 'manual';
  /** Activities run in this many worker processes, like instances of Flex Consumption (default 2; 0: in the host process). */
  activityWorkers?: number;
  /** Durable timers fire this much late, as on the Azure Storage backend's idle polling (default 0). */
  timerLatencyMs?: number;
}

export interface DurableHost {
  url: string;
  port: number;
  functionKey: string;
  masterKey: string;
  runtime: DurableRuntime;
  drain(): Promise<void>;
  stop(): Promise<void>;
}

export async function startDurableHost(options: DurableHostOptions): Promise<DurableHost> {
  const registry = loadApp(path.resolve(options.app));
  const clock: Clock = options.clock === 'virtual' ? new VirtualClock() : new RealClock();
  const log = options.log ?? defaultLogSink;
  const keys: HostKeys = {
    functionKey: options.keys?.functionKey ?? newKey(),
    masterKey: options.keys?.masterKey ?? newKey(),
  };
  const runtime = new DurableRuntime({ registry, store: new InstanceStore(options.stateDir), clock, log, timerLatencyMs: options.timerLatencyMs });
  const server = new HostServer(registry, runtime, keys, options.hubName ?? 'AppGwCertbotHub', log);
  const activityWorkers = options.activityWorkers ?? 2;
  if (!Number.isInteger(activityWorkers) || activityWorkers < 0) throw new Error(`activityWorkers must be a whole number >= 0 (got ${activityWorkers}).`);
  // Set before the server listens: an activity scheduled while the workers start waits for them
  // rather than running in the host process.
  let poolStarted!: (pool: ActivityWorkerPool) => void;
  const poolReady = new Promise<ActivityWorkerPool>((resolve) => (poolStarted = resolve));
  if (activityWorkers > 0) runtime.activityRunner = async (name, input) => (await poolReady).run(name, input, runtime.clientBindingData());
  const port = await server.listen(options.port ?? 7071);
  runtime.clientBindingData = () => server.clientBindingData();
  // The durable client rewrites status links to localhost:7071 unless the host names itself.
  process.env.WEBSITE_HOSTNAME = `localhost:${port}`;
  // Forked after WEBSITE_HOSTNAME is set, so the workers' durable clients name the host too.
  let pool: ActivityWorkerPool | undefined;
  if (activityWorkers > 0) {
    try {
      pool = await ActivityWorkerPool.start({ app: path.resolve(options.app), count: activityWorkers, env: process.env, log });
    } catch (error) {
      await server.close();
      throw error;
    }
    poolStarted(pool);
  }
  runtime.recover();
  const stopTimers =
    options.timers === 'manual' ? () => undefined : startTimerTriggers({ registry, clock, env: process.env, log, run: (fn, status) => server.runTimer(fn, status) });
  return {
    url: `http://localhost:${port}`,
    port,
    ...keys,
    runtime,
    drain: () => runtime.drain(),
    stop: async () => {
      stopTimers();
      runtime.stop();
      await pool?.stop();
      await server.close();
    },
  };
}

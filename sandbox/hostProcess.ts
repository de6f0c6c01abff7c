import { ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';

/** Runs the local durable host as a child process (`npm start`, the end-to-end tests). */
export interface HostProcess {
  pid: number;
  url: string;
  port: number;
  functionKey: string;
  masterKey: string;
  output: string[];
  kill(signal?: NodeJS.Signals): Promise<void>;
}

// Compiled to dist/sandbox/: the repository root is two levels up either way (ts-jest or dist).
const root = path.resolve(__dirname, __dirname.includes(`${path.sep}dist${path.sep}`) ? '../..' : '..');

export async function spawnHost(options: {
  app: string;
  stateDir: string;
  clock?: 'real' | 'virtual';
  env?: Record<string, string>;
  port?: number;
  functionKey?: string;
  masterKey?: string;
  /** Mirror the host's output lines (function logs) to this process's console. */
  echo?: boolean;
  /** Timer functions on their schedules, or (default, for deterministic tests) only on demand. */
  timers?: 'schedule' | 'manual';
  /** Activities in this many worker processes, as on separate Flex Consumption instances (default 2; 0: in the host process). */
  activityWorkers?: number;
  /** Durable timers fire this much late (the Azure Storage backend's queue polling); default 0. */
  timerLatencyMs?: number;
}): Promise<HostProcess> {
  const functionKey = options.functionKey ?? 'test-function-key';
  const masterKey = options.masterKey ?? 'test-master-key';
  const child: ChildProcess = spawn(
    process.execPath,
    [
      path.join(root, 'dist/sandbox/host/main.js'),
      '--app', path.resolve(root, options.app),
      '--state', options.stateDir,
      '--port', String(options.port ?? 0),
      '--clock', options.clock ?? 'virtual',
      '--timers', options.timers ?? 'manual',
      '--function-key', functionKey,
      '--master-key', masterKey,
      '--activity-workers', String(options.activityWorkers ?? 2),
      '--timer-latency-ms', String(options.timerLatencyMs ?? 0),
    ],
    { env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const output: string[] = [];
  const keep = (line: string): void => {
    output.push(line);
    if (options.echo) console.log(line);
  };
  readline.createInterface({ input: child.stderr! }).on('line', keep);
  const lines = readline.createInterface({ input: child.stdout! });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`host exited with ${code}: ${output.join('\n')}`)));
    lines.on('line', (line) => {
      keep(line);
      if (line.startsWith('{"event":"listening"')) resolve((JSON.parse(line) as { port: number }).port);
    });
  });
  child.removeAllListeners('exit');
  return {
    pid: child.pid ?? 0,
    url: `http://127.0.0.1:${port}`,
    port,
    functionKey,
    masterKey,
    output,
    kill: (signal = 'SIGTERM') =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill(signal);
      }),
  };
}

export interface StatusBody {
  name: string;
  instanceId: string;
  runtimeStatus: string;
  input: unknown;
  customStatus: unknown;
  output: unknown;
  createdTime: string;
  lastUpdatedTime: string;
  historyEvents?: Record<string, unknown>[];
}

/** Polls a status URL until the instance is no longer Pending/Running. */
export async function waitForStatus(statusUrl: string, timeoutMs = 60_000): Promise<{ httpStatus: number; body: StatusBody }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await fetch(statusUrl);
    const body = (await response.json()) as StatusBody;
    if (!['Pending', 'Running'].includes(body.runtimeStatus)) return { httpStatus: response.status, body };
    if (Date.now() > deadline) throw new Error(`still ${body.runtimeStatus} after ${timeoutMs} ms: ${statusUrl}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

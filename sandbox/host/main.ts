import { startDurableHost } from './index';

/**
 * CLI: node dist/sandbox/host/main.js --app <entry.js> --state <dir> [--port 7071]
 *        [--clock real|virtual] [--timers schedule|manual] [--function-key K] [--master-key K]
 *        [--activity-workers N (default 2; 0: activities run in the host process)]
 *        [--timer-latency-ms N (durable timers fire this late, as on a polling backend; default 0)]
 * Prints one JSON line {"event":"listening",...} on stdout when ready.
 */
function args(argv: string[]): Record<string, string> {
  const result: Record<string, string> = {};
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith('--') || argv[i + 1] === undefined) throw new Error(`Unexpected argument ${argv[i]}`);
    result[argv[i].slice(2)] = argv[i + 1];
  }
  return result;
}

async function main(): Promise<void> {
  const options = args(process.argv.slice(2));
  if (!options.app || !options.state) throw new Error('--app and --state are required');
  const host = await startDurableHost({
    app: options.app,
    stateDir: options.state,
    port: options.port ? Number(options.port) : 7071,
    clock: options.clock === 'virtual' ? 'virtual' : 'real',
    timers: options.timers === 'manual' ? 'manual' : 'schedule',
    keys: { functionKey: options['function-key'], masterKey: options['master-key'] },
    activityWorkers: options['activity-workers'] === undefined ? undefined : Number(options['activity-workers']),
    timerLatencyMs: options['timer-latency-ms'] === undefined ? undefined : Number(options['timer-latency-ms']),
  });
  process.stdout.write(`${JSON.stringify({ event: 'listening', port: host.port, url: host.url })}\n`);
  const shutdown = (): void => {
    void host.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

main().catch((error: Error) => {
  console.error(`Durable host failed to start: ${error.message}`);
  process.exit(1);
});

import { loadApp, registry } from './functionsCore';
import { fromTypedData, invoke, jsonData } from './invoke';

/**
 * An activity worker process (started by ActivityWorkerPool with child_process.fork): one of the
 * separate instances Flex Consumption runs activities on. It loads the app unchanged, so every
 * module-level cache is this process's own, and runs the activities the host sends it over IPC.
 *
 * Protocol: the parent sends `run`; the worker answers `ready` once, then `result` per run and
 * `log` for each function log line.
 */
export interface RunMessage {
  type: 'run';
  id: number;
  name: string;
  /** The activity input as JSON text (undefined: no input). */
  input?: string;
  /** The durableClient binding data, for activities that declare a durable client input. */
  clientBindingData: Record<string, unknown>;
}

export type WorkerMessage =
  | { type: 'ready'; pid: number }
  | { type: 'log'; functionName: string; level: string; message: string }
  | { type: 'result'; id: number; ok: true; /** JSON text; null when the activity returned nothing. */ value: string | null }
  | { type: 'result'; id: number; ok: false; message: string; stack?: string };

/** Sends to the host; false when there is no channel (the host is gone, or no fork). */
function send(message: WorkerMessage, then?: () => void): boolean {
  if (!process.send || !process.connected) return false;
  process.send(message, undefined, {}, () => then?.());
  return true;
}

function log(functionName: string, level: string, message: string): void {
  send({ type: 'log', functionName, level, message });
}

// As the Azure Node worker does: an uncaught error is logged, then the process exits (the pool
// starts a new worker and re-runs what was in flight here).
process.on('uncaughtException', (error: Error) => {
  const message = `Activity worker ${process.pid} uncaught exception, exiting: ${error.stack ?? String(error)}`;
  const exit = (): never => process.exit(1);
  if (!send({ type: 'log', functionName: 'activityWorker', level: 'error', message }, exit)) {
    console.error(message);
    exit();
  }
});
// The host owns its workers: it stops them itself. Ctrl+C reaches the whole process group, and a
// worker dying first would look like a crash to the pool.
process.on('SIGINT', () => undefined);
// The host is gone (stopped or killed): its work is abandoned, as on a host crash in-process.
process.on('disconnect', () => process.exit(0));

async function run(message: RunMessage): Promise<WorkerMessage> {
  const fn = registry.get(message.name);
  if (!fn || fn.trigger.type !== 'activityTrigger') {
    return { type: 'result', id: message.id, ok: false, message: `The function '${message.name}' doesn't exist, is disabled, or is not an activity function.` };
  }
  try {
    // Exactly what DurableRuntime.runActivity does in-process.
    const result = await invoke({
      fn,
      trigger: { json: message.input ?? 'null' },
      extraInputs: { durableClient: jsonData(message.clientBindingData) },
      log,
    });
    const value = fromTypedData(result);
    return { type: 'result', id: message.id, ok: true, value: value === undefined ? null : JSON.stringify(value) };
  } catch (error) {
    const failure = error instanceof Error ? error : new Error(String(error));
    return { type: 'result', id: message.id, ok: false, message: failure.message, stack: failure.stack };
  }
}

if (!process.send) throw new Error('activityWorker must be started by ActivityWorkerPool (child_process.fork).');
const appPath = process.argv[2];
if (!appPath) throw new Error('activityWorker: the app entry path is required as its first argument.');
loadApp(appPath);

process.on('message', (message: RunMessage) => {
  if (message?.type !== 'run') return;
  void run(message).then((reply) => send(reply));
});
send({ type: 'ready', pid: process.pid });

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Action, HistoryEvent, RetryOptions } from './history';

/**
 * Instance state, persisted one JSON file per instance with atomic writes (temp file + rename), so a
 * host killed at any moment restarts from the last committed state.
 */
export type RuntimeStatus = 'Pending' | 'Running' | 'Completed' | 'Failed' | 'Terminated' | 'ContinuedAsNew' | 'Suspended';

export const TERMINAL: ReadonlySet<RuntimeStatus> = new Set(['Completed', 'Failed', 'Terminated']);

/** A task the host must run: an activity, or a sub-orchestration to start. */
export interface PendingTask {
  taskId: number;
  kind: 'activity' | 'subOrchestration';
  name: string;
  /** JSON text of the input, as recorded in TaskScheduled. */
  input?: string;
  childInstanceId?: string;
  /** Retry group this attempt belongs to (the first attempt's task id). */
  retryGroup?: number;
}

export interface RetryGroup {
  kind: 'activity' | 'subOrchestration';
  name: string;
  input?: string;
  options: RetryOptions;
  failures: number;
  firstScheduledAt: string;
  lastFailure?: { Reason: string; Details: string };
  childInstanceIdBase?: string;
  /** Task ids of the attempts after the first. */
  attemptIds?: number[];
}

export interface PendingTimer {
  timerId: number;
  fireAt: string;
  /** The retry group whose retry timer this is, if any. */
  retryGroup?: number;
}

export interface RecordedAction extends Pick<Action, 'actionType' | 'functionName'> {
  key: string;
  taskId?: number;
  /** Listed again by a later Task.all/any: the same task, not a new one. */
  aliasOf?: boolean;
  /** Index in history of the episode that recorded it. */
  episode?: number;
}

export interface InstanceState {
  instanceId: string;
  name: string;
  status: RuntimeStatus;
  input?: string;
  output?: string;
  customStatus?: string;
  createdTime: string;
  lastUpdatedTime: string;
  parent?: { instanceId: string; taskId: number };
  /** Committed history: what the engine replays. */
  history: HistoryEvent[];
  /** Events received and not yet processed by an episode (completions, timers, external events). */
  inbox: HistoryEvent[];
  /** Flattened actions recorded so far, to detect non-determinism; `taskId` is the engine's number. */
  recordedActions: RecordedAction[];
  nextTaskId: number;
  tasks: PendingTask[];
  timers: PendingTimer[];
  retryGroups: Record<string, RetryGroup>;
  /** Sub-orchestration ids whose start was dropped (another instance had the id): never answered. */
  droppedStarts?: string[];
}

/** Instance ids run to 256 characters; file names stop at 255 bytes, and encoding lengthens them. */
export function instanceFileName(instanceId: string): string {
  const encoded = encodeURIComponent(instanceId);
  const name = encoded.length <= 200 ? encoded : `${encoded.slice(0, 120)}~${createHash('sha256').update(instanceId).digest('hex')}`;
  return `${name}.json`;
}

export class InstanceStore {
  private readonly dir: string;

  constructor(stateDir: string) {
    this.dir = path.join(stateDir, 'instances');
    fs.mkdirSync(this.dir, { recursive: true });
  }

  private file(instanceId: string): string {
    return path.join(this.dir, instanceFileName(instanceId));
  }

  save(instance: InstanceState): void {
    const target = this.file(instance.instanceId);
    const temp = `${target}.${process.pid}.tmp`;
    const fd = fs.openSync(temp, 'w');
    try {
      fs.writeSync(fd, JSON.stringify(instance));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temp, target);
  }

  delete(instanceId: string): void {
    fs.rmSync(this.file(instanceId), { force: true });
  }

  loadAll(): InstanceState[] {
    return fs
      .readdirSync(this.dir)
      .filter((name) => name.endsWith('.json'))
      .map((name) => JSON.parse(fs.readFileSync(path.join(this.dir, name), 'utf8')) as InstanceState);
  }
}

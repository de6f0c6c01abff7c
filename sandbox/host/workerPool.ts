import { ChildProcess, fork } from 'node:child_process';
import path from 'node:path';
import type { RunMessage, WorkerMessage } from './activityWorker';
import { LogSink } from './invoke';

/**
 * Runs activities in separate worker processes, as Flex Consumption runs them on separate
 * instances: module state (caches, clients) is per worker, never shared by the whole host.
 */
interface Job {
  id: number;
  name: string;
  input?: string;
  clientBindingData: Record<string, unknown>;
  resolve(value: unknown): void;
  reject(error: Error): void;
}

interface Worker {
  child: ChildProcess;
  pid: number;
  ready: boolean;
  /** Settles when the worker announces itself; rejects when it exits before that. */
  started: Promise<void>;
  /** Jobs sent to (or queued for) this worker and not answered yet. */
  jobs: Map<number, Job>;
}

export interface ActivityWorkerPoolOptions {
  /** The app's compiled entry, loaded by every worker. */
  app: string;
  count: number;
  /** The workers' environment (default: this process's, as it is at fork time). */
  env?: NodeJS.ProcessEnv;
  log: LogSink;
}

export class ActivityWorkerPool {
  private readonly workers: Worker[] = [];
  private nextJobId = 1;
  private nextWorker = 0;
  private stopping = false;

  private constructor(private readonly options: ActivityWorkerPoolOptions) {}

  /** Forks `count` workers and resolves once every one has loaded the app. */
  static async start(options: ActivityWorkerPoolOptions): Promise<ActivityWorkerPool> {
    if (!Number.isInteger(options.count) || options.count < 1) throw new Error(`An activity worker pool needs at least one worker (got ${options.count}).`);
    const pool = new ActivityWorkerPool(options);
    for (let i = 0; i < options.count; i++) pool.workers.push(pool.fork());
    try {
      await Promise.all(pool.workers.map((w) => w.started));
    } catch (error) {
      await pool.stop();
      throw error;
    }
    return pool;
  }

  get pids(): number[] {
    return this.workers.map((w) => w.pid);
  }

  /** Runs an activity on the next worker: resolves with its value, rejects with its error. */
  run(name: string, input: string | undefined, clientBindingData: Record<string, unknown>): Promise<unknown> {
    if (this.stopping) return Promise.reject(new Error('The activity worker pool is stopped.'));
    return new Promise((resolve, reject) => {
      this.dispatch({ id: this.nextJobId++, name, input, clientBindingData, resolve, reject });
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const exits: Promise<void>[] = [];
    for (const worker of this.workers) {
      for (const job of worker.jobs.values()) job.reject(new Error('The activity worker pool is stopped.'));
      worker.jobs.clear();
      const { child } = worker;
      if (child.exitCode !== null || child.signalCode !== null) continue;
      exits.push(new Promise((resolve) => child.once('exit', () => resolve())));
      child.kill('SIGTERM');
    }
    await Promise.all(exits);
  }

  // Round-robin, so activities that run at the same time land on different processes; a worker
  // still starting (just respawned) is passed over while another one is ready.
  private dispatch(job: Job): void {
    if (this.workers.length === 0) return job.reject(new Error('No activity worker is running.'));
    let worker = this.workers[this.nextWorker++ % this.workers.length];
    for (let i = 1; i < this.workers.length && !worker.ready; i++) worker = this.workers[this.nextWorker++ % this.workers.length];
    worker.jobs.set(job.id, job);
    if (worker.ready) this.send(worker, job);
  }

  private send(worker: Worker, job: Job): void {
    const message: RunMessage = { type: 'run', id: job.id, name: job.name, input: job.input, clientBindingData: job.clientBindingData };
    // A send fails only when the worker is gone: its exit handler re-runs the job.
    worker.child.send(message, () => undefined);
  }

  private fork(): Worker {
    const child = fork(path.join(__dirname, 'activityWorker.js'), [this.options.app], { env: this.options.env ?? process.env });
    let announced!: () => void;
    let failed!: (error: Error) => void;
    const worker: Worker = {
      child,
      pid: child.pid ?? 0,
      ready: false,
      started: new Promise<void>((resolve, reject) => {
        announced = resolve;
        failed = reject;
      }),
      jobs: new Map(),
    };
    // A respawned worker's start is not awaited: its failure is handled in onExit.
    worker.started.catch(() => undefined);
    child.on('message', (message: WorkerMessage) => this.onMessage(worker, message, announced));
    child.on('error', (error) => this.options.log('activityWorker', 'error', `Activity worker ${worker.pid}: ${error.message}`));
    child.once('exit', (code, signal) => {
      failed(new Error(`Activity worker ${worker.pid} exited (${signal ?? `code ${code}`}) before it loaded the app.`));
      this.onExit(worker, code, signal);
    });
    return worker;
  }

  private onMessage(worker: Worker, message: WorkerMessage, announced: () => void): void {
    switch (message.type) {
      case 'ready':
        worker.ready = true;
        announced();
        for (const job of worker.jobs.values()) this.send(worker, job);
        return;
      case 'log':
        return this.options.log(message.functionName, message.level, message.message);
      case 'result': {
        const job = worker.jobs.get(message.id);
        // Unknown: answered after the pool stopped, or a late answer for a job already re-run.
        if (!job) return;
        worker.jobs.delete(message.id);
        if (message.ok) return job.resolve(message.value === null ? undefined : JSON.parse(message.value));
        const error = new Error(message.message);
        error.stack = message.stack;
        return job.reject(error);
      }
    }
  }

  /**
   * A worker died (killed, out of memory, an uncaught error): a new one takes its place and the
   * activities it was running run again on a live worker. At-least-once, as on Azure: the work
   * item of a crashed instance is delivered again once its lock expires.
   */
  private onExit(worker: Worker, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.stopping) return;
    const index = this.workers.indexOf(worker);
    if (index < 0) return;
    const jobs = [...worker.jobs.values()];
    worker.jobs.clear();
    // One that never loaded the app would fail the same way again: no endless respawning.
    let replaced = ' (not replaced: it never loaded the app)';
    if (worker.ready) {
      this.workers[index] = this.fork();
      replaced = ` (replaced by worker ${this.workers[index].pid})`;
    } else {
      this.workers.splice(index, 1);
    }
    const rerun = jobs.length > 0 ? `; running again: ${jobs.map((j) => j.name).join(', ')}` : '';
    this.options.log('activityWorker', 'warning', `Activity worker ${worker.pid} exited (${signal ?? `code ${code}`})${replaced}${rerun}.`);
    for (const job of jobs) this.dispatch(job);
  }
}

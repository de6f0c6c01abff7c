import { Clock } from './clock';
import { FunctionRegistry, RegisteredFunction } from './functionsCore';
import { Action, ActionType, actionKey, consumesTaskId, event, EventType, flattenActions, HistoryEvent, RetryOptions } from './history';
import { fromTypedData, invoke, jsonData, LogSink, defaultLogSink } from './invoke';
import { InstanceState, InstanceStore, PendingTask, RecordedAction, RuntimeStatus, TERMINAL } from './store';

/**
 * The orchestration runtime: what the Durable extension + DTFx do for an out-of-process JS app.
 * Each episode replays the committed history plus exactly one new event through the app's real
 * orchestrator (the durable-functions replay engine), then turns the returned actions into history
 * and work. One new event per episode keeps the host's task numbering in lockstep with the engine's
 * (which numbers tasks in the order it processes events, retry timers included).
 */
export class ConflictError extends Error {}
export class NotFoundError extends Error {}
export class GoneError extends Error {}

interface OrchestratorResult {
  isDone: boolean;
  actions: Action[][] | Action[];
  output?: unknown;
  error?: string;
  customStatus?: unknown;
}

const OUT_OF_PROC = '\n\n$OutOfProcData$:';

export interface RuntimeOptions {
  registry: FunctionRegistry;
  store: InstanceStore;
  clock: Clock;
  log?: LogSink;
}

export class DurableRuntime {
  readonly instances = new Map<string, InstanceState>();
  private readonly registry: FunctionRegistry;
  private readonly store: InstanceStore;
  private readonly clock: Clock;
  private readonly log: LogSink;
  private readonly runningTasks = new Set<string>();
  private readonly timerHandles = new Map<string, () => void>();
  private readonly waiters = new Set<() => void>();
  private processing = false;
  private stopped = false;
  /** Episodes of the instance being processed so far (numbers its recorded actions). */
  private episodeNumber = 0;
  /** The durableClient binding data, for activities that declare a durable client input. */
  clientBindingData: () => Record<string, unknown> = () => ({});

  constructor(options: RuntimeOptions) {
    this.registry = options.registry;
    this.store = options.store;
    this.clock = options.clock;
    this.log = options.log ?? defaultLogSink;
  }

  /** Reloads persisted instances and resumes every unfinished one (in-flight tasks run again). */
  recover(): void {
    for (const instance of this.store.loadAll()) {
      this.instances.set(instance.instanceId, instance);
      if (TERMINAL.has(instance.status)) continue;
      for (const task of instance.tasks) this.dispatch(instance, task);
      for (const timer of instance.timers) this.armTimer(instance, timer.timerId, new Date(timer.fireAt));
    }
    this.kick();
  }

  stop(): void {
    this.stopped = true;
    for (const cancel of this.timerHandles.values()) cancel();
    this.timerHandles.clear();
  }

  // ---- client operations -------------------------------------------------------------------

  startNew(name: string, instanceId: string, input: unknown, parent?: InstanceState['parent']): InstanceState {
    const fn = this.registry.get(name);
    if (!fn || fn.trigger.type !== 'orchestrationTrigger') throw new NotFoundError(`No orchestrator function named '${name}'.`);
    const existing = this.instances.get(instanceId);
    if (existing && !TERMINAL.has(existing.status)) {
      throw new ConflictError(`An orchestration with instance ID '${instanceId}' already exists and is ${existing.status}.`);
    }
    const now = this.clock.now().toISOString();
    const inputText = input === undefined ? undefined : JSON.stringify(input);
    const instance: InstanceState = {
      instanceId,
      name: fn.metadata.name,
      status: 'Pending',
      input: inputText,
      createdTime: now,
      lastUpdatedTime: now,
      parent,
      history: [],
      inbox: [event('ExecutionStarted', this.clock.now(), { Name: fn.metadata.name, Input: inputText })],
      recordedActions: [],
      nextTaskId: 0,
      tasks: [],
      timers: [],
      retryGroups: {},
    };
    this.instances.set(instanceId, instance);
    this.store.save(instance);
    this.kick();
    return instance;
  }

  raiseEvent(instanceId: string, name: string, input: unknown): void {
    const instance = this.require(instanceId);
    if (TERMINAL.has(instance.status)) throw new GoneError(`Instance '${instanceId}' is ${instance.status}.`);
    instance.inbox.push(event('EventRaised', this.clock.now(), { Name: name, Input: input === undefined ? undefined : JSON.stringify(input) }));
    this.store.save(instance);
    this.kick();
  }

  terminate(instanceId: string, reason: string): void {
    const instance = this.require(instanceId);
    if (TERMINAL.has(instance.status)) throw new GoneError(`Instance '${instanceId}' is ${instance.status}.`);
    instance.history.push(event('ExecutionTerminated', this.clock.now(), { Input: JSON.stringify(reason) }));
    this.finish(instance, 'Terminated', JSON.stringify(reason));
  }

  purge(instanceId: string): number {
    const instance = this.instances.get(instanceId);
    if (!instance || !TERMINAL.has(instance.status)) return 0;
    this.instances.delete(instanceId);
    this.store.delete(instanceId);
    return 1;
  }

  /** Resolves when nothing is left to do: no pending event, task or timer (virtual clock: timers too). */
  drain(): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.isIdle()) {
          this.waiters.delete(check);
          resolve();
        }
      };
      this.waiters.add(check);
      check();
    });
  }

  waitForInstance(instanceId: string): Promise<InstanceState> {
    return new Promise((resolve) => {
      const check = (): void => {
        const instance = this.instances.get(instanceId);
        if (instance && TERMINAL.has(instance.status)) {
          this.waiters.delete(check);
          resolve(instance);
        }
      };
      this.waiters.add(check);
      check();
    });
  }

  private isIdle(): boolean {
    if (this.processing || this.runningTasks.size > 0) return false;
    for (const instance of this.instances.values()) {
      if (TERMINAL.has(instance.status)) continue;
      if (instance.inbox.length > 0 || instance.tasks.length > 0) return false;
      if (this.clock.kind === 'virtual' && instance.timers.length > 0) return false;
    }
    return true;
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  private require(instanceId: string): InstanceState {
    const instance = this.instances.get(instanceId);
    if (!instance) throw new NotFoundError(`No instance with ID '${instanceId}'.`);
    return instance;
  }

  // ---- episodes ------------------------------------------------------------------------------

  private kick(): void {
    if (this.processing || this.stopped) return;
    this.processing = true;
    setImmediate(() => void this.processInboxes());
  }

  private async processInboxes(): Promise<void> {
    try {
      for (;;) {
        if (this.stopped) return;
        const instance = [...this.instances.values()].find((i) => !TERMINAL.has(i.status) && i.inbox.length > 0);
        if (!instance) break;
        await this.runEpisode(instance);
      }
    } finally {
      this.processing = false;
      this.notify();
    }
  }

  private async runEpisode(instance: InstanceState): Promise<void> {
    const fn = this.registry.get(instance.name);
    const newEvent = instance.inbox[0];
    if (!fn) {
      instance.inbox.shift();
      return this.fail(instance, `The orchestrator function '${instance.name}' is not registered.`);
    }
    const started = event('OrchestratorStarted', this.clock.now());
    const bookkeeping = this.retryBookkeeping(instance, newEvent);
    const history = [...instance.history.map((e) => ({ ...e, IsPlayed: true })), started, { ...newEvent, IsPlayed: false }];

    let result: OrchestratorResult;
    let failure: string | undefined;
    try {
      result = (await this.callOrchestrator(fn, instance, history)) as OrchestratorResult;
    } catch (error) {
      // The library throws OrchestrationFailureError: its state (after the marker) holds the
      // orchestrator's own error message and the actions and custom status up to the failure.
      const message = (error as Error).message ?? String(error);
      const split = message.indexOf(OUT_OF_PROC);
      result = split >= 0 ? (JSON.parse(message.slice(split + OUT_OF_PROC.length)) as OrchestratorResult) : { isDone: false, actions: [] };
      failure = result.error ?? (split >= 0 ? message.slice(0, split) : message);
    }

    instance.inbox.shift();
    instance.history.push(started, { ...newEvent, IsPlayed: true }, ...bookkeeping.events);
    instance.tasks.push(...bookkeeping.tasks);
    if (result.customStatus !== undefined) instance.customStatus = JSON.stringify(result.customStatus);
    if (instance.status === 'Pending') instance.status = 'Running';

    const flat = flattenActions(Array.isArray(result.actions[0]) ? (result.actions as Action[][]).flat() : (result.actions as Action[]));
    const actions = flat.map((f) => f.action);
    const mismatch = this.checkDeterminism(instance, actions);
    if (mismatch) {
      return this.fail(instance, `Non-deterministic workflow detected: ${mismatch}`);
    }
    if (failure !== undefined) {
      return this.fail(instance, `Orchestrator function '${instance.name}' failed: ${failure}`);
    }
    const fresh = flat.slice(instance.recordedActions.length);
    const continueAsNew = fresh.find((f) => f.action.actionType === ActionType.ContinueAsNew)?.action;
    const finished = this.finishedTaskIds(instance);
    this.episodeNumber = instance.history.filter((e) => e.EventType === EventType.OrchestratorStarted).length;
    // Within one Task.all/any an earlier task can be listed once; another compound may list it again.
    let aliased = new Set<number>();
    let compound: number | undefined;
    for (const entry of fresh) {
      if (entry.compound !== compound) aliased = new Set<number>();
      compound = entry.compound;
      this.schedule(instance, entry.action, entry.compound !== undefined, finished, aliased);
    }
    this.cancelTimers(instance, actions);
    instance.history.push(event('OrchestratorCompleted', this.clock.now()));

    if (continueAsNew) return this.continueAsNew(instance, actionInput(continueAsNew));
    if (result.isDone) {
      const output = JSON.stringify(result.output ?? null);
      instance.history.push(event('ExecutionCompleted', this.clock.now(), { Result: output, OrchestrationStatus: 1 }));
      return this.finish(instance, 'Completed', output);
    }
    instance.lastUpdatedTime = this.clock.now().toISOString();
    this.store.save(instance);
    for (const task of instance.tasks) this.dispatch(instance, task);
  }

  private callOrchestrator(fn: RegisteredFunction, instance: InstanceState, history: HistoryEvent[]): Promise<unknown> {
    const payload = {
      // A fresh JSON copy each episode: the engine converts timestamps to Dates in place.
      history: JSON.parse(JSON.stringify(history)),
      input: instance.input === undefined ? undefined : JSON.parse(instance.input),
      instanceId: instance.instanceId,
      isReplaying: history.length > 2,
      parentInstanceId: instance.parent?.instanceId,
      upperSchemaVersion: 1,
      upperSchemaVersionNew: 2,
      longRunningTimerIntervalDuration: '3.00:00:00',
      maximumShortTimerDuration: '6.00:00:00',
      defaultHttpAsyncRequestSleepTimeMillseconds: 30000,
    };
    return invoke({ fn, trigger: { string: JSON.stringify(payload) }, log: this.log }).then(fromTypedData);
  }

  /** The JS engine never checks what it replays against history; the host does (as DTFx would). */
  private checkDeterminism(instance: InstanceState, actions: Action[]): string | undefined {
    const recorded = instance.recordedActions;
    for (let i = 0; i < recorded.length; i++) {
      const now = actions[i];
      if (!now) return `replay scheduled ${actions.length} actions where history has ${recorded.length}.`;
      if (now.actionType !== recorded[i].actionType || now.functionName !== recorded[i].functionName) {
        return `action #${i} was ${describe(recorded[i])} in history but ${describe(now)} on replay.`;
      }
    }
    return undefined;
  }

  /** New actions become history events and work, each numbered like the engine numbers its tasks. */
  private schedule(instance: InstanceState, action: Action, inCompound: boolean, finished: Set<number>, aliased: Set<number>): void {
    const key = actionKey(action);
    const recorded: RecordedAction = { actionType: action.actionType, functionName: action.functionName, key };
    if (!consumesTaskId(action)) {
      instance.recordedActions.push(recorded);
      return;
    }
    // A new Task.all/any may list tasks scheduled before (the engine keeps their numbers): those
    // are the same unfinished call, not a new one.
    // Only tasks of earlier episodes can be listed again: identical calls made in this episode
    // (two timers due at the same instant) are distinct new tasks.
    const episode = this.episodeNumber;
    recorded.episode = episode;
    if (inCompound) {
      const earlier = instance.recordedActions.find(
        (r) =>
          r.key === key && !r.aliasOf && r.taskId !== undefined && (r.episode ?? -1) < episode && !finished.has(r.taskId) && !aliased.has(r.taskId),
      );
      if (earlier?.taskId !== undefined) {
        aliased.add(earlier.taskId);
        instance.recordedActions.push({ ...recorded, taskId: earlier.taskId, aliasOf: true });
        return;
      }
    }
    const taskId = instance.nextTaskId++;
    instance.recordedActions.push({ ...recorded, taskId });
    const now = this.clock.now();
    const input = actionInput(action);
    switch (action.actionType) {
      case ActionType.CallActivity:
      case ActionType.CallActivityWithRetry: {
        instance.history.push(event('TaskScheduled', now, { EventId: taskId, Name: action.functionName, Input: input }));
        const retryGroup = action.retryOptions ? this.openRetryGroup(instance, taskId, 'activity', action, input) : undefined;
        instance.tasks.push({ taskId, kind: 'activity', name: action.functionName ?? '', input, retryGroup });
        return;
      }
      case ActionType.CallSubOrchestrator:
      case ActionType.CallSubOrchestratorWithRetry: {
        const childInstanceId = action.instanceId || `${instance.instanceId}:${taskId}`;
        instance.history.push(
          event('SubOrchestrationInstanceCreated', now, { EventId: taskId, Name: action.functionName, Input: input, InstanceId: childInstanceId }),
        );
        const retryGroup = action.retryOptions ? this.openRetryGroup(instance, taskId, 'subOrchestration', action, input) : undefined;
        instance.tasks.push({ taskId, kind: 'subOrchestration', name: action.functionName ?? '', input, childInstanceId, retryGroup });
        return;
      }
      case ActionType.CreateTimer: {
        const fireAt = new Date(action.fireAt ?? now.toISOString());
        instance.history.push(event('TimerCreated', now, { EventId: taskId, FireAt: fireAt.toISOString() }));
        instance.timers.push({ timerId: taskId, fireAt: fireAt.toISOString() });
        this.armTimer(instance, taskId, fireAt);
        return;
      }
      default:
        // Entities and durable HTTP are not used by this app; refuse loudly rather than hang.
        instance.history.push(event('GenericEvent', now, { EventId: taskId, Name: `unsupported action ${action.actionType}` }));
        instance.inbox.push(
          event('TaskFailed', now, {
            TaskScheduledId: taskId,
            Reason: `The local durable host does not support action type ${action.actionType}.`,
            Details: '',
          }),
        );
    }
  }

  /** Tasks the engine has seen finish: completions in committed history (not those still queued). */
  private finishedTaskIds(instance: InstanceState): Set<number> {
    const finished = new Set<number>();
    for (const e of instance.history) {
      if (e.TaskScheduledId !== undefined) finished.add(e.TaskScheduledId);
      if (e.TimerId !== undefined) finished.add(e.TimerId);
    }
    return finished;
  }

  private openRetryGroup(instance: InstanceState, taskId: number, kind: PendingTask['kind'], action: Action, input?: string): number {
    instance.retryGroups[taskId] = {
      kind,
      name: action.functionName ?? '',
      input,
      options: action.retryOptions as RetryOptions,
      failures: 0,
      firstScheduledAt: this.clock.now().toISOString(),
      childInstanceIdBase: action.instanceId,
    };
    return taskId;
  }

  /**
   * Retries are the host's job (as in the extension): after a failed attempt a retry timer, after
   * the timer another attempt while attempts remain. The engine numbers the timer when it reads the
   * failure and the new attempt when it reads the timer, before anything it schedules in reply.
   */
  private retryBookkeeping(instance: InstanceState, newEvent: HistoryEvent): { events: HistoryEvent[]; tasks: PendingTask[] } {
    const events: HistoryEvent[] = [];
    const tasks: PendingTask[] = [];
    const now = this.clock.now();
    const failed = newEvent.EventType === EventType.TaskFailed || newEvent.EventType === EventType.SubOrchestrationInstanceFailed;
    const groupOf = (taskId: number | undefined): number | undefined =>
      Object.keys(instance.retryGroups)
        .map(Number)
        .find((g) => g === taskId || instance.retryGroups[g].attemptIds?.includes(taskId as number));
    if (failed) {
      const groupId = groupOf(newEvent.TaskScheduledId);
      if (groupId === undefined) return { events, tasks };
      const group = instance.retryGroups[groupId];
      group.failures += 1;
      const options = group.options;
      const delay = Math.min(
        options.firstRetryIntervalInMilliseconds * (options.backoffCoefficient ?? 1) ** (group.failures - 1),
        options.maxRetryIntervalInMilliseconds && options.maxRetryIntervalInMilliseconds > 0 ? options.maxRetryIntervalInMilliseconds : Infinity,
      );
      const timerId = instance.nextTaskId++;
      const fireAt = new Date(now.getTime() + delay);
      events.push(event('TimerCreated', now, { EventId: timerId, FireAt: fireAt.toISOString() }));
      instance.timers.push({ timerId, fireAt: fireAt.toISOString(), retryGroup: groupId });
      this.armTimer(instance, timerId, fireAt);
      return { events, tasks };
    }
    if (newEvent.EventType === EventType.TimerFired) {
      const timer = instance.timers.find((t) => t.timerId === newEvent.TimerId);
      instance.timers = instance.timers.filter((t) => t.timerId !== newEvent.TimerId);
      if (timer?.retryGroup === undefined) return { events, tasks };
      const group = instance.retryGroups[timer.retryGroup];
      if (group.failures >= group.options.maxNumberOfAttempts) return { events, tasks };
      const taskId = instance.nextTaskId++;
      (group.attemptIds ??= []).push(taskId);
      const timedOut =
        !!group.options.retryTimeoutInMilliseconds &&
        now.getTime() - Date.parse(group.firstScheduledAt) > group.options.retryTimeoutInMilliseconds;
      if (group.kind === 'activity') {
        events.push(event('TaskScheduled', now, { EventId: taskId, Name: group.name, Input: group.input }));
      } else {
        events.push(event('SubOrchestrationInstanceCreated', now, { EventId: taskId, Name: group.name, Input: group.input }));
      }
      if (timedOut) {
        instance.inbox.push(
          event(group.kind === 'activity' ? 'TaskFailed' : 'SubOrchestrationInstanceFailed', now, {
            TaskScheduledId: taskId,
            Reason: group.lastFailure?.Reason ?? 'Retry timeout exceeded.',
            Details: 'Retry timeout exceeded.',
          }),
        );
      } else {
        tasks.push({
          taskId,
          kind: group.kind,
          name: group.name,
          input: group.input,
          retryGroup: timer.retryGroup,
          childInstanceId: group.kind === 'subOrchestration' ? `${group.childInstanceIdBase || instance.instanceId + ':' + timer.retryGroup}:${taskId}` : undefined,
        });
      }
    }
    return { events, tasks };
  }

  /** `timer.cancel()` marks the timer's action; recorded actions say which timer each one is. */
  private cancelTimers(instance: InstanceState, actions: Action[]): void {
    actions.forEach((action, index) => {
      const timerId = instance.recordedActions[index]?.taskId;
      if (action.actionType !== ActionType.CreateTimer || !action.isCanceled || timerId === undefined) return;
      if (!instance.timers.some((t) => t.timerId === timerId)) return;
      instance.timers = instance.timers.filter((t) => t.timerId !== timerId);
      this.timerHandles.get(`${instance.instanceId}/${timerId}`)?.();
    });
  }

  private continueAsNew(instance: InstanceState, inputText: string | undefined): void {
    const carried = instance.inbox.filter((e) => e.EventType === EventType.EventRaised);
    for (const timer of instance.timers) this.timerHandles.get(`${instance.instanceId}/${timer.timerId}`)?.();
    Object.assign(instance, {
      status: 'Running' as RuntimeStatus,
      input: inputText,
      output: undefined,
      history: [],
      inbox: [event('ExecutionStarted', this.clock.now(), { Name: instance.name, Input: inputText }), ...carried],
      recordedActions: [],
      nextTaskId: 0,
      tasks: [],
      timers: [],
      retryGroups: {},
      lastUpdatedTime: this.clock.now().toISOString(),
    });
    this.store.save(instance);
    this.kick();
  }

  private fail(instance: InstanceState, message: string): void {
    // DTFx records failure as ExecutionCompleted with OrchestrationStatus Failed (3).
    instance.history.push(event('ExecutionCompleted', this.clock.now(), { Result: JSON.stringify(message), OrchestrationStatus: 3 }));
    this.finish(instance, 'Failed', JSON.stringify(message));
  }

  private finish(instance: InstanceState, status: RuntimeStatus, output: string): void {
    instance.status = status;
    instance.output = output;
    instance.tasks = [];
    instance.inbox = [];
    for (const timer of instance.timers) this.timerHandles.get(`${instance.instanceId}/${timer.timerId}`)?.();
    instance.timers = [];
    instance.lastUpdatedTime = this.clock.now().toISOString();
    this.store.save(instance);
    this.log(instance.name, 'information', `Instance ${instance.instanceId} ${status}.`);
    if (instance.parent) this.reportToParent(instance);
    this.notify();
  }

  private reportToParent(child: InstanceState): void {
    const parent = this.instances.get(child.parent!.instanceId);
    if (!parent || TERMINAL.has(parent.status)) return;
    const now = this.clock.now();
    const taskId = child.parent!.taskId;
    parent.tasks = parent.tasks.filter((t) => t.taskId !== taskId);
    parent.inbox.push(
      child.status === 'Completed'
        ? event('SubOrchestrationInstanceCompleted', now, { TaskScheduledId: taskId, Result: child.output })
        : event('SubOrchestrationInstanceFailed', now, {
            TaskScheduledId: taskId,
            Reason: `Sub-orchestration '${child.name}' ${child.status === 'Failed' ? 'failed' : child.status.toLowerCase()}: ${child.output ? JSON.parse(child.output) : ''}`,
            Details: '',
          }),
    );
    this.store.save(parent);
    this.kick();
  }

  // ---- work ------------------------------------------------------------------------------------

  private dispatch(instance: InstanceState, task: PendingTask): void {
    const key = `${instance.instanceId}/${task.taskId}`;
    if (this.runningTasks.has(key) || this.stopped) return;
    if (task.kind === 'subOrchestration') {
      // Started once; the parent hears from the child when it finishes (see reportToParent).
      const childId = task.childInstanceId ?? `${instance.instanceId}:${task.taskId}`;
      const child = this.instances.get(childId);
      if (child && child.parent?.instanceId === instance.instanceId && child.parent.taskId === task.taskId) {
        if (TERMINAL.has(child.status)) this.reportToParent(child);
        return;
      }
      try {
        this.startNew(task.name, childId, task.input === undefined ? undefined : JSON.parse(task.input), {
          instanceId: instance.instanceId,
          taskId: task.taskId,
        });
      } catch (error) {
        this.complete(instance, task, undefined, error as Error);
      }
      return;
    }
    this.runningTasks.add(key);
    void this.runActivity(instance, task).finally(() => {
      this.runningTasks.delete(key);
      this.notify();
    });
  }

  private async runActivity(instance: InstanceState, task: PendingTask): Promise<void> {
    const fn = this.registry.get(task.name);
    if (!fn || fn.trigger.type !== 'activityTrigger') {
      return this.complete(instance, task, undefined, new Error(`The function '${task.name}' doesn't exist, is disabled, or is not an activity function.`));
    }
    try {
      const result = await invoke({
        fn,
        trigger: { json: task.input ?? 'null' },
        extraInputs: { durableClient: jsonData(this.clientBindingData()) },
        log: this.log,
      });
      const value = fromTypedData(result);
      this.complete(instance, task, value === undefined ? null : value);
    } catch (error) {
      this.complete(instance, task, undefined, error as Error);
    }
  }

  /** A finished task is recorded (persisted) before an episode applies it: it never runs twice. */
  private complete(instance: InstanceState, task: PendingTask, value: unknown, error?: Error): void {
    if (this.stopped || !instance.tasks.some((t) => t.taskId === task.taskId)) return;
    const now = this.clock.now();
    instance.tasks = instance.tasks.filter((t) => t.taskId !== task.taskId);
    if (error) {
      const reason = `${task.kind === 'activity' ? 'Activity' : 'Orchestrator'} function '${task.name}' failed: ${error.message}`;
      if (task.retryGroup !== undefined) instance.retryGroups[task.retryGroup].lastFailure = { Reason: reason, Details: error.stack ?? '' };
      const type = task.kind === 'activity' ? 'TaskFailed' : 'SubOrchestrationInstanceFailed';
      instance.inbox.push(event(type, now, { TaskScheduledId: task.taskId, Reason: reason, Details: error.stack ?? error.message }));
    } else {
      instance.inbox.push(event('TaskCompleted', now, { TaskScheduledId: task.taskId, Result: JSON.stringify(value) }));
    }
    this.store.save(instance);
    this.kick();
  }

  private armTimer(instance: InstanceState, timerId: number, fireAt: Date): void {
    const key = `${instance.instanceId}/${timerId}`;
    this.timerHandles.get(key)?.();
    this.timerHandles.set(
      key,
      this.clock.schedule(fireAt, () => {
        this.timerHandles.delete(key);
        if (this.stopped || TERMINAL.has(instance.status) || !instance.timers.some((t) => t.timerId === timerId)) return;
        instance.inbox.push(event('TimerFired', this.clock.now(), { TimerId: timerId, FireAt: fireAt.toISOString() }));
        this.store.save(instance);
        this.kick();
      }),
    );
  }
}

/**
 * The JSON text of an action's input. durable-functions pre-serialises string inputs of activity
 * and continue-as-new actions (Utils.processInput) and the extension takes them as JSON text.
 */
function actionInput(action: Action): string | undefined {
  if (action.input === undefined) return undefined;
  const preSerialised =
    action.actionType === ActionType.CallActivity ||
    action.actionType === ActionType.CallActivityWithRetry ||
    action.actionType === ActionType.ContinueAsNew;
  return preSerialised && typeof action.input === 'string' ? action.input : JSON.stringify(action.input);
}

function describe(action: Pick<Action, 'actionType' | 'functionName'>): string {
  const type = Object.entries(ActionType).find(([, v]) => v === action.actionType)?.[0] ?? String(action.actionType);
  return action.functionName ? `${type} '${action.functionName}'` : type;
}

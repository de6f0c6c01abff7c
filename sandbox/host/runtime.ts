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
/** An argument the extension refuses (ArgumentException: HTTP 400 on its API). */
export class ArgumentError extends Error {}

interface OrchestratorResult {
  isDone: boolean;
  actions: Action[][] | Action[];
  output?: unknown;
  error?: string;
  customStatus?: unknown;
}

const OUT_OF_PROC = '\n\n$OutOfProcData$:';

/** Events one episode takes at most (see takeEpisodeEvents). */
const EPISODE_BATCH = 32;

export interface RuntimeOptions {
  registry: FunctionRegistry;
  store: InstanceStore;
  clock: Clock;
  log?: LogSink;
  /**
   * How late durable timers fire (default 0). The Azure Storage backend finds a due timer message
   * only when it next polls its control queue, up to maxQueuePollingInterval (30 s) apart when
   * idle (host.json reference, durableTask.storageProvider); a polling design pays that per wait.
   */
  timerLatencyMs?: number;
}

export class DurableRuntime {
  readonly instances = new Map<string, InstanceState>();
  private readonly registry: FunctionRegistry;
  private readonly store: InstanceStore;
  private readonly clock: Clock;
  private readonly log: LogSink;
  private readonly timerLatencyMs: number;
  private readonly runningTasks = new Set<string>();
  private readonly timerHandles = new Map<string, () => void>();
  private readonly waiters = new Set<() => void>();
  private processing = false;
  private stopped = false;
  /** Episodes of the instance being processed so far (numbers its recorded actions). */
  private episodeNumber = 0;
  /** The durableClient binding data, for activities that declare a durable client input. */
  clientBindingData: () => Record<string, unknown> = () => ({});
  /** Runs activities out of process (the host's worker pool); unset: in this process. */
  activityRunner?: (name: string, input: string | undefined) => Promise<unknown>;

  constructor(options: RuntimeOptions) {
    this.registry = options.registry;
    this.store = options.store;
    this.clock = options.clock;
    this.log = options.log ?? defaultLogSink;
    this.timerLatencyMs = options.timerLatencyMs ?? 0;
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

  /**
   * A client start (StartNewAsync). The id is checked as DurableClient.cs checks it; an unfinished
   * instance with the id refuses the start: the Azure Storage backend throws
   * OrchestrationAlreadyExistsException for the dedupe statuses Running, Pending, ContinuedAsNew
   * and Suspended (OverridableExistingInstanceStates default NonRunningStates); a finished one is
   * replaced.
   */
  startNew(name: string, instanceId: string, input: unknown): InstanceState {
    const fn = this.registry.get(name);
    if (!fn || fn.trigger.type !== 'orchestrationTrigger') throw new ArgumentError(`The function '${name}' doesn't exist, is disabled, or is not an orchestrator function.`);
    const invalid = invalidInstanceId(instanceId);
    if (invalid) throw new ArgumentError(invalid);
    const existing = this.instances.get(instanceId);
    if (existing && !TERMINAL.has(existing.status)) {
      throw new ConflictError(`An Orchestration instance with the status ${existing.status} already exists.`);
    }
    return this.createInstance(fn, instanceId, input);
  }

  private createInstance(fn: RegisteredFunction, instanceId: string, input: unknown, parent?: InstanceState['parent']): InstanceState {
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
    if (!fn) {
      instance.inbox.shift();
      return this.fail(instance, `The orchestrator function '${instance.name}' is not registered.`);
    }
    const newEvents = this.takeEpisodeEvents(instance);
    const started = event('OrchestratorStarted', this.clock.now());
    const bookkeeping = this.retryBookkeeping(instance, newEvents[0]);
    const history = [...instance.history.map((e) => ({ ...e, IsPlayed: true })), started, ...newEvents.map((e) => ({ ...e, IsPlayed: false }))];

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

    const historyBefore = instance.history.length;
    instance.inbox.splice(0, newEvents.length);
    const [first, ...rest] = newEvents.map((e) => ({ ...e, IsPlayed: true }));
    instance.history.push(started, first, ...bookkeeping.events, ...rest);
    instance.tasks.push(...bookkeeping.tasks);
    const fired = new Set(rest.filter((e) => e.EventType === EventType.TimerFired).map((e) => e.TimerId));
    instance.timers = instance.timers.filter((t) => !fired.has(t.timerId));
    if (instance.status === 'Pending') instance.status = 'Running';
    // The status is applied before the episode's new actions, and one over the extension's limit
    // fails the orchestration with none of them scheduled (OutOfProcOrchestrationShim.cs,
    // DurableOrchestrationContext.cs SetCustomStatus -> MessagePayloadDataConverter).
    if (result.customStatus !== undefined) {
      const customStatus = JSON.stringify(result.customStatus);
      const tooLarge = payloadLimitError(customStatus);
      if (tooLarge) return this.fail(instance, `Orchestrator function '${instance.name}' failed: ${tooLarge}`);
      instance.customStatus = customStatus;
    }

    const flat = flattenActions(Array.isArray(result.actions[0]) ? (result.actions as Action[][]).flat() : (result.actions as Action[]));
    const actions = flat.map((f) => f.action);
    const mismatch = this.checkDeterminism(instance, actions);
    if (mismatch) {
      return this.fail(instance, `Non-deterministic workflow detected: ${mismatch}`);
    }
    if (failure !== undefined) {
      return this.fail(instance, `Orchestrator function '${instance.name}' failed: ${failure}`);
    }
    const refused = refusedActions(instance, actions);
    if (refused) return this.fail(instance, `Orchestrator function '${instance.name}' failed: ${refused}`);
    const fresh = flat.slice(instance.recordedActions.length);
    const continueAsNew = fresh.find((f) => f.action.actionType === ActionType.ContinueAsNew)?.action;
    // A compound may list again a task that finished in this very episode (its completion came in
    // the same batch): that is the same task, so only earlier episodes' completions count here.
    const finished = this.finishedTaskIds(instance.history.slice(0, historyBefore));
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

  /**
   * The events of one episode: every waiting event, up to the backend's batch (the Azure Storage
   * backend dequeues up to ControlQueueBatchSize = 32 messages per control-queue read and runs
   * them in one episode: AzureStorageOrchestrationServiceSettings.cs, OrchestrationSession.cs).
   * An event that makes the host write retry bookkeeping (a retried task's failure or its retry
   * timer) only opens an episode: the engine numbers the retry's tasks when it reads that event,
   * before anything the orchestrator schedules in reply to the events after it.
   */
  private takeEpisodeEvents(instance: InstanceState): HistoryEvent[] {
    const events = [instance.inbox[0]];
    if (events[0].EventType === EventType.ExecutionStarted) return events;
    for (const next of instance.inbox.slice(1, EPISODE_BATCH)) {
      if (next.EventType === EventType.ExecutionStarted || this.touchesRetry(instance, next)) break;
      events.push(next);
    }
    return events;
  }

  private touchesRetry(instance: InstanceState, e: HistoryEvent): boolean {
    if (e.EventType === EventType.TimerFired) return instance.timers.some((t) => t.timerId === e.TimerId && t.retryGroup !== undefined);
    if (e.EventType !== EventType.TaskFailed && e.EventType !== EventType.SubOrchestrationInstanceFailed) return false;
    return Object.entries(instance.retryGroups).some(([id, group]) => Number(id) === e.TaskScheduledId || group.attemptIds?.includes(e.TaskScheduledId as number));
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

  /** Tasks the engine has seen finish in the given history (not those still queued). */
  private finishedTaskIds(history: HistoryEvent[]): Set<number> {
    const finished = new Set<number>();
    for (const e of history) {
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
          // Every attempt reuses the first attempt's instance id, as the extension's retries do.
          childInstanceId: group.kind === 'subOrchestration' ? group.childInstanceIdBase || `${instance.instanceId}:${timer.retryGroup}` : undefined,
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

  /**
   * JS orchestrators continue as new with preserveUnprocessedEvents = false
   * (OutOfProcOrchestrationShim.cs calls ContinueAsNew(input); the middleware re-sends buffered
   * events only when it is true): events the generation received and did not read, all of this
   * episode's batch included, go with its history. Events that arrive after (still in the inbox)
   * are new queue messages addressed to the instance and reach the new generation.
   */
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
        : event('SubOrchestrationInstanceFailed', now, { TaskScheduledId: taskId, ...subOrchestrationFailure(child) }),
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
      // The start travels as a message on the child's control queue (TaskOrchestrationDispatcher
      // sends ExecutionStarted; the child's partition reads it later): another operation may take
      // the id in between, so what happens is decided on delivery.
      setImmediate(() => this.deliverChildStart(instance, task, childId));
      return;
    }
    this.runningTasks.add(key);
    void this.runActivity(instance, task).finally(() => {
      this.runningTasks.delete(key);
      this.notify();
    });
  }

  private deliverChildStart(parent: InstanceState, task: PendingTask, childId: string): void {
    if (this.stopped || TERMINAL.has(parent.status) || !parent.tasks.some((t) => t.taskId === task.taskId)) return;
    const child = this.instances.get(childId);
    if (child && child.parent?.instanceId === parent.instanceId && child.parent.taskId === task.taskId) return;
    const fn = this.registry.get(task.name);
    if (!fn || fn.trigger.type !== 'orchestrationTrigger') {
      return this.complete(parent, task, undefined, new Error(`The function '${task.name}' doesn't exist, is disabled, or is not an orchestrator function.`));
    }
    if (child && !TERMINAL.has(child.status)) {
      // DTFx drops a start event for an instance that has one ("Duplicate start event",
      // TaskOrchestrationDispatcher.cs): nothing is started and the parent never hears back.
      parent.tasks = parent.tasks.filter((t) => t.taskId !== task.taskId);
      (parent.droppedStarts ??= []).push(childId);
      this.store.save(parent);
      this.log(parent.name, 'warning', `Duplicate start event: ${childId} is ${child.status}; the start from ${parent.instanceId} was dropped.`);
      this.notify();
      return;
    }
    this.createInstance(fn, childId, task.input === undefined ? undefined : JSON.parse(task.input), { instanceId: parent.instanceId, taskId: task.taskId });
  }

  private async runActivity(instance: InstanceState, task: PendingTask): Promise<void> {
    const fn = this.registry.get(task.name);
    if (!fn || fn.trigger.type !== 'activityTrigger') {
      return this.complete(instance, task, undefined, new Error(`The function '${task.name}' doesn't exist, is disabled, or is not an activity function.`));
    }
    try {
      if (this.activityRunner) {
        const value = await this.activityRunner(task.name, task.input);
        return this.complete(instance, task, value === undefined ? null : value);
      }
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
      const failure = task.kind === 'activity' ? activityFailure(task.name, error) : { Reason: error.message, Details: '' };
      if (task.retryGroup !== undefined) instance.retryGroups[task.retryGroup].lastFailure = failure;
      const type = task.kind === 'activity' ? 'TaskFailed' : 'SubOrchestrationInstanceFailed';
      instance.inbox.push(event(type, now, { TaskScheduledId: task.taskId, ...failure }));
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
      this.clock.schedule(new Date(fireAt.getTime() + this.timerLatencyMs), () => {
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

/**
 * The extension's instance id rules for client starts (DurableClient.cs: MaxInstanceIdLength 256,
 * no leading '@', none of / \\ # ? or control characters).
 */
export function invalidInstanceId(instanceId: string): string | undefined {
  if (instanceId.length > 256) return 'Instance ID lengths must not exceed 256 characters.';
  if (instanceId.startsWith('@')) return 'Orchestration instance ids must not start with @.';
  // eslint-disable-next-line no-control-regex -- control characters are what the extension refuses
  if (/[/\\#?\u0000-\u001f\u007f-\u009f]/.test(instanceId)) return 'Orchestration instance ids must not contain /, \\, #, ?, or control characters.';
  return undefined;
}

/**
 * What the customStatus check refuses (DurableOrchestrationContext.SetCustomStatus with
 * MaxCustomStatusPayloadSizeInKB = 16, MessagePayloadDataConverter.Serialize): the UTF-16 byte
 * count of the JSON, in whole KB rounded down, above 16. JS strings count UTF-16 code units.
 */
export function payloadLimitError(json: string): string | undefined {
  const kb = Math.trunc((json.length * 2) / 1024);
  if (kb <= 16) return undefined;
  return `The UTF-16 size of the JSON-serialized payload must not exceed 16 KB. The current payload size is ${kb.toLocaleString('en-US')} KB.`;
}

/** The extension's cap on actions per orchestration (host.json MaxOrchestrationActions, DurableTaskOptions.cs). */
export const MAX_ORCHESTRATION_ACTIONS = 100_000;

/** What the shim refuses while scheduling the actions (TaskOrchestrationShim.cs, DurableOrchestrationContext.cs). */
function refusedActions(instance: InstanceState, actions: Action[]): string | undefined {
  if (actions.length > MAX_ORCHESTRATION_ACTIONS) {
    return `Maximum amount of orchestration actions (${MAX_ORCHESTRATION_ACTIONS}) has been reached. This value can be configured in host.json file as MaxOrchestrationActions.`;
  }
  for (const action of actions) {
    if (action.actionType !== ActionType.CallSubOrchestrator && action.actionType !== ActionType.CallSubOrchestratorWithRetry) continue;
    if (action.instanceId === instance.instanceId) return 'The instance ID of a sub-orchestration must be different than the instance ID of a parent orchestration.';
    if (action.instanceId?.startsWith('@')) return 'Orchestration instance ids must not start with @.';
  }
  return undefined;
}

/**
 * A failed JS activity as its orchestrator sees it (TaskActivityShim.cs): Reason "Activity function
 * 'X' failed: " plus the worker's message as OutOfProcExceptionHelpers cuts it from the RpcException
 * text ("Result: ...\nException: <message>\nStack: <stack>"), which keeps the space after
 * "Exception:"; Details the exception serialised by Newtonsoft (ErrorSerializerSettingsFactory.cs).
 */
export function activityFailure(name: string, error: Error): { Reason: string; Details: string } {
  const message = ` ${error.message}`;
  const rpc = `Result: Failure\nException: ${error.message}\nStack: ${error.stack ?? ''}`;
  const details = {
    $type: 'System.Exception, System.Private.CoreLib',
    ClassName: 'System.Exception',
    Message: message,
    Data: null,
    InnerException: {
      $type: 'Microsoft.Azure.WebJobs.Script.Workers.Rpc.RpcException, Microsoft.Azure.WebJobs.Script',
      ClassName: 'Microsoft.Azure.WebJobs.Script.Workers.Rpc.RpcException',
      Message: rpc,
      Data: null,
      InnerException: null,
      HResult: -2146233088,
    },
    HResult: -2146233088,
  };
  return { Reason: `Activity function '${name}' failed: ${message}`, Details: JSON.stringify(details) };
}

/**
 * A failed or terminated child as its parent sees it: Reason = the child's output (for a failed JS
 * orchestrator "Orchestrator function 'X' failed: <message>"), Details = "Message: <message>,
 * StackTrace: <the shim's .NET stack>" (OutOfProcOrchestrationShim.cs; forwarded with
 * IncludeDetails by TaskOrchestrationDispatcher.cs).
 */
function subOrchestrationFailure(child: InstanceState): { Reason: string; Details: string } {
  const output = child.output === undefined ? '' : String(JSON.parse(child.output));
  if (child.status !== 'Failed') return { Reason: output, Details: '' };
  const prefix = `Orchestrator function '${child.name}' failed: `;
  const message = output.startsWith(prefix) ? output.slice(prefix.length) : output;
  const stack = [
    '   at Microsoft.Azure.WebJobs.Extensions.DurableTask.OutOfProcOrchestrationShim.ScheduleDurableTaskEvents(OrchestrationInvocationResult result)',
    '   at Microsoft.Azure.WebJobs.Extensions.DurableTask.TaskOrchestrationShim.InvokeUserCodeAndHandleResults(RegisteredFunctionInfo orchestratorInfo, OrchestrationContext innerContext)',
  ].join('\r\n');
  return { Reason: output, Details: `Message: ${message}, StackTrace: ${stack}` };
}

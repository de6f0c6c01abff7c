/**
 * DTFx-shaped history events as the durable-functions replay engine reads them: PascalCase fields,
 * numeric EventType (DurableTask.Core EventType enum), completions keyed by TaskScheduledId /
 * TimerId, results as JSON strings.
 */
export const EventType = {
  ExecutionStarted: 0,
  ExecutionCompleted: 1,
  ExecutionFailed: 2,
  ExecutionTerminated: 3,
  TaskScheduled: 4,
  TaskCompleted: 5,
  TaskFailed: 6,
  SubOrchestrationInstanceCreated: 7,
  SubOrchestrationInstanceCompleted: 8,
  SubOrchestrationInstanceFailed: 9,
  TimerCreated: 10,
  TimerFired: 11,
  OrchestratorStarted: 12,
  OrchestratorCompleted: 13,
  EventSent: 14,
  EventRaised: 15,
  ContinueAsNew: 16,
  GenericEvent: 17,
  HistoryState: 18,
  ExecutionSuspended: 19,
  ExecutionResumed: 20,
} as const;

export type EventTypeName = keyof typeof EventType;

export interface HistoryEvent {
  EventType: number;
  EventId: number;
  IsPlayed: boolean;
  Timestamp: string;
  Name?: string;
  Input?: string;
  Result?: string;
  Reason?: string;
  Details?: string;
  TaskScheduledId?: number;
  TimerId?: number;
  FireAt?: string;
  InstanceId?: string;
  OrchestrationStatus?: number;
}

export const eventTypeName = (type: number): string =>
  (Object.entries(EventType).find(([, value]) => value === type)?.[0] as string) ?? `Unknown(${type})`;

export function event(type: EventTypeName, timestamp: Date, fields: Partial<HistoryEvent> = {}): HistoryEvent {
  return { EventType: EventType[type], EventId: -1, IsPlayed: false, Timestamp: timestamp.toISOString(), ...fields };
}

/** Action types the JS library emits (durable-functions ActionType). */
export const ActionType = {
  CallActivity: 0,
  CallActivityWithRetry: 1,
  CallSubOrchestrator: 2,
  CallSubOrchestratorWithRetry: 3,
  ContinueAsNew: 4,
  CreateTimer: 5,
  WaitForExternalEvent: 6,
  CallEntity: 7,
  CallHttp: 8,
  SignalEntity: 9,
  WhenAny: 11,
  WhenAll: 12,
} as const;

export interface RetryOptions {
  firstRetryIntervalInMilliseconds: number;
  maxNumberOfAttempts: number;
  backoffCoefficient?: number;
  maxRetryIntervalInMilliseconds?: number;
  retryTimeoutInMilliseconds?: number;
}

export interface Action {
  actionType: number;
  functionName?: string;
  input?: unknown;
  instanceId?: string;
  retryOptions?: RetryOptions;
  fireAt?: string;
  isCanceled?: boolean;
  externalEventName?: string;
  compoundActions?: Action[];
}

export interface FlatAction {
  action: Action;
  /**
   * The top-level Task.all/any this action sits in (its index), if any: such an action may be a
   * task scheduled earlier that the new compound lists again.
   */
  compound?: number;
}

/** Depth-first, in yield order: the order in which the JS engine numbers its tasks. */
export function flattenActions(actions: Action[]): FlatAction[] {
  const flat: FlatAction[] = [];
  const visit = (action: Action, compound: number | undefined): void => {
    if (action.actionType === ActionType.WhenAll || action.actionType === ActionType.WhenAny) {
      (action.compoundActions ?? []).forEach((child) => visit(child, compound));
    } else {
      flat.push({ action, compound });
    }
  };
  actions.forEach((action, index) => visit(action, action.compoundActions ? index : undefined));
  return flat;
}

/** What identifies a scheduled call when a compound lists it again. */
export const actionKey = (action: Action): string => JSON.stringify([action.actionType, action.functionName ?? '', action.instanceId ?? '', action.input ?? null, action.fireAt ?? '']);

/** Actions that take a task id from the engine's sequence counter. */
export function consumesTaskId(action: Action): boolean {
  return action.actionType !== ActionType.WaitForExternalEvent && action.actionType !== ActionType.ContinueAsNew;
}

import { eventTypeName, EventType, HistoryEvent } from './history';
import { InstanceState } from './store';

/**
 * Status bodies shaped like the extension's HTTP API (DurableOrchestrationStatus): `input` and
 * `output` always present (null when empty), times ISO 8601 without milliseconds.
 */
export const isoSeconds = (iso: string): string => iso.replace(/\.\d{3}Z$/, 'Z');

const parse = (text: string | undefined): unknown => (text === undefined ? null : JSON.parse(text));

export interface StatusOptions {
  showInput: boolean;
  showHistory: boolean;
  showHistoryOutput: boolean;
}

export function statusBody(instance: InstanceState, options: StatusOptions): Record<string, unknown> {
  const body: Record<string, unknown> = {
    name: instance.name,
    instanceId: instance.instanceId,
    runtimeStatus: instance.status,
    input: options.showInput ? parse(instance.input) : null,
    customStatus: parse(instance.customStatus),
    output: parse(instance.output),
    createdTime: isoSeconds(instance.createdTime),
    lastUpdatedTime: isoSeconds(instance.lastUpdatedTime),
  };
  if (options.showHistory) body.historyEvents = historyEvents(instance.history, options.showHistoryOutput);
  return body;
}

/** The extension's summarised history: scheduling events folded into their completions. */
function historyEvents(history: HistoryEvent[], withOutput: boolean): Record<string, unknown>[] {
  const scheduled = new Map<number, HistoryEvent>();
  const result: Record<string, unknown>[] = [];
  for (const e of history) {
    switch (e.EventType) {
      case EventType.TaskScheduled:
      case EventType.SubOrchestrationInstanceCreated:
      case EventType.TimerCreated:
        scheduled.set(e.EventId, e);
        if (e.EventType === EventType.TimerCreated) break;
        continue;
      case EventType.OrchestratorStarted:
      case EventType.OrchestratorCompleted:
        continue;
      default:
        break;
    }
    const source = e.TaskScheduledId !== undefined ? scheduled.get(e.TaskScheduledId) : undefined;
    const entry: Record<string, unknown> = { EventType: eventTypeName(e.EventType), Timestamp: isoSeconds(e.Timestamp) };
    if (e.EventId >= 0) entry.EventId = e.EventId;
    if (source) {
      entry.FunctionName = source.Name;
      entry.ScheduledTime = isoSeconds(source.Timestamp);
    } else if (e.Name) {
      entry.FunctionName = e.Name;
    }
    if (e.FireAt) entry.FireAt = isoSeconds(e.FireAt);
    if (e.TimerId !== undefined) entry.TimerId = e.TimerId;
    if (e.Reason) entry.Reason = e.Reason;
    if (e.Details) entry.Details = e.Details;
    if (e.OrchestrationStatus !== undefined) entry.OrchestrationStatus = ['Running', 'Completed', 'ContinuedAsNew', 'Failed', 'Canceled', 'Terminated', 'Pending'][e.OrchestrationStatus];
    if (withOutput) {
      if (e.Input !== undefined) entry.Input = parse(e.Input);
      if (e.Result !== undefined) entry.Result = parse(e.Result);
      if (source?.Input !== undefined) entry.Input = parse(source.Input);
    }
    result.push(entry);
  }
  return result;
}

import fs from 'node:fs';
import path from 'node:path';
import { instanceFileName } from '../sandbox/host/store';
import { GatewayWriter } from '../src/functions/names';

/**
 * Where one certificate's wall time goes, read from the durable host's own history of the
 * issuing instance (and the gateway writer's): each activity's scheduled-to-completed time by the
 * service it talks to, durable timers from created to fired, the wait for the gateway writer's
 * answer (its ARM PUT counted as ARM), and the rest as host overhead (episodes, queues, starts).
 * The issuing orchestration is sequential, so the parts add up to the wall time.
 */
export type Part = 'CA' | 'Key Vault' | 'ARM' | 'Blob' | 'DNS' | 'Gateway TLS check' | 'durable timers' | 'gateway writer (other than ARM)' | 'host overhead';

const SERVICE_BY_ACTIVITY: Record<string, Part> = {
  GetApplicationGatewayPublicIp: 'ARM',
  CheckDnsResolution: 'DNS',
  CreateAcmeOrder: 'CA',
  GetAcmeOrder: 'CA',
  GetAcmeHttp01Challenge: 'CA',
  AnswerAcmeHttp01Challenge: 'CA',
  FinalizeAcmeOrder: 'CA',
  // Downloads the chain from the CA, then merges it in Key Vault; counted as Key Vault.
  MergeIssuedCertificate: 'Key Vault',
  CreateCertificateSigningRequest: 'Key Vault',
  UploadValidationFile: 'Blob',
  DeleteValidationFile: 'Blob',
  // The hostname's claim (a blob lease) taken and given back.
  ClaimHostnames: 'Blob',
  ReleaseHostnames: 'Blob',
  CheckServedCertificates: 'Gateway TLS check',
  // Reads the gateway (ARM GET) to count its room before the CA is asked.
  CheckApplicationGatewayCapacity: 'ARM',
};

/** The host's persisted instance (DTFx-shaped history with millisecond timestamps). */
interface RawEvent {
  EventType: number;
  EventId: number;
  Name?: string;
  Timestamp: string;
  TaskScheduledId?: number;
  TimerId?: number;
}

// DurableTask.Core EventType numbers (sandbox/host/history.ts).
const TaskScheduled = 4;
const TaskCompleted = 5;
const TimerCreated = 10;
const TimerFired = 11;
const EventRaised = 15;

function history(stateDir: string, instanceId: string): RawEvent[] {
  const file = path.join(stateDir, 'durable', 'instances', instanceFileName(instanceId));
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as { history: RawEvent[] }).history : [];
}

const at = (iso: string | undefined): number => Date.parse(iso ?? '');

/** Each completed activity: name, scheduled and completed times (ms). */
function activities(events: RawEvent[]): { name: string; scheduled: number; completed: number }[] {
  const scheduled = new Map(events.filter((e) => e.EventType === TaskScheduled).map((e) => [e.EventId, e]));
  return events
    .filter((e) => e.EventType === TaskCompleted && scheduled.has(e.TaskScheduledId ?? -1))
    .map((e) => {
      const source = scheduled.get(e.TaskScheduledId ?? -1)!;
      return { name: source.Name ?? '', scheduled: at(source.Timestamp), completed: at(e.Timestamp) };
    });
}

/** Seconds per part for one finished issuing instance; `wallSeconds` is POST to Completed as the client saw it. */
export function criticalPath(stateDir: string, instanceId: string, writerId: string, wallSeconds: number): Record<Part, number> {
  const parts = Object.fromEntries(
    (['CA', 'Key Vault', 'ARM', 'Blob', 'DNS', 'Gateway TLS check', 'durable timers', 'gateway writer (other than ARM)', 'host overhead'] as Part[]).map((p) => [p, 0]),
  ) as Record<Part, number>;
  const events = history(stateDir, instanceId);
  const timerCreated = new Map(events.filter((e) => e.EventType === TimerCreated).map((e) => [e.EventId, at(e.Timestamp)]));
  for (const e of events.filter((x) => x.EventType === TimerFired)) {
    parts['durable timers'] += (at(e.Timestamp) - (timerCreated.get(e.TimerId ?? -1) ?? at(e.Timestamp))) / 1000;
  }
  const own = activities(events);
  for (const a of own) {
    const part = SERVICE_BY_ACTIVITY[a.name];
    if (part) parts[part] += (a.completed - a.scheduled) / 1000;
  }
  // The wait for the writer's answer: from handing the request over to the answer's arrival.
  let writerWait = 0;
  for (const request of own.filter((a) => a.name === GatewayWriter.submitActivity)) {
    const answer = events.find((e) => e.EventType === EventRaised && at(e.Timestamp) >= request.completed);
    if (answer) writerWait += (at(answer.Timestamp) - request.scheduled) / 1000;
  }
  // The gateway's long-running operations during this instance's life (from the writer's PUT to the
  // poll that saw it end) are ARM time; the rest of the wait is the writer's.
  const start = at(events[0]?.Timestamp);
  const end = at(events[events.length - 1]?.Timestamp);
  const writer = activities(history(stateDir, writerId)).filter((a) => a.completed >= start && a.completed <= end);
  let writerArm = 0;
  for (const begin of writer.filter((a) => a.name === GatewayWriter.beginActivity)) {
    const polls = writer.filter((a) => a.name === GatewayWriter.checkActivity && a.scheduled >= begin.completed);
    const next = writer.find((a) => a.name === GatewayWriter.beginActivity && a.scheduled > begin.scheduled);
    const own = polls.filter((a) => !next || a.completed <= next.scheduled);
    writerArm += ((own.length ? own[own.length - 1].completed : begin.completed) - begin.scheduled) / 1000;
  }
  parts.ARM += writerArm;
  parts['gateway writer (other than ARM)'] += Math.max(0, writerWait - writerArm);
  const accounted = Object.values(parts).reduce((a, b) => a + b, 0);
  parts['host overhead'] = Math.max(0, wallSeconds - accounted);
  return parts;
}

/**
 * Following an operation to its end through GET /api/operations/{instanceId} (the function key
 * is enough there; the starters' statusQueryGetUri needs the extension's system key): its status
 * each interval, each certificate's current step, and what became of each hostname.
 */
import { instanceIdFor } from '../domain/requests';
import { normaliseHostname } from '../domain/hostname';
import { decodeFailure } from '../domain/stepError';
import { AppClient } from './api';
import { CliError, ExitCode } from './exitCodes';

export interface OperationStatus {
  instanceId: string;
  name: string;
  runtimeStatus: string;
  customStatus: { status?: string; message?: string; error?: string | null; progress?: Record<string, number> } | null;
  output: unknown;
  createdTime: string;
  lastUpdatedTime: string;
}

/** The extension's statuses of an instance that has not ended. */
const UNFINISHED = new Set(['Pending', 'Running', 'ContinuedAsNew', 'Suspended']);
export const hasEnded = (status: OperationStatus): boolean => !UNFINISHED.has(status.runtimeStatus);

/** Consecutive failures to reach the app tolerated while waiting (a host restarting) before giving up. */
const UNREACHABLE_TRIES = 5;

export async function readOperation(client: AppClient, instanceId: string): Promise<OperationStatus> {
  const { body } = await client.call('GET', `/api/operations/${encodeURIComponent(instanceId)}`);
  return body as OperationStatus;
}

/** What is being followed: one certificate's run, or a batch whose certificates run as its children. */
export interface Followed {
  instanceId: string;
  /** The certificates' names (the first name of each), in request order. */
  hostnames: string[];
  batch: boolean;
}

export interface WaitOptions {
  intervalMs: number;
  /** Epoch ms after which the wait ends with the operation still running. */
  deadline: number;
  /** A certificate's current step, in words, each time it changes. */
  onStep?: (hostname: string, text: string) => void;
}

/** The operation's last status, and whether it ended before the deadline. */
export async function follow(client: AppClient, followed: Followed, options: WaitOptions): Promise<{ status: OperationStatus; ended: boolean }> {
  const shown = new Map<string, string>();
  const show = (hostname: string, text: string): void => {
    if (shown.get(hostname) === text) return;
    shown.set(hostname, text);
    options.onStep?.(hostname, text);
  };
  for (;;) {
    const status = await patiently(() => readOperation(client, followed.instanceId));
    if (hasEnded(status)) return { status, ended: true };
    if (!followed.batch) show(followed.hostnames[0], stepText(status));
    else for (const hostname of followed.hostnames) show(hostname, await childText(client, hostname, status));
    if (Date.now() >= options.deadline) return { status, ended: false };
    await sleep(Math.min(options.intervalMs, Math.max(0, options.deadline - Date.now())));
  }
}

/** A step as the progress display shows it: the contract's status name and its message. */
export function stepText(status: OperationStatus): string {
  const step = status.customStatus?.status;
  const message = status.customStatus?.message;
  if (!step) return status.runtimeStatus === 'Pending' ? 'waiting to start' : status.runtimeStatus;
  return message ? `${step}: ${message}` : step;
}

/**
 * A batch member's step: its child run (`certificate-<hostname>`, started by the batch) while it
 * issues, then the batch's own step (the one gateway write for all). A child run older than the
 * batch is an earlier operation's, so the member is still queued.
 */
async function childText(client: AppClient, hostname: string, batch: OperationStatus): Promise<string> {
  const verdict = normaliseHostname(hostname, { wildcard: true });
  if (!verdict.ok) return stepText(batch);
  let child: OperationStatus;
  try {
    child = await readOperation(client, instanceIdFor(verdict.hostname));
  } catch (error) {
    if (error instanceof CliError && error.details.status === 404) return 'queued';
    throw error;
  }
  if (Date.parse(child.createdTime) < Date.parse(batch.createdTime) - 1000) return 'queued';
  if (!hasEnded(child)) return stepText(child);
  if (child.runtimeStatus === 'Completed') return `issued; ${stepText(batch)}`;
  return `${child.runtimeStatus}${child.customStatus?.error ? ` (${child.customStatus.error})` : ''}`;
}

/** Retries a read while the app cannot be reached, a few times: a host restarting is not the end of an operation. */
async function patiently<T>(read: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await read();
    } catch (error) {
      if (!(error instanceof CliError && error.exitCode === ExitCode.Unreachable) || attempt >= UNREACHABLE_TRIES) throw error;
      await sleep(500 * attempt);
    }
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** What became of one certificate (by its first name). */
export interface HostnameResult {
  hostname: string;
  status: string;
  code?: string | null;
  message?: string;
  detail?: string;
  failedStep?: string;
}

/** The failure record of a Failed run's output (README "Error codes"), or undefined. */
export function failureOf(status: OperationStatus): Record<string, unknown> | undefined {
  return status.runtimeStatus === 'Failed' ? decodeFailure(typeof status.output === 'string' ? status.output : '') : undefined;
}

/** Each certificate's outcome, from an ended operation's output. */
export function hostnameResults(status: OperationStatus, followed: Followed): HostnameResult[] {
  const record = failureOf(status);
  const listed = followed.batch ? batchOutcomes(record?.hostnames ?? (status.output as { hostnames?: unknown } | null)?.hostnames) : undefined;
  if (listed) return listed;
  return followed.hostnames.map((hostname) => {
    if (status.runtimeStatus === 'Completed') return { hostname, status: 'Completed' };
    if (!record) return { hostname, status: status.runtimeStatus, code: status.customStatus?.error ?? null };
    return {
      hostname,
      status: status.runtimeStatus,
      code: String(record.code),
      message: typeof record.message === 'string' ? record.message : undefined,
      detail: typeof record.detail === 'string' ? record.detail : undefined,
      failedStep: typeof record.failedStep === 'string' ? record.failedStep : undefined,
    };
  });
}

/** A batch's per-hostname list (its output, or its failure record's `hostnames`). */
function batchOutcomes(value: unknown): HostnameResult[] | undefined {
  if (!Array.isArray(value)) return undefined;
  return value
    .filter((o): o is Record<string, unknown> => !!o && typeof o === 'object' && typeof (o as { hostname?: unknown }).hostname === 'string')
    .map((o) => ({
      hostname: String(o.hostname),
      status: String(o.status),
      code: typeof o.error === 'string' ? o.error : null,
      ...(typeof o.message === 'string' ? { message: o.message } : {}),
      ...(typeof o.detail === 'string' ? { detail: o.detail } : {}),
      ...(typeof o.failedStep === 'string' ? { failedStep: o.failedStep } : {}),
    }));
}

import { CertbotError, ErrorCode, isErrorCode } from './errors';

/**
 * Typed failures cross every orchestration boundary only as text: an activity's throw reaches its
 * orchestrator as TaskFailed `Reason` "Activity function 'X' failed: <message>" and `Details`
 * (its stack); a failed orchestration's message becomes its output "Orchestrator function 'X'
 * failed: <message>", and its parent sees that as `Reason` with `Details` "Message: ...,
 * StackTrace: ..." (OutOfProcOrchestrationShim.cs); durable-functions joins them as
 * `${Reason} \n ${Details}` (TaskOrchestrationExecutor.js). Whatever the engine adds around it,
 * one encoding carries the record: JSON between markers, decoded here and nowhere else.
 */
const OPEN = '[certbot-error]';
const CLOSE = '[/certbot-error]';

export interface StepErrorInfo {
  code: ErrorCode;
  detail: string;
  retryAfterSeconds?: number;
  /** When retrying makes sense (UTC, ISO 8601): Retry-After from the moment the step failed. */
  retryAt?: string;
  transient?: boolean;
}

/** The record a Failed orchestration ends with (a ticket manager logs it; never a secret). */
export interface FailureRecord extends StepErrorInfo {
  message: string;
  instanceId: string;
  failedStep?: string;
  hostname?: string;
  hostnames?: unknown[];
  [field: string]: unknown;
}

/** What the list (and the dashboard) shows of a hostname's last run when it failed. */
export interface LastFailure {
  instanceId: string;
  code: string;
  message: string;
  failedStep: string | null;
  at: string;
  record: Record<string, unknown>;
}

/** The text to throw (from an activity or an orchestrator) so that `value` survives the engine. */
export function encodeFailure(value: StepErrorInfo | FailureRecord): string {
  return `${OPEN}${JSON.stringify(value)}${CLOSE}`;
}

/** An Error to throw from an activity; its message survives the activity boundary. */
export function stepError(error: CertbotError): Error {
  const info: StepErrorInfo = { code: error.code, detail: error.detail };
  if (error.retryAfterSeconds !== undefined) {
    info.retryAfterSeconds = error.retryAfterSeconds;
    info.retryAt = new Date(Date.now() + error.retryAfterSeconds * 1000).toISOString();
  }
  if (error.transient) info.transient = true;
  return new Error(encodeFailure(info));
}

/** The first encoded record in an error or text, with a known code and a detail; else undefined. */
export function decodeFailure(error: unknown): (StepErrorInfo & Record<string, unknown>) | undefined {
  const text = error instanceof Error ? error.message : typeof error === 'string' ? error : '';
  const start = text.indexOf(OPEN);
  const end = text.indexOf(CLOSE, start);
  if (start < 0 || end < 0) return undefined;
  try {
    const parsed: unknown = JSON.parse(text.slice(start + OPEN.length, end));
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    const record = parsed as Record<string, unknown>;
    if (!isErrorCode(record.code) || typeof record.detail !== 'string') return undefined;
    return record as StepErrorInfo & Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** The step error an activity failure carries (only its typed fields). */
export function decodeStepError(error: unknown): StepErrorInfo | undefined {
  const record = decodeFailure(error);
  if (!record) return undefined;
  const info: StepErrorInfo = { code: record.code, detail: record.detail };
  if (typeof record.retryAfterSeconds === 'number') info.retryAfterSeconds = record.retryAfterSeconds;
  if (typeof record.retryAt === 'string') info.retryAt = record.retryAt;
  if (record.transient === true) info.transient = true;
  return info;
}

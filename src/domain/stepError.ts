import { CertbotError, ErrorCode, isErrorCode } from './errors';

/**
 * Activity failures reach the orchestrator only as text (the host's TaskFailed `Reason`, "Activity
 * function 'X' failed: <message>"). A CertbotError therefore carries its code and detail inside its
 * message between markers, and the orchestrator reads them back here.
 */
const OPEN = '[certbot-error]';
const CLOSE = '[/certbot-error]';

export interface StepErrorInfo {
  code: ErrorCode;
  detail: string;
  retryAfterSeconds?: number;
  transient?: boolean;
}

export function encodeStepError(info: StepErrorInfo): string {
  return `${OPEN}${JSON.stringify(info)}${CLOSE}`;
}

/** An Error to throw from an activity; its message survives the activity boundary. */
export function stepError(error: CertbotError): Error {
  const info: StepErrorInfo = { code: error.code, detail: error.detail };
  if (error.retryAfterSeconds !== undefined) info.retryAfterSeconds = error.retryAfterSeconds;
  if (error.transient) info.transient = true;
  return new Error(encodeStepError(info));
}

export function decodeStepError(error: unknown): StepErrorInfo | undefined {
  const text = error instanceof Error ? error.message : typeof error === 'string' ? error : '';
  const start = text.indexOf(OPEN);
  const end = text.indexOf(CLOSE, start);
  if (start < 0 || end < 0) return undefined;
  try {
    const parsed: unknown = JSON.parse(text.slice(start + OPEN.length, end));
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    const { code, detail, retryAfterSeconds, transient } = parsed as Record<string, unknown>;
    if (!isErrorCode(code) || typeof detail !== 'string') return undefined;
    const info: StepErrorInfo = { code, detail };
    if (typeof retryAfterSeconds === 'number') info.retryAfterSeconds = retryAfterSeconds;
    if (transient === true) info.transient = true;
    return info;
  } catch {
    return undefined;
  }
}

import { ErrorCode } from './errors';
import { StepMessages, StepStatus } from './status';

/** The `customStatus` the frontend polls: `{status, message, error}` as in the contract. */
export interface CustomStatus {
  status: StepStatus;
  message: string;
  error: ErrorCode | null;
}

export function stepStatus(status: StepStatus): CustomStatus {
  return { status, message: StepMessages[status], error: null };
}

export function failedStatus(code: ErrorCode, message: string): CustomStatus {
  return { status: 'Failed', message, error: code };
}

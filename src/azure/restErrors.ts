import { CertbotError, ErrorCode } from '../domain/errors';
import { parseRetryAfter } from '../domain/retryAfter';
import { deniedAction, deniedScope, grantAdvice } from '../domain/permissions';

/** What the Azure SDKs throw (RestError) reduced to the fields we read; keeps `any` out of callers. */
interface RestLike {
  statusCode?: number;
  code?: string;
  message?: string;
  response?: { headers?: { get(name: string): string | undefined }; bodyAsText?: string | null };
}

/** Key Vault's inner error code (`error.innererror.code`), which the SDK's RestError leaves in the body. */
function innerCode(error: RestLike): string | undefined {
  try {
    const body = JSON.parse(error.response?.bodyAsText ?? '') as { error?: { innererror?: { code?: unknown } } };
    return typeof body.error?.innererror?.code === 'string' ? body.error.innererror.code : undefined;
  } catch {
    return undefined;
  }
}

function asRestLike(error: unknown): RestLike {
  return typeof error === 'object' && error !== null ? (error as RestLike) : { message: String(error) };
}

function retryAfter(error: RestLike): number | undefined {
  return parseRetryAfter(error.response?.headers?.get('retry-after'));
}

/** Azure's own words, without anything that could hold a secret (messages of these APIs do not). */
function describe(service: string, error: RestLike): string {
  const status = error.statusCode ? ` (HTTP ${error.statusCode}${error.code ? `, ${error.code}` : ''})` : '';
  const message = (error.message ?? 'request failed').split('\n')[0].slice(0, 500);
  return `${service}${status}: ${message}`;
}

export interface ErrorCodes {
  forbidden: ErrorCode;
  /**
   * The action a refusal with this error code is about, where the service does not name it
   * (Storage's 403 does not); `scope`: the roles.json scope kind of the resource called, where
   * several assignments grant the action (the challenge and the state container).
   */
  deniedAction?: { whenCode: string; action: string; scope?: string };
  notFound?: ErrorCode;
  other: ErrorCode;
}

/**
 * Answers that clear by themselves: a timeout, throttling (Key Vault answers 429 with Retry-After
 * at its service limits, https://learn.microsoft.com/azure/key-vault/general/service-limits;
 * Storage 503 ServerBusy, https://learn.microsoft.com/rest/api/storageservices/common-rest-api-error-codes)
 * and server errors. The SDKs retry these a few times first (core-rest-pipeline's default retry
 * policy); what is still failing then is retried by the orchestration's durable backoff.
 */
const TRANSIENT_STATUS = new Set([408, 429, 500, 502, 503, 504]);
/** Connection-level failures that a later attempt can get past (not a wrong host name or a refused port: those are settings). */
const TRANSIENT_NETWORK = new Set(['REQUEST_SEND_ERROR', 'ECONNRESET', 'ETIMEDOUT', 'EAI_AGAIN', 'EPIPE']);

/**
 * Key Vault's soft delete, recover and purge finish a few seconds after they are accepted; until
 * then the name answers 409 "... is currently being deleted/recovered" (ObjectIsBeingDeleted,
 * ObjectIsBeingRecovered), which clears by itself.
 */
export function isNameBusy(error: unknown): boolean {
  const rest = asRestLike(error);
  if (rest.statusCode !== 409) return false;
  return ['ObjectIsBeingDeleted', 'ObjectIsBeingRecovered'].includes(innerCode(rest) ?? '') || /currently being (deleted|recovered)/i.test(rest.message ?? '');
}

export function isTransient(error: unknown): boolean {
  const rest = asRestLike(error);
  if (isNameBusy(error)) return true;
  if (rest.statusCode !== undefined) return TRANSIENT_STATUS.has(rest.statusCode);
  return rest.code !== undefined && TRANSIENT_NETWORK.has(rest.code);
}

/** Translate an SDK error into a typed CertbotError (an existing CertbotError passes through). */
export function fromAzureError(service: string, error: unknown, codes: ErrorCodes): CertbotError {
  if (error instanceof CertbotError) return error;
  const rest = asRestLike(error);
  if (rest.statusCode === 403 && (innerCode(rest) === 'SecretDisabled' || /disabled secret/i.test(rest.message ?? ''))) {
    // Not a permission: the secret's newest version is disabled (someone disabled it in the vault).
    return new CertbotError(codes.other, `${describe(service, rest)} Enable the secret's newest version in Key Vault (or add a new one), then retry.`);
  }
  if (rest.statusCode === 403) {
    // Name the refused action and the deployment's role that grants it: what the operator must do.
    const hinted = codes.deniedAction && rest.code === codes.deniedAction.whenCode ? codes.deniedAction : undefined;
    const action = deniedAction(rest.message ?? '') ?? hinted?.action;
    const advice = action ? grantAdvice(action, 'app', deniedScope(rest.message ?? ''), hinted?.scope) : undefined;
    return new CertbotError(codes.forbidden, `${describe(service, rest)}${action ? ` Refused action: ${action}.` : ''}${advice ? ` ${advice}` : ''}`);
  }
  if (rest.statusCode === 401) return new CertbotError(codes.forbidden, describe(service, rest));
  if (rest.statusCode === 404 && codes.notFound) return new CertbotError(codes.notFound, describe(service, rest));
  return new CertbotError(codes.other, describe(service, rest), retryAfter(rest), isTransient(error));
}

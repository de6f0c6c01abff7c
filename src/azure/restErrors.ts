import { CertbotError, ErrorCode } from '../domain/errors';

/** What the Azure SDKs throw (RestError) reduced to the fields we read; keeps `any` out of callers. */
interface RestLike {
  statusCode?: number;
  code?: string;
  message?: string;
  response?: { headers?: { get(name: string): string | undefined } };
}

function asRestLike(error: unknown): RestLike {
  return typeof error === 'object' && error !== null ? (error as RestLike) : { message: String(error) };
}

function retryAfter(error: RestLike): number | undefined {
  const header = error.response?.headers?.get('retry-after');
  const seconds = header === undefined ? NaN : Number(header);
  return Number.isFinite(seconds) ? seconds : undefined;
}

/** Azure's own words, without anything that could hold a secret (messages of these APIs do not). */
function describe(service: string, error: RestLike): string {
  const status = error.statusCode ? ` (HTTP ${error.statusCode}${error.code ? `, ${error.code}` : ''})` : '';
  const message = (error.message ?? 'request failed').split('\n')[0].slice(0, 500);
  return `${service}${status}: ${message}`;
}

export interface ErrorCodes {
  forbidden: ErrorCode;
  notFound?: ErrorCode;
  other: ErrorCode;
}

/** Translate an SDK error into a typed CertbotError (an existing CertbotError passes through). */
export function fromAzureError(service: string, error: unknown, codes: ErrorCodes): CertbotError {
  if (error instanceof CertbotError) return error;
  const rest = asRestLike(error);
  if (rest.statusCode === 401 || rest.statusCode === 403) {
    return new CertbotError(codes.forbidden, describe(service, rest));
  }
  if (rest.statusCode === 404 && codes.notFound) return new CertbotError(codes.notFound, describe(service, rest));
  return new CertbotError(codes.other, describe(service, rest), retryAfter(rest));
}

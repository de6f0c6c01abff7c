import type { HttpResponseInit } from '@azure/functions';
import type { FieldError } from '../domain/requests';
import { CertbotError, ErrorMessages } from '../domain/errors';

/** RFC 9457 problem details; the body names each refused field and why. */
export function problemResponse(status: number, title: string, detail: string, errors?: FieldError[], extra?: object): HttpResponseInit {
  return {
    status,
    // A 503 carries the retry hint a client can act on without reading the detail (RFC 9110 10.2.3).
    headers: { 'Content-Type': 'application/problem+json', ...(status === 503 ? { 'Retry-After': '10' } : {}) },
    jsonBody: { type: 'about:blank', title, status, detail, ...(errors ? { errors } : {}), ...extra },
  };
}

export function invalidRequest(errors: FieldError[]): HttpResponseInit {
  const detail = errors.map((e) => `${e.field} ${e.reason}`).join('; ');
  return problemResponse(400, 'Invalid request', detail, errors);
}

/**
 * 502 for a dependency that refused: a permission the operator must grant is named with its typed
 * code and the role to grant (from the error's advice, never Azure's raw message with its ids);
 * anything else keeps the generic detail.
 */
export function dependencyProblem(title: string, genericDetail: string, error: unknown): HttpResponseInit {
  if (error instanceof CertbotError && error.code.endsWith('PermissionDenied')) {
    const advice = /Grant [^]*?then retry\./.exec(error.detail)?.[0];
    return problemResponse(502, title, `${ErrorMessages[error.code]}${advice ? ` ${advice}` : ''}`, undefined, { code: error.code });
  }
  return problemResponse(502, title, genericDetail);
}

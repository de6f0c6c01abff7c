import type { HttpResponseInit } from '@azure/functions';
import type { FieldError } from '../domain/requests';

/** RFC 9457 problem details; the body names each refused field and why. */
export function problemResponse(status: number, title: string, detail: string, errors?: FieldError[], extra?: object): HttpResponseInit {
  return {
    status,
    headers: { 'Content-Type': 'application/problem+json' },
    jsonBody: { type: 'about:blank', title, status, detail, ...(errors ? { errors } : {}), ...extra },
  };
}

export function invalidRequest(errors: FieldError[]): HttpResponseInit {
  const detail = errors.map((e) => `${e.field} ${e.reason}`).join('; ');
  return problemResponse(400, 'Invalid request', detail, errors);
}

import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { CertbotError } from '../domain/errors';
import { problemResponse } from './problem';

type HttpHandler = (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit>;

/**
 * The last word of every HTTP endpoint: a failure no handler turned into an answer (a service the
 * app depends on not answering, such as the Durable status API) becomes a 503 that says to retry,
 * never a 500 from the host; the log gets the code and detail (never inputs), the caller neither.
 */
export function guarded(handler: HttpHandler): HttpHandler {
  return async (request, context) => {
    try {
      return await handler(request, context);
    } catch (error) {
      context.error(`${context.functionName} failed: ${error instanceof CertbotError ? `${error.code}: ${error.detail}` : (error as Error)?.name ?? 'error'}`);
      return problemResponse(503, 'Temporarily unavailable', 'A service the app depends on did not answer; retry shortly.');
    }
  };
}

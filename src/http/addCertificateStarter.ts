import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { parseSingleHostname } from '../domain/requests';
import { readJsonBody } from './body';
import { startIssuance } from './inProgress';
import { invalidRequest } from './problem';

/**
 * POST /api/AddCertificateFunctions_HttpStart {"hostnames":[{"hostname":"..."}]}: validates, then
 * starts AddCertificateFunctions under an id derived from the hostname and answers 202 with the
 * check-status links. While an instance for the hostname runs, another POST gets 409 with its links.
 */
export async function addCertificateStarter(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const body = await readJsonBody(request);
  if (!body.ok) return invalidRequest(body.errors);
  const parsed = parseSingleHostname(body.value);
  if (!parsed.ok) return invalidRequest(parsed.errors);

  return startIssuance(df.getClient(context), request, context, parsed.value);
}

import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { parseSingleHostname } from '../domain/requests';
import { readJsonBody } from './body';
import { configOrError, isConfig } from './configuration';
import { importedResponse, startIssuance } from './inProgress';
import { invalidRequest } from './problem';

/**
 * POST /api/AddCertificateFunctions_HttpStart {"hostnames":[{"hostname":"..."}]}: validates, then
 * starts AddCertificateFunctions under an id derived from the hostname and answers 202 with the
 * check-status links. While another operation holds the hostname, a POST gets 409 with its links;
 * a hostname holding an imported certificate gets 409 before anything is ordered.
 */
export async function addCertificateStarter(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const config = configOrError(context);
  if (!isConfig(config)) return config;
  const body = await readJsonBody(request);
  if (!body.ok) return invalidRequest(body.errors);
  const parsed = parseSingleHostname(body.value);
  if (!parsed.ok) return invalidRequest(parsed.errors);
  const imported = await importedResponse(config, context, [parsed.value]);
  if (imported) return imported;
  return startIssuance(df.getClient(context), request, context, config, parsed.value);
}

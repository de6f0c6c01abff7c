import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { parseHostnameList } from '../domain/requests';
import { Orchestrators } from '../functions/names';
import type { MultipleInput } from '../orchestrators/addMultipleCertificates';
import { readJsonBody } from './body';
import { acceptedResponse, checkStatusLinks } from './checkStatus';
import { configOrError, isConfig } from './configuration';
import { busyResponse, hostnamesInProgress } from './inProgress';
import { invalidRequest } from './problem';

/**
 * POST /api/AddMultipleCertificatesFunctions_HttpStart {"hostnames":[{"hostname":"..."}, ...]}:
 * 1 to MaxHostnamesPerRequest distinct hostnames; 409 when any of them is already being issued.
 */
export async function addMultipleCertificatesStarter(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const config = configOrError(context);
  if (!isConfig(config)) return config;
  const body = await readJsonBody(request);
  if (!body.ok) return invalidRequest(body.errors);
  const parsed = parseHostnameList(body.value, config.maxHostnamesPerRequest);
  if (!parsed.ok) return invalidRequest(parsed.errors);

  const client = df.getClient(context);
  const busy = await hostnamesInProgress(client, parsed.value);
  if (busy.length > 0) return busyResponse(busy);
  const input: MultipleInput = { hostnames: parsed.value, maxParallel: config.maxParallelIssuances };
  const instanceId = await client.startNew(Orchestrators.AddMultipleCertificates, { input });
  context.info(`Started ${Orchestrators.AddMultipleCertificates} ${instanceId} for ${parsed.value.length} hostnames`);
  return acceptedResponse(await checkStatusLinks(client, request, instanceId));
}

import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { loadConfig } from '../domain/config';
import { CertbotError } from '../domain/errors';
import { instanceIdFor, parseHostnameList } from '../domain/requests';
import { Orchestrators } from '../functions/names';
import type { MultipleInput } from '../orchestrators/addMultipleCertificates';
import { readJsonBody } from './body';
import { acceptedResponse, checkStatusLinks } from './checkStatus';
import { invalidRequest, problemResponse } from './problem';

const ACTIVE = new Set<string>([df.OrchestrationRuntimeStatus.Running, df.OrchestrationRuntimeStatus.Pending]);

/**
 * POST /api/AddMultipleCertificatesFunctions_HttpStart {"hostnames":[{"hostname":"..."}, ...]}:
 * 1 to MaxHostnamesPerRequest distinct hostnames; 409 when any of them is already being issued.
 */
export async function addMultipleCertificatesStarter(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  let max: number;
  let maxParallel: number;
  try {
    const config = loadConfig();
    max = config.maxHostnamesPerRequest;
    maxParallel = config.maxParallelIssuances;
  } catch (error) {
    context.error(`Configuration: ${(error as CertbotError).detail ?? 'invalid'}`);
    return problemResponse(500, 'Not configured', 'The function app is misconfigured; see its logs.');
  }
  const body = await readJsonBody(request);
  if (!body.ok) return invalidRequest(body.errors);
  const parsed = parseHostnameList(body.value, max);
  if (!parsed.ok) return invalidRequest(parsed.errors);

  const client = df.getClient(context);
  const busy: string[] = [];
  for (const hostname of parsed.value) {
    const status = await client.getStatus(instanceIdFor(hostname)).catch(() => undefined);
    if (status && ACTIVE.has(status.runtimeStatus)) busy.push(hostname);
  }
  if (busy.length > 0) {
    return problemResponse(409, 'Already in progress', `Certificates for ${busy.join(', ')} are already being issued; retry without them or when they finish.`, undefined, {
      hostnames: busy,
    });
  }
  const input: MultipleInput = { hostnames: parsed.value, maxParallel };
  const instanceId = await client.startNew(Orchestrators.AddMultipleCertificates, { input });
  context.info(`Started ${Orchestrators.AddMultipleCertificates} ${instanceId} for ${parsed.value.length} hostnames`);
  return acceptedResponse(await checkStatusLinks(client, request, instanceId));
}

import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import type { DurableClient } from 'durable-functions';
import { instanceIdFor } from '../domain/requests';
import { isInProgress } from '../durable/instances';
import { Orchestrators } from '../functions/names';
import { acceptedResponse, checkStatusLinks } from './checkStatus';
import { problemResponse } from './problem';

/** The hostnames whose certificate is being issued right now (one instance per hostname). */
export async function hostnamesInProgress(client: DurableClient, hostnames: string[]): Promise<string[]> {
  const busy: string[] = [];
  for (const hostname of hostnames) if (await isInProgress(client, instanceIdFor(hostname))) busy.push(hostname);
  return busy;
}

export function busyResponse(busy: string[]): HttpResponseInit {
  return problemResponse(409, 'Already in progress', `Certificates for ${busy.join(', ')} are already being issued; retry without them or when they finish.`, undefined, {
    hostnames: busy,
  });
}

/**
 * Starts AddCertificateFunctions for one hostname under the hostname's instance id (issue and
 * renew-now alike): 202 with the check-status links, or 409 with the running instance's links
 * while one runs, also when two requests race to start it.
 */
export async function startIssuance(client: DurableClient, request: HttpRequest, context: InvocationContext, hostname: string): Promise<HttpResponseInit> {
  const instanceId = instanceIdFor(hostname);
  const conflict = async (): Promise<HttpResponseInit | undefined> => {
    if (!(await isInProgress(client, instanceId))) return undefined;
    const links = await checkStatusLinks(client, request, instanceId);
    return problemResponse(409, 'Already in progress', `A certificate for ${hostname} is already being issued.`, undefined, links);
  };
  const busy = await conflict();
  if (busy) return busy;
  try {
    await client.startNew(Orchestrators.AddCertificate, { instanceId, input: hostname });
  } catch (error) {
    // Two requests raced: the host refuses the second start; answer like the check above.
    const raced = await conflict();
    if (raced) return raced;
    context.error(`Starting ${Orchestrators.AddCertificate} for ${hostname} failed: ${(error as Error).message}`);
    return problemResponse(503, 'Could not start', 'The orchestration could not be started; retry shortly.');
  }
  context.info(`Started ${Orchestrators.AddCertificate} ${instanceId}`);
  return acceptedResponse(await checkStatusLinks(client, request, instanceId));
}

import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { instanceIdFor, parseSingleHostname } from '../domain/requests';
import { Orchestrators } from '../functions/names';
import { invalidRequest, problemResponse } from './problem';
import { readJsonBody } from './body';
import { acceptedResponse, checkStatusLinks } from './checkStatus';
import { isInProgress } from './inProgress';


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

  const hostname = parsed.value;
  const instanceId = instanceIdFor(hostname);
  const client = df.getClient(context);
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
    // Two POSTs raced: the host refuses the second start; answer like the check above.
    const raced = await conflict();
    if (raced) return raced;
    context.error(`Starting ${Orchestrators.AddCertificate} for ${hostname} failed: ${(error as Error).message}`);
    return problemResponse(503, 'Could not start', 'The orchestration could not be started; retry shortly.');
  }
  context.info(`Started ${Orchestrators.AddCertificate} ${instanceId}`);
  return acceptedResponse(await checkStatusLinks(client, request, instanceId));
}

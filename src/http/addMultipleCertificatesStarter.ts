import { randomUUID } from 'node:crypto';
import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { parseHostnameEntries } from '../domain/requests';
import { Orchestrators } from '../functions/names';
import type { MultipleInput } from '../orchestrators/addMultipleCertificates';
import { readJsonBody } from './body';
import { configOrError, isConfig } from './configuration';
import { claimHostnames, importedResponse, startClaimed } from './inProgress';
import { invalidRequest } from './problem';

/**
 * POST /api/AddMultipleCertificatesFunctions_HttpStart {"hostnames":[{"hostname":"..."}, ...]}:
 * 1 to MaxHostnamesPerRequest distinct hostnames; 409 when another operation holds any of them
 * or any holds an imported certificate.
 */
export async function addMultipleCertificatesStarter(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const config = configOrError(context);
  if (!isConfig(config)) return config;
  const body = await readJsonBody(request);
  if (!body.ok) return invalidRequest(body.errors);
  const entries = parseHostnameEntries(body.value, config.maxHostnamesPerRequest, config.acmeChallengeType);
  if (!entries.ok) return invalidRequest(entries.errors);
  const parsed = { value: entries.value.map((e) => e.hostname) };
  const dns01 = entries.value.filter((e) => (e.challengeType ?? config.acmeChallengeType) === 'dns-01').map((e) => e.hostname);

  const imported = await importedResponse(config, context, parsed.value);
  if (imported) return imported;
  const client = df.getClient(context);
  // The batch holds every hostname until it ends (its children run under that claim).
  const instanceId = `batch-${randomUUID()}`;
  const claimed = await claimHostnames(client, request, context, config, parsed.value, instanceId);
  if (!claimed.ok) return claimed.response;
  const input: MultipleInput = { hostnames: parsed.value, maxParallel: config.maxParallelIssuances, ...(dns01.length ? { dns01Hostnames: dns01 } : {}) };
  return startClaimed(client, request, context, claimed, Orchestrators.AddMultipleCertificates, { instanceId, input, hostnames: parsed.value });
}

import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import type { DurableClient } from 'durable-functions';
import { Busy, HostnameClaims } from '../azure/hostnameClaims';
import { FailureBackoffStore } from '../azure/failureBackoff';
import { KeyVaultAdapter } from '../azure/keyVault';
import { isBackingOff, overrideNotice } from '../domain/failureBackoff';
import { CertbotConfig } from '../domain/config';
import { CertbotError, ErrorMessages } from '../domain/errors';
import { instanceIdFor } from '../domain/requests';
import { holderState, isInProgress } from '../durable/instances';
import type { IssuanceRequest } from '../orchestrators/addCertificate';
import { Orchestrators } from '../functions/names';
import { acceptedResponse, checkStatusLinks } from './checkStatus';
import { dependencyProblem, problemResponse } from './problem';

/**
 * Starting an operation on hostnames: claim them for the instance about to start (one operation
 * per hostname at a time, src/azure/hostnameClaims.ts), start it, or answer 409 with the links of
 * whatever holds them. A claim that cannot be made (storage failing) is a 503, never a start.
 */
export type Claimed = { ok: true; release: () => Promise<void> } | { ok: false; response: HttpResponseInit };

export async function claimHostnames(
  client: DurableClient,
  request: HttpRequest,
  context: InvocationContext,
  config: CertbotConfig,
  hostnames: string[],
  holder: string,
): Promise<Claimed> {
  const claims = new HostnameClaims(config);
  try {
    const outcome = await claims.claim(hostnames, holder, (id) => holderState(client, id));
    if (outcome.ok) return { ok: true, release: () => claims.release(outcome.acquired, holder).catch(() => undefined) };
    return { ok: false, response: await busyResponse(client, request, outcome.busy) };
  } catch (error) {
    context.error(`Claiming ${hostnames.length} hostname(s) for ${holder} failed: ${error instanceof CertbotError ? `${error.code}: ${error.detail}` : (error as Error).name}`);
    const refused = error instanceof CertbotError && error.code === 'BlobStoragePermissionDenied';
    if (refused) return { ok: false, response: dependencyProblem('Could not start', '', error) };
    return { ok: false, response: problemResponse(503, 'Could not start', 'The hostnames could not be reserved (Blob Storage did not answer); retry shortly.') };
  }
}

/** 409: which hostnames are busy and, for each, the instance working on it and its status link. */
export async function busyResponse(client: DurableClient, request: HttpRequest, busy: Busy[]): Promise<HttpResponseInit> {
  const holders = await Promise.all(
    busy.map(async ({ hostname, holder }) => ({
      hostname,
      instanceId: holder || null,
      statusQueryGetUri: holder ? (await checkStatusLinks(client, request, holder)).statusQueryGetUri : null,
    })),
  );
  const names = busy.map((b) => b.hostname);
  if (busy.length === 1 && busy[0].holder) {
    const links = await checkStatusLinks(client, request, busy[0].holder);
    return problemResponse(409, 'Already in progress', `${names[0]} is being worked on by ${busy[0].holder}; retry when it finishes.`, undefined, { ...links, hostnames: names, holders });
  }
  return problemResponse(409, 'Already in progress', `${names.join(', ')} ${names.length === 1 ? 'is' : 'are'} being worked on by another request; retry without them or when they finish.`, undefined, {
    hostnames: names,
    holders,
  });
}

/** 409 for hostnames holding an imported certificate: ACME never replaces one (checked before any order). */
export async function importedResponse(config: CertbotConfig, context: InvocationContext, hostnames: string[]): Promise<HttpResponseInit | undefined> {
  const keyVault = new KeyVaultAdapter(config);
  try {
    const imported: string[] = [];
    for (const hostname of hostnames) if ((await keyVault.findManaged(hostname))?.source === 'import') imported.push(hostname);
    if (imported.length === 0) return undefined;
    return problemResponse(409, 'Imported certificate', `${imported.join(', ')}: ${ErrorMessages.HostnameHasImportedCertificate}`, undefined, { hostnames: imported });
  } catch (error) {
    context.error(`Reading Key Vault for ${hostnames.length} hostname(s): ${error instanceof CertbotError ? `${error.code}: ${error.detail}` : (error as Error).name}`);
    return dependencyProblem('Key Vault unavailable', 'The app could not read Key Vault; see its logs.', error);
  }
}

/**
 * Starts the orchestration a claim was made for and answers 202 with its links. If the start
 * fails: when an instance of that id runs (a same-id start raced this one) the claim is its own and
 * stays, and `whenRunning` answers; otherwise the claim goes back and the answer is 503.
 */
export async function startClaimed(
  client: DurableClient,
  request: HttpRequest,
  context: InvocationContext,
  claimed: Extract<Claimed, { ok: true }>,
  orchestrator: string,
  start: { instanceId: string; input: unknown; hostnames: string[] },
  unavailable = 'The orchestration could not be started; retry shortly.',
): Promise<HttpResponseInit> {
  try {
    await client.startNew(orchestrator, { instanceId: start.instanceId, input: start.input });
  } catch (error) {
    if (await isInProgress(client, start.instanceId).catch(() => false)) return busyResponse(client, request, start.hostnames.map((hostname) => ({ hostname, holder: start.instanceId })));
    await claimed.release();
    context.error(`Starting ${orchestrator} ${start.instanceId} failed: ${(error as Error).message.split('\n')[0].slice(0, 200)}`);
    return problemResponse(503, 'Could not start', unavailable);
  }
  context.info(`Started ${orchestrator} ${start.instanceId}`);
  return acceptedResponse(await checkStatusLinks(client, request, start.instanceId));
}

/** On a 202 for a hostname still in its failure back-off: the manual request went ahead anyway (src/domain/failureBackoff.ts). */
export const BACKOFF_OVERRIDDEN_HEADER = 'X-Backoff-Overridden';

/**
 * Starts AddCertificateFunctions for one hostname under the hostname's instance id (issue and
 * renew-now alike): 202 with the check-status links, or 409 with the links of the operation that
 * holds the hostname (an issuance, a renewal, a batch, an import or a removal).
 */
/**
 * `input`: the contract's bare hostname, or a request naming its challenge type and any further
 * names of the certificate (all of which are held).
 */
export async function startIssuance(client: DurableClient, request: HttpRequest, context: InvocationContext, config: CertbotConfig, input: string | IssuanceRequest): Promise<HttpResponseInit> {
  const hostname = typeof input === 'string' ? input : input.hostname;
  const instanceId = instanceIdFor(hostname);
  if (await isInProgress(client, instanceId)) return busyResponse(client, request, [{ hostname, holder: instanceId }]);
  const names = [hostname, ...(typeof input === 'string' ? [] : (input.additionalNames ?? []))];
  const claimed = await claimHostnames(client, request, context, config, names, instanceId);
  if (!claimed.ok) return claimed.response;
  // A manual request is not held back by the hostname's failure back-off; it says it went ahead anyway.
  const backoff = await new FailureBackoffStore(config).read(hostname).catch(() => undefined);
  const started = await startClaimed(client, request, context, claimed, Orchestrators.AddCertificate, { instanceId, input, hostnames: names });
  if (started.status !== 202 || !isBackingOff(backoff, new Date())) return started;
  const notice = overrideNotice(backoff);
  context.info(`${hostname}: ${notice}`);
  // A header: the 202 body is the contract's check-status links, exactly.
  return { ...started, headers: { ...(started.headers as Record<string, string>), [BACKOFF_OVERRIDDEN_HEADER]: notice } };
}

import type { HttpRequest, HttpResponseInit, InvocationContext, Timer } from '@azure/functions';
import * as df from 'durable-functions';
import { KeyVaultAdapter } from '../azure/keyVault';
import { isInProgress } from '../durable/instances';
import { CertbotError, ErrorMessages } from '../domain/errors';
import { normaliseHostname } from '../domain/hostname';
import { daysLeft, isDue } from '../domain/renewal';
import { instanceIdFor } from '../domain/requests';
import { loadConfig } from '../domain/config';
import { Orchestrators } from '../functions/names';
import type { ScheduledRenewal } from '../orchestrators/addCertificate';
import type { RemovalInput } from '../orchestrators/removeCertificate';
import { postNotice } from '../notify/webhook';
import { acceptedResponse, checkStatusLinks } from './checkStatus';
import { configOrError, isConfig } from './inProgress';
import { invalidRequest, problemResponse } from './problem';

/**
 * Renewal is the issuing orchestration run again for the hostname (one instance per hostname): a
 * new version under the same Key Vault name, which the gateway follows through its versionless
 * secret id (the orchestration writes the gateway so it re-reads Key Vault at once).
 */

/** The daily timer: starts a renewal for every due ACME certificate; imported ones only warn. */
export async function renewDueCertificates(_timer: Timer, context: InvocationContext): Promise<void> {
  const config = loadConfig();
  const client = df.getClient(context);
  const now = new Date();
  let started = 0;
  for (const certificate of await new KeyVaultAdapter(config).listManaged()) {
    if (!isDue(certificate, config.renewBeforeDays, now)) continue;
    if (certificate.source === 'import') {
      context.warn(`Imported certificate for ${certificate.hostname} expires in ${daysLeft(certificate, now)} days (${certificate.notAfter.toISOString()}); import a new one.`);
      continue;
    }
    const instanceId = instanceIdFor(certificate.hostname);
    if (await isInProgress(client, instanceId)) continue;
    const last = await client.getStatus(instanceId).catch(() => undefined);
    if (last?.runtimeStatus === df.OrchestrationRuntimeStatus.Failed) {
      // The last renewal failed and the certificate keeps ageing: say so, and try again.
      await postNotice(config.failureWebhookUrl, {
        kind: 'overdue',
        code: 'RenewalOverdue',
        message: `The certificate expires in ${daysLeft(certificate, now)} days and its last renewal failed; see that instance's output.`,
        hostname: certificate.hostname,
        instanceId,
      });
    }
    // Random jitter, decided here (an orchestrator must not use randomness) and waited durably.
    const input: ScheduledRenewal = { hostname: certificate.hostname, startDelaySeconds: Math.floor(Math.random() * config.renewalJitterMinutes * 60) };
    await client.startNew(Orchestrators.AddCertificate, { instanceId, input });
    started += 1;
  }
  context.info(`Renewal check: ${started} renewal(s) started.`);
}

/** POST /api/certificates/{hostname}/renew: renew now. */
export async function renewNow(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const config = configOrError(context);
  if (!isConfig(config)) return config;
  const verdict = normaliseHostname(request.params.hostname);
  if (!verdict.ok) return invalidRequest([{ field: 'hostname', reason: verdict.reason }]);
  const hostname = verdict.hostname;
  try {
    const managed = (await new KeyVaultAdapter(config).listManaged()).find((c) => c.hostname === hostname);
    if (!managed) return problemResponse(404, 'Not managed', `No certificate for ${hostname} is managed here; request one with AddCertificateFunctions_HttpStart.`);
    if (managed.source === 'import') return problemResponse(409, 'Imported certificate', ErrorMessages.HostnameHasImportedCertificate);
  } catch (error) {
    context.error(`Renew ${hostname}: ${error instanceof CertbotError ? `${error.code}: ${error.detail}` : (error as Error).name}`);
    return problemResponse(502, 'Key Vault unavailable', 'The app could not read Key Vault; see its logs.');
  }
  const client = df.getClient(context);
  const instanceId = instanceIdFor(hostname);
  if (await isInProgress(client, instanceId)) {
    return problemResponse(409, 'Already in progress', `A certificate for ${hostname} is already being issued.`, undefined, await checkStatusLinks(client, request, instanceId));
  }
  await client.startNew(Orchestrators.AddCertificate, { instanceId, input: hostname });
  return acceptedResponse(await checkStatusLinks(client, request, instanceId));
}

/** DELETE /api/certificates/{hostname}[?purge=true]: take it off the gateway and out of Key Vault. */
export async function removeCertificate(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const config = configOrError(context);
  if (!isConfig(config)) return config;
  const verdict = normaliseHostname(request.params.hostname);
  if (!verdict.ok) return invalidRequest([{ field: 'hostname', reason: verdict.reason }]);
  const purgeParam = request.query.get('purge');
  if (purgeParam !== null && !['true', 'false'].includes(purgeParam)) return invalidRequest([{ field: 'purge', reason: 'must be true or false' }]);
  const hostname = verdict.hostname;
  let certificateName: string;
  try {
    const managed = (await new KeyVaultAdapter(config).listManaged()).find((c) => c.hostname === hostname);
    if (!managed) return problemResponse(404, 'Not managed', `No certificate for ${hostname} is managed here.`);
    certificateName = managed.name;
  } catch (error) {
    context.error(`Remove ${hostname}: ${error instanceof CertbotError ? `${error.code}: ${error.detail}` : (error as Error).name}`);
    return problemResponse(502, 'Key Vault unavailable', 'The app could not read Key Vault; see its logs.');
  }
  const client = df.getClient(context);
  if ((await isInProgress(client, instanceIdFor(hostname))) || (await isInProgress(client, `removal-${hostname}`))) {
    return problemResponse(409, 'Already in progress', `${hostname} is being issued or removed; try again when that finishes.`);
  }
  const input: RemovalInput = { hostname, certificateName, purge: purgeParam === 'true' };
  const instanceId = await client.startNew(Orchestrators.RemoveCertificate, { input, instanceId: `removal-${hostname}` });
  return acceptedResponse(await checkStatusLinks(client, request, instanceId));
}

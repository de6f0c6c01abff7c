import type { InvocationContext, Timer } from '@azure/functions';
import * as df from 'durable-functions';
import { fetchSuggestedWindow } from '../acme/renewalInfo';
import { KeyVaultAdapter, ManagedCertificate } from '../azure/keyVault';
import { CertbotConfig, loadConfig } from '../domain/config';
import { daysLeft, isDue, isDueByWindow } from '../domain/renewal';
import { instanceIdFor } from '../domain/requests';
import { isInProgress } from '../durable/instances';
import { Orchestrators } from '../functions/names';
import { postNotice } from '../notify/webhook';
import type { ScheduledRenewal } from '../orchestrators/addCertificate';

/** Inside the CA's suggested renewal window (RFC 9773), for ACME certificates from the configured CA. */
async function isDueByCa(certificate: ManagedCertificate, config: CertbotConfig, now: Date, context: InvocationContext): Promise<boolean> {
  const id = certificate.renewalCertificateId;
  if (certificate.source !== 'acme' || !id || certificate.acmeEndpoint !== config.acmeEndpoint.href) return false;
  try {
    const window = await fetchSuggestedWindow(config.acmeEndpoint.href, id);
    return window !== undefined && isDueByWindow(window, id, now);
  } catch (error) {
    // The date rules still apply; one unreachable renewalInfo must not stop the other renewals.
    context.warn(`Renewal information for ${certificate.hostname} unavailable, using the date rules: ${(error as Error).message}`);
    return false;
  }
}

/** The daily timer: starts a renewal for every due ACME certificate; imported ones only warn. */
export async function renewDueCertificates(_timer: Timer, context: InvocationContext): Promise<void> {
  const config = loadConfig();
  const client = df.getClient(context);
  const now = new Date();
  let started = 0;
  for (const certificate of await new KeyVaultAdapter(config).listManaged()) {
    if (!isDue(certificate, config.renewBeforeDays, now) && !(await isDueByCa(certificate, config, now, context))) continue;
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

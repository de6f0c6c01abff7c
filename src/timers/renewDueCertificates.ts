import type { InvocationContext, Timer } from '@azure/functions';
import * as df from 'durable-functions';
import type { DurableClient } from 'durable-functions';
import { caAdviceFor } from '../acme/renewalInfo';
import { HostnameClaims } from '../azure/hostnameClaims';
import { KeyVaultAdapter } from '../azure/keyVault';
import { CertbotConfig, loadConfig } from '../domain/config';
import { daysLeft, isDue } from '../domain/renewal';
import { instanceIdFor } from '../domain/requests';
import { holderState, instanceStatus, isActive, isInProgress } from '../durable/instances';
import { Orchestrators } from '../functions/names';
import { postNotice } from '../notify/webhook';
import type { ScheduledRenewal } from '../orchestrators/addCertificate';

/** When the schedule runs this timer next, where the runtime says (its schedule monitor does). */
function nextOccurrence(timer: Timer | undefined): Date | undefined {
  const next = timer?.scheduleStatus?.next ? new Date(timer.scheduleStatus.next) : undefined;
  return next && !Number.isNaN(next.getTime()) ? next : undefined;
}

/** The daily timer: renews every ACME certificate due now or before its next run; imported ones only warn. */
export async function renewDueCertificates(timer: Timer, context: InvocationContext): Promise<void> {
  const config = loadConfig();
  const client = df.getClient(context);
  const now = new Date();
  const nextCheck = nextOccurrence(timer);
  let started = 0;
  const claims = new HostnameClaims(config);
  for (const certificate of await new KeyVaultAdapter(config).listManaged()) {
    const advice = await caAdviceFor(certificate, config, (message) => context.warn(message));
    if (!isDue(certificate, config.renewBeforeDays, now, advice, nextCheck)) continue;
    if (certificate.source === 'import') {
      context.warn(`Imported certificate for ${certificate.hostname} expires in ${daysLeft(certificate, now)} days (${certificate.notAfter.toISOString()}); import a new one.`);
      continue;
    }
    try {
      if (await startRenewal(client, claims, config, certificate.hostname, daysLeft(certificate, now))) started += 1;
    } catch (error) {
      // One hostname's trouble (a status read failing, a start racing another) must not stop the others.
      context.warn(`Renewal of ${certificate.hostname} not started: ${(error as Error).message.split('\n')[0].slice(0, 200)}`);
    }
  }
  context.info(`Renewal check: ${started} renewal(s) started.`);
}

/** Starts one renewal unless another operation holds the hostname; tells the webhook when the last one failed. */
async function startRenewal(client: DurableClient, claims: HostnameClaims, config: CertbotConfig, hostname: string, daysLeftNow: number): Promise<boolean> {
  const instanceId = instanceIdFor(hostname);
  const last = await instanceStatus(client, instanceId);
  if (isActive(last)) return false;
  const claimed = await claims.claim([hostname], instanceId, (id) => holderState(client, id));
  if (!claimed.ok) return false;
  if (last?.runtimeStatus === df.OrchestrationRuntimeStatus.Failed) {
    // The last renewal failed and the certificate keeps ageing: say so, and try again.
    await postNotice(config.failureWebhookUrl, {
      kind: 'overdue',
      code: 'RenewalOverdue',
      message: `The certificate expires in ${daysLeftNow} days and its last renewal failed; see that instance's output.`,
      hostname,
      instanceId,
    });
  }
  // Random jitter, decided here (an orchestrator must not use randomness) and waited durably.
  const input: ScheduledRenewal = { hostname, startDelaySeconds: Math.floor(Math.random() * config.renewalJitterMinutes * 60) };
  try {
    await client.startNew(Orchestrators.AddCertificate, { instanceId, input });
  } catch (error) {
    // A renewal started meanwhile under the same id keeps the claim; otherwise it goes back.
    if (!(await isInProgress(client, instanceId).catch(() => true))) await claims.release(claimed.acquired, instanceId).catch(() => undefined);
    throw error;
  }
  return true;
}

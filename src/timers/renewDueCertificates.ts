import type { InvocationContext, Timer } from '@azure/functions';
import * as df from 'durable-functions';
import type { DurableClient } from 'durable-functions';
import { caAdviceFor } from '../acme/renewalInfo';
import { FailureBackoffStore } from '../azure/failureBackoff';
import { HostnameClaims } from '../azure/hostnameClaims';
import { KeyVaultAdapter, PendingOperationInfo } from '../azure/keyVault';
import { CertbotConfig, loadConfig } from '../domain/config';
import { isBackingOff } from '../domain/failureBackoff';
import { renewalProfile } from '../domain/acmeProfiles';
import { daysLeft, isDue } from '../domain/renewal';
import { instanceIdFor, renewalRunInstanceId } from '../domain/requests';
import { holderState, instanceStatus, isActive, isInProgress } from '../durable/instances';
import { Orchestrators } from '../functions/names';
import { postNotice } from '../notify/webhook';
import type { MultipleInput } from '../orchestrators/addMultipleCertificates';

/** When the schedule runs this timer next, where the runtime says (its schedule monitor does). */
function nextOccurrence(timer: Timer | undefined): Date | undefined {
  const next = timer?.scheduleStatus?.next ? new Date(timer.scheduleStatus.next) : undefined;
  return next && !Number.isNaN(next.getTime()) ? next : undefined;
}

/**
 * The daily timer: renews every ACME certificate due now or before its next run, in ONE run (an
 * AddMultipleCertificatesFunctions instance) whose gateway write is one for all (a gateway update
 * takes minutes); imported ones only warn. Hostnames another operation holds are left to the next run.
 */
export async function renewDueCertificates(timer: Timer, context: InvocationContext): Promise<void> {
  const config = loadConfig();
  const client = df.getClient(context);
  const now = new Date();
  const nextCheck = nextOccurrence(timer);
  const claims = new HostnameClaims(config);
  const runId = renewalRunInstanceId(now);
  const due: string[] = [];
  const dns01: string[] = [];
  const additionalNames: Record<string, string[]> = {};
  const profiles: Record<string, string> = {};
  const backoffs = new FailureBackoffStore(config);
  const deferred: string[] = [];
  for (const record of await new KeyVaultAdapter(config).listRecords()) {
    const certificate = record.issued;
    // A first issuance that never completed is not a renewal: the list reports it as pending or failed.
    if (!certificate) continue;
    const advice = await caAdviceFor(certificate, config, (message) => context.warn(message));
    // A create still in progress beside the issued version, with no run finishing it (checked when
    // claiming), is a renewal that crashed part-way: renewed now (the run replaces that create),
    // whatever the date says. A failed renewal is retried when due, and overdue a day after.
    const unmerged = record.pending && certificate.source === 'acme' ? record.pending : undefined;
    // A self-signed stand-in (SelfSignedFallback) is always due: every tick tries to issue the real one.
    const standIn = certificate.source === 'self-signed';
    if (!unmerged && !standIn && !isDue(certificate, config.renewBeforeDays, now, advice, nextCheck)) continue;
    if (certificate.source === 'acme' || standIn) {
      // A hostname whose last runs failed waits its back-off (1 min, 10 min, 100 min, then daily).
      const backoff = await backoffs.read(certificate.hostname).catch(() => undefined);
      // The daily step counts as served by the next daily tick (its run starts up to the jitter and an hour later).
      if (isBackingOff(backoff, now, (config.renewalJitterMinutes + 60) * 60_000)) {
        deferred.push(certificate.hostname);
        const why = `${backoff.consecutiveFailures} consecutive failure(s) (last ${backoff.lastCode ?? 'failure'} at ${backoff.lastFailureAt}); next automatic attempt from ${backoff.nextAttemptAt}`;
        context.info(`Renewal of ${certificate.hostname} deferred by its failure back-off: ${why}.`);
        // The certificate keeps ageing while it waits: the webhook hears so, as it does when a failed renewal is retried.
        await postNotice(config, {
          kind: 'overdue',
          code: 'RenewalOverdue',
          message: `The certificate expires in ${daysLeft(certificate, now)} days and its renewal keeps failing: ${why}. Fix the failure and renew now to go ahead at once.`,
          hostname: certificate.hostname,
          instanceId: instanceIdFor(certificate.hostname),
        }).catch(() => undefined);
        continue;
      }
    }
    if (certificate.source === 'import') {
      context.warn(`Imported certificate for ${certificate.hostname} expires in ${daysLeft(certificate, now)} days (${certificate.notAfter.toISOString()}); import a new one.`);
      continue;
    }
    try {
      if (await holdForRun(client, claims, config, runId, certificate.names, daysLeft(certificate, now), unmerged, standIn)) {
        due.push(certificate.hostname);
        if (certificate.challengeType === 'dns-01') dns01.push(certificate.hostname);
        // Renewed under the profile it was ordered with (one ordered with none: AcmeProfile, if set).
        const profile = renewalProfile(certificate, config);
        if (profile !== undefined) profiles[certificate.hostname] = profile;
        // A certificate for several names is renewed for the same names.
        if (certificate.names.length > 1) additionalNames[certificate.hostname] = certificate.names.slice(1);
      }
    } catch (error) {
      // One hostname's trouble (a status read failing, a claim racing another) must not stop the others.
      context.warn(`Renewal of ${certificate.hostname} not started: ${(error as Error).message.split('\n')[0].slice(0, 200)}`);
    }
  }
  if (due.length > 0) {
    // Random jitter, decided here (an orchestrator must not use randomness) and waited durably by the run.
    // Marked a renewal: what goes live is reported as renewed.
    const input: MultipleInput = { hostnames: due, maxParallel: config.maxParallelIssuances, startDelaySeconds: Math.floor(Math.random() * config.renewalJitterMinutes * 60), ...(dns01.length ? { dns01Hostnames: dns01 } : {}), ...(Object.keys(profiles).length ? { profiles } : {}), ...(Object.keys(additionalNames).length ? { additionalNames } : {}), renewal: true };
    try {
      await client.startNew(Orchestrators.AddMultipleCertificates, { instanceId: runId, input });
    } catch (error) {
      if (!(await isInProgress(client, runId).catch(() => true))) await claims.release([...due, ...Object.values(additionalNames).flat()], runId).catch(() => undefined);
      throw error;
    }
  }
  context.info(`Renewal check: ${due.length} certificate(s) renewed in run ${due.length > 0 ? runId : '(none)'}; ${deferred.length} deferred by their failure back-off${deferred.length ? ` (${deferred.join(', ')})` : ''}.`);
}

/**
 * Claims one due certificate's names for the run unless another operation holds one; tells the webhook when
 * its last renewal failed, or stopped with a Key Vault create left unmerged.
 */
async function holdForRun(
  client: DurableClient,
  claims: HostnameClaims,
  config: CertbotConfig,
  runId: string,
  names: string[],
  daysLeftNow: number,
  unmerged: PendingOperationInfo | undefined,
  standIn = false,
): Promise<boolean> {
  const [hostname] = names;
  const last = await instanceStatus(client, instanceIdFor(hostname));
  if (isActive(last)) return false;
  const claimed = await claims.claim(names, runId, (id) => holderState(client, id));
  if (!claimed.ok) return false;
  if (unmerged) {
    // Claimed, so no run is finishing that create: it is stuck, and this run replaces it.
    await postNotice(config, {
      kind: 'overdue',
      code: 'RenewalOverdue',
      message: `The certificate expires in ${daysLeftNow} days and a renewal stopped part-way: Key Vault holds a create made ${unmerged.since?.toISOString() ?? 'earlier'} that no run is finishing. Renewal run ${runId} replaces it.`,
      hostname,
      instanceId: runId,
    });
  } else if (last?.runtimeStatus === df.OrchestrationRuntimeStatus.Failed) {
    // The last renewal failed and the certificate keeps ageing: say so, and try again.
    await postNotice(config, {
      kind: 'overdue',
      code: 'RenewalOverdue',
      message: standIn
        ? "The hostname still has only its self-signed stand-in (SelfSignedFallback): its last issuance failed; see that instance's output. This run tries again."
        : `The certificate expires in ${daysLeftNow} days and its last renewal failed; see that instance's output.`,
      hostname,
      instanceId: instanceIdFor(hostname),
    });
  }
  return true;
}

import * as df from 'durable-functions';
import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { GatewayAdapter } from '../azure/gateway';
import { KeyVaultAdapter } from '../azure/keyVault';
import { CertbotError } from '../domain/errors';
import { caAdviceFor } from '../acme/renewalInfo';
import { certificateState, daysLeft, isOverdue, nextRenewal, OVERDUE_GRACE_MS } from '../domain/renewal';
import { FailureBackoffStore } from '../azure/failureBackoff';
import { HostnameClaims } from '../azure/hostnameClaims';
import { isHostnameBusy, lastFailureOf } from '../durable/instances';
import { instanceIdFor } from '../domain/requests';
import { configOrError, isConfig } from './configuration';
import { dependencyProblem } from './problem';

const ADVICE_CONCURRENCY = 8;

/** `work` over every item, at most `limit` at a time, results in input order. */
async function mapLimited<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * GET /api/certificates: every hostname this app manages, with what Key Vault holds for it: its
 * state (valid, expired, pending, failed), the issued version and its expiry, days left, next
 * renewal date (imported certificates are not renewed: null), whether that renewal is overdue
 * (a create left unmerged, or its time passed a day ago, with no run at work), a create not yet
 * merged, the CA's suggested renewal window where it offers one (RFC 9773), and whether the
 * gateway has its HTTPS listener and routing rule, and the failure record of the hostname's last
 * run when that run failed (the dashboard's "last failure", ready for a ticket).
 */
export async function listCertificates(_request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const config = configOrError(context);
  if (!isConfig(config)) return config;
  try {
    const [records, gateway] = await Promise.all([new KeyVaultAdapter(config).listRecords(), new GatewayAdapter(config).read()]);
    const claims = new HostnameClaims(config);
    const backoffs = new FailureBackoffStore(config);
    const client = df.getClient(context);
    const now = new Date();
    const body = await mapLimited(records, ADVICE_CONCURRENCY, async (record) => {
      const issued = record.issued;
      const advice = issued ? await caAdviceFor(issued, config, (message) => context.warn(message)) : undefined;
      // A self-signed stand-in is replaced at the next timer tick: due from the moment it was made.
      const renewalAt = issued && record.source === 'acme' ? nextRenewal(issued, config.renewBeforeDays, advice) : issued && record.source === 'self-signed' ? issued.notBefore : undefined;
      // Only a certificate that may be overdue costs the extra reads of who is working on it.
      const mayBeOverdue = !!renewalAt && (!!record.pending || now.getTime() - renewalAt.getTime() > OVERDUE_GRACE_MS);
      const running = mayBeOverdue && (await isHostnameBusy(client, (h) => claims.holderOf(h), record.hostname));
      const lastFailure = await lastFailureOf(client, instanceIdFor(record.hostname));
      // The list stays readable when one back-off blob cannot be read (the timer and starters do the same).
      const backoff = await backoffs.read(record.hostname).catch(() => undefined);
      const listener = (gateway.httpListeners ?? []).find((l) => l.protocol === 'Https' && [l.hostName, ...(l.hostNames ?? [])].includes(record.hostname));
      const rule = listener && (gateway.requestRoutingRules ?? []).some((r) => r.httpListener?.id?.toLowerCase().endsWith(`/httplisteners/${listener.name?.toLowerCase()}`));
      return {
        hostname: record.hostname,
        source: record.source,
        hostnames: issued?.names ?? [record.hostname],
        challengeType: record.source === 'import' ? null : (issued?.challengeType ?? 'http-01'),
        // The ACME profile its order named; null: none (the CA's default) or imported.
        profile: issued?.profile ?? null,
        state: certificateState(issued, record.pending?.status, now),
        keyVaultName: record.name,
        version: issued?.version ?? null,
        expiresOn: issued?.notAfter.toISOString() ?? null,
        daysLeft: issued ? daysLeft(issued, now) : null,
        nextRenewal: renewalAt?.toISOString() ?? null,
        overdue: renewalAt ? isOverdue({ renewalAt, unmergedCreate: !!record.pending, running, now }) : false,
        pendingOperation: record.pending ? { status: record.pending.status, since: record.pending.since?.toISOString() ?? null } : null,
        renewalWindow: advice ? { start: advice.window.start.toISOString(), end: advice.window.end.toISOString() } : null,
        gateway: { listener: !!listener, rule: !!rule },
        lastFailure,
        revoked: issued?.revoked ? { ...issued.revoked, serialNumber: issued.serialNumber } : null,
        // The failure back-off: automatic renewals wait until nextAttemptAt (null: no failure since the last success).
        consecutiveFailures: backoff?.consecutiveFailures ?? 0,
        nextAttemptAt: backoff?.nextAttemptAt ?? null,
      };
    });
    return { status: 200, jsonBody: body };
  } catch (error) {
    const typed = error instanceof CertbotError ? error : undefined;
    context.error(`Listing certificates failed: ${typed ? `${typed.code}: ${typed.detail}` : (error as Error).name}`);
    return dependencyProblem('Listing failed', typed ? `${typed.code}: the app could not read Key Vault or the gateway; see its logs.` : 'The app could not list certificates; see its logs.', error);
  }
}

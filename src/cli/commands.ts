/**
 * What each command does: ask the app (api.ts), follow the operation it started (operations.ts)
 * with a progress display (progress.ts), and print the outcome as text or one JSON document.
 */
import { normaliseHostname } from '../domain/hostname';
import { AppClient } from './api';
import { CliError, ExitCode, ExitCodeValue } from './exitCodes';
import { certificatesTable, ListedCertificate, resultLines, statusLines } from './format';
import { failureOf, follow, Followed, hostnameResults, readOperation } from './operations';
import { Output } from './output';
import { startProgress } from './progress';
import type { Redactor } from './redact';

export interface Session {
  client: AppClient;
  out: Output;
  redactor: Redactor;
}

export interface WaitFlags {
  wait: boolean;
  timeout: number;
  interval: number;
}

/** The check-status links a starter answers 202 with (the contract's names). */
interface Links {
  id: string;
  statusQueryGetUri?: string;
  [link: string]: unknown;
}

/** The group name `--together` gives its entries (any valid group name would do: one group, one certificate). */
const TOGETHER_GROUP = 'together';

/** A name as the app will know it (lower case, A-label), to match the app's answers; as typed when it is not valid (the app then says why). */
const canonical = (hostname: string): string => {
  const verdict = normaliseHostname(hostname, { wildcard: true });
  return verdict.ok ? verdict.hostname : hostname;
};

export async function issue(session: Session, hostnames: string[], flags: WaitFlags & { challenge?: string; together: boolean }): Promise<ExitCodeValue> {
  const challenge = flags.challenge ? { challengeType: flags.challenge } : {};
  const single = hostnames.length === 1;
  // One name goes to the contract's single starter; several to the multiple one (one group with --together).
  const answer = single
    ? await session.client.call('POST', '/api/AddCertificateFunctions_HttpStart', { hostnames: [{ hostname: hostnames[0], ...challenge }] })
    : await session.client.call('POST', '/api/AddMultipleCertificatesFunctions_HttpStart', {
        hostnames: hostnames.map((hostname) => ({ hostname, ...challenge, ...(flags.together ? { group: TOGETHER_GROUP } : {}) })),
      });
  const links = answer.body as Links;
  const certificates = flags.together ? [hostnames[0]] : hostnames;
  return afterStart(session, links, { instanceId: links.id, hostnames: certificates.map(canonical), batch: !single }, flags);
}

export async function renew(session: Session, hostname: string, flags: WaitFlags): Promise<ExitCodeValue> {
  const answer = await session.client.call('POST', `/api/certificates/${encodeURIComponent(hostname)}/renew`);
  const links = answer.body as Links;
  return afterStart(session, links, { instanceId: links.id, hostnames: [canonical(hostname)], batch: false }, flags);
}

/** POST .../revoke {reason}: keyCompromise and superseded also replace the certificate (followed like a renewal). */
export async function revoke(session: Session, hostname: string, flags: WaitFlags & { reason: string }): Promise<ExitCodeValue> {
  const answer = await session.client.call('POST', `/api/certificates/${encodeURIComponent(hostname)}/revoke`, { reason: flags.reason });
  const links = answer.body as Links;
  return afterStart(session, links, { instanceId: links.id, hostnames: [canonical(hostname)], batch: false }, flags);
}

export async function remove(session: Session, hostname: string, flags: WaitFlags & { purge: boolean }): Promise<ExitCodeValue> {
  const answer = await session.client.call('DELETE', `/api/certificates/${encodeURIComponent(hostname)}${flags.purge ? '?purge=true' : ''}`);
  const links = answer.body as Links;
  return afterStart(session, links, { instanceId: links.id, hostnames: [canonical(hostname)], batch: false }, flags);
}

export async function list(session: Session): Promise<ExitCodeValue> {
  const answer = await session.client.call('GET', '/api/certificates');
  if (!Array.isArray(answer.body)) throw new CliError(ExitCode.Failed, `The app answered the list with something that is not a list (HTTP ${answer.status}).`);
  session.out.document(answer.body);
  session.out.line(certificatesTable(answer.body as ListedCertificate[]));
  return ExitCode.Done;
}

export async function status(session: Session, instanceId: string): Promise<ExitCodeValue> {
  const current = await readOperation(session.client, instanceId);
  const failure = failureOf(current);
  session.out.document({ ...current, ...(failure ? { failure } : {}) });
  session.out.line(statusLines(current).join('\n'));
  if (failure) session.out.line(`failure:   ${String(failure.code)} - ${String(failure.message ?? '')}\n           ${String(failure.detail ?? '')}`);
  else if (current.output !== null && current.output !== undefined) session.out.line(`output:    ${JSON.stringify(current.output)}`);
  return ExitCode.Done;
}

/** After a 202: print the links (--no-wait), or follow the operation to its end and report it. */
async function afterStart(session: Session, links: Links, followed: Followed, flags: WaitFlags): Promise<ExitCodeValue> {
  const { out } = session;
  if (typeof followed.instanceId !== 'string' || !followed.instanceId) throw new CliError(ExitCode.Failed, 'The app accepted the request but named no instance id.');
  if (!flags.wait) {
    out.document(links);
    out.line(`Accepted: ${followed.instanceId}`);
    if (links.statusQueryGetUri) out.line(`Status:   ${links.statusQueryGetUri}`);
    out.line(`Follow it with: appgw-certbot status ${followed.instanceId}`);
    return ExitCode.Done;
  }
  out.line(`Started ${followed.instanceId}`);
  const progress = startProgress(followed.hostnames, session.redactor, !out.json);
  let outcome: Awaited<ReturnType<typeof follow>>;
  try {
    outcome = await follow(session.client, followed, { intervalMs: flags.interval * 1000, deadline: Date.now() + flags.timeout * 1000, onStep: (h, text) => progress.step(h, text) });
  } catch (error) {
    await progress.finish(undefined);
    throw error;
  }
  const { status: final, ended } = outcome;
  if (!ended) {
    await progress.finish(undefined);
    out.document({ instanceId: final.instanceId, name: final.name, runtimeStatus: final.runtimeStatus, customStatus: final.customStatus, ended: false });
    out.line(statusLines(final).join('\n'));
    out.note(`Still running after ${flags.timeout} s; it goes on. Follow it with: appgw-certbot status ${final.instanceId}`);
    return ExitCode.StillRunning;
  }
  const results = hostnameResults(final, followed);
  await progress.finish(results);
  const failure = failureOf(final);
  out.document({ ...final, ...(failure ? { failure } : {}), hostnames: results });
  out.line(resultLines(results).join('\n'));
  if (final.runtimeStatus === 'Completed' && final.output && typeof final.output === 'object' && !followed.batch) out.line(`output: ${JSON.stringify(final.output)}`);
  out.line(`${final.instanceId}: ${final.runtimeStatus}`);
  return final.runtimeStatus === 'Completed' ? ExitCode.Done : ExitCode.Failed;
}

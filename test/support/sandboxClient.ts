import https from 'node:https';
import type { AccessToken, TokenCredential } from '@azure/identity';
import { mintToken } from '../../sandbox/identity';
import { decodeFailure } from '../../src/domain/stepError';
import { SANDBOX_TENANT, Sandbox } from '../../sandbox';

/** The app's public API as a frontend uses it: POST a starter, poll statusQueryGetUri. */
export interface CustomStatus {
  status: string;
  message: string;
  error: string | null;
}

export interface Status {
  name: string;
  instanceId: string;
  runtimeStatus: string;
  input: unknown;
  customStatus: CustomStatus | null;
  output: unknown;
  createdTime: string;
  lastUpdatedTime: string;
  historyEvents?: Record<string, unknown>[];
}

export interface Started {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

export async function post(sandbox: Sandbox, functionName: string, body: unknown, options: { key?: string | null; raw?: string } = {}): Promise<Started> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const key = options.key === undefined ? sandbox.endpoints.functionKey : options.key;
  if (key) headers['x-functions-key'] = key;
  const response = await fetch(`${sandbox.host!.url}/api/${functionName}`, {
    method: 'POST',
    headers,
    body: options.raw ?? JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** Runs a non-HTTP function (a timer) now, as `POST /admin/functions/{name}` does on a real host; returns the HTTP status. */
export async function invokeFunction(sandbox: Sandbox, name: string): Promise<number> {
  const response = await fetch(`${sandbox.host!.url}/admin/functions/${name}`, {
    method: 'POST',
    headers: { 'x-functions-key': sandbox.endpoints.masterKey, 'content-type': 'application/json' },
    body: '{}',
  });
  return response.status;
}

/** Polls until the instance ends; returns every distinct customStatus.status seen, in order. */
export async function pollToEnd(statusUrl: string, onStatus?: (status: Status) => Promise<void> | void, timeoutMs = 90_000): Promise<{ final: Status; httpStatus: number; steps: string[] }> {
  const steps: string[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let response: Response;
    try {
      response = await fetch(statusUrl);
    } catch {
      // The host may be restarting (crash tests): try again.
      await new Promise((resolve) => setTimeout(resolve, 50));
      continue;
    }
    const status = (await response.json()) as Status;
    const step = status.customStatus?.status;
    if (step && steps[steps.length - 1] !== step) steps.push(step);
    await onStatus?.(status);
    if (!['Pending', 'Running'].includes(status.runtimeStatus)) return { final: status, httpStatus: response.status, steps };
    if (Date.now() > deadline) throw new Error(`instance still ${status.runtimeStatus} at ${step} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 15));
  }
}

/** Polls gently (many instances at once on a 2-core machine) until the instance ends; pollToEnd's 15 ms is for one. */
export async function waitGentlyToEnd(statusUrl: string, timeoutMs: number, pollMs = 500): Promise<Status> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = (await (await fetch(statusUrl)).json()) as Status;
    if (!['Pending', 'Running'].includes(status.runtimeStatus)) return status;
    if (Date.now() > deadline) throw new Error(`${status.instanceId} still ${status.runtimeStatus} at ${status.customStatus?.status}`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/** The failure record in a Failed output: "Orchestrator function '…' failed: [certbot-error]{json}[/certbot-error]". */
export function failureRecord(output: unknown): Record<string, string> {
  const record = decodeFailure(String(output));
  if (!record) throw new Error(`no failure record in the output: ${String(output).slice(0, 300)}`);
  return record as unknown as Record<string, string>;
}

/** A credential for the tests' own SDK clients, accepted by the emulators like the app's. */
export class SandboxCredential implements TokenCredential {
  async getToken(scopes: string | string[]): Promise<AccessToken> {
    const scope = Array.isArray(scopes) ? scopes[0] : scopes;
    const { token, claims } = mintToken({ tenantId: SANDBOX_TENANT, resource: scope, clientId: 'tests' });
    return { token, expiresOnTimestamp: claims.exp * 1000 };
  }
}

/**
 * Runs the renewal timer now, at the start of a second: its run is named after the second it runs
 * in (renewalRunInstanceId, so that one tick makes one run), and a test invoking it twice within a
 * second would get the same run again where the schedule, a day apart, never does.
 */
export async function invokeRenewalTimer(sandbox: Sandbox): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 1000 - (Date.now() % 1000) + 20));
  return invokeFunction(sandbox, 'RenewCertificatesTimer');
}

/** The ids of the renewal runs the timer has started so far (instances `renewals-<time>`). */
export async function renewalRunIds(sandbox: Sandbox): Promise<string[]> {
  const url = `${sandbox.host!.url}/runtime/webhooks/durabletask/instances?instanceIdPrefix=renewals-&code=${sandbox.endpoints.functionKey}`;
  return ((await (await fetch(url)).json()) as Status[]).map((s) => s.instanceId);
}

/** Waits for a renewal run the timer started that is not among `before`, then for its end. */
export async function awaitNewRenewalRun(sandbox: Sandbox, before: string[], timeoutMs = 120_000): Promise<Status> {
  let fresh: string | undefined;
  // The timer reads every certificate (and asks the CA about each) before it starts the run: how
  // long that takes is not what the tests measure (bench/ does).
  const deadline = Date.now() + 60_000;
  while (!fresh && Date.now() < deadline) {
    fresh = (await renewalRunIds(sandbox)).find((id) => !before.includes(id));
    if (!fresh) await new Promise((resolve) => setTimeout(resolve, 25));
  }
  if (!fresh) throw new Error('the timer started no renewal run');
  return (await pollToEnd(`${sandbox.host!.url}/runtime/webhooks/durabletask/instances/${fresh}?code=${sandbox.endpoints.functionKey}`, undefined, timeoutMs)).final;
}

/** An anonymous GET of a sandbox URL, as anyone on the internet can send it (no credential; the sandbox CA trusted). */
export function anonymousGet(sandbox: Sandbox, url: string): Promise<{ status: number; code?: string; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca: sandbox.ca.certPem }, (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, code: response.headers['x-ms-error-code'] as string | undefined, body, headers: response.headers }));
      })
      .on('error', reject);
  });
}

/** Issues one hostname through the single-hostname starter and waits for the end: the runtime status, and a failure's code and text. */
export async function issueOne(sandbox: Sandbox, hostname: string, challengeType?: 'http-01' | 'dns-01'): Promise<{ runtimeStatus: string; code?: string; text: string }> {
  const started = await post(sandbox, 'AddCertificateFunctions_HttpStart', { hostnames: [{ hostname, ...(challengeType ? { challengeType } : {}) }] });
  // A starter that cannot reserve the hostname or read Key Vault refuses at once, with the code.
  if (started.status !== 202) return { runtimeStatus: `HTTP ${started.status}`, code: String(started.body.code), text: String(started.body.detail) };
  const { final } = await pollToEnd(String(started.body.statusQueryGetUri), undefined, 180_000);
  if (final.runtimeStatus !== 'Failed') return { runtimeStatus: final.runtimeStatus, text: '' };
  const record = failureRecord(final.output);
  return { runtimeStatus: final.runtimeStatus, code: record.code, text: `${record.message ?? ''} ${record.detail ?? ''}` };
}


import type { OrchestrationContext, Task } from 'durable-functions';
import { ErrorCode, ErrorMessages, isErrorCode } from '../domain/errors';
import { stepStatus, failedStatus, CustomStatus } from '../domain/customStatus';
import { instanceIdFor } from '../domain/requests';
import { StepStatus } from '../domain/status';
import { Orchestrators } from '../functions/names';
import type { DeferredIssuance, IssuanceResult } from './addCertificate';
import { confirmServed } from './confirmServed';
import { requestGatewayChange } from './gatewayWriter';
import { notify, Step } from './steps';

/**
 * AddMultipleCertificatesFunctions: one certificate per hostname, issued in parallel (bounded) as
 * AddCertificateFunctions sub-orchestrations, then one gateway change for all that succeeded.
 *
 * runtimeStatus: Completed when every hostname went live; Failed when any did not, so that a
 * ticket manager logging Failed outputs sees each failed hostname with its code (the others are
 * live, and listed as such in the same output).
 */
export interface MultipleInput {
  hostnames: string[];
  maxParallel: number;
}

export interface HostnameOutcome {
  hostname: string;
  instanceId: string;
  status: 'Queued' | 'Issuing' | 'Completed' | 'Failed';
  error: ErrorCode | null;
  message?: string;
  detail?: string;
  failedStep?: string;
}

export interface MultipleStatus extends CustomStatus {
  progress: { done: number; failed: number; total: number };
  hostnames: HostnameOutcome[];
}

export function* addMultipleCertificatesOrchestrator(context: OrchestrationContext): Step<{ hostnames: HostnameOutcome[] }> {
  const { hostnames, maxParallel } = context.df.getInput<MultipleInput>();
  const outcomes: HostnameOutcome[] = hostnames.map((hostname) => ({
    hostname,
    instanceId: instanceIdFor(hostname),
    status: 'Queued',
    error: null,
  }));
  const publish = (status: StepStatus, error: ErrorCode | null = null): void => {
    const done = outcomes.filter((o) => o.status === 'Completed').length;
    const failed = outcomes.filter((o) => o.status === 'Failed').length;
    const base = error ? failedStatus(error, ErrorMessages[error]) : stepStatus(status);
    const custom: MultipleStatus = { ...base, progress: { done, failed, total: outcomes.length }, hostnames: outcomes };
    context.df.setCustomStatus(custom);
  };

  const issued: IssuanceResult[] = [];
  for (let start = 0; start < outcomes.length; start += maxParallel) {
    const wave = outcomes.slice(start, start + maxParallel);
    wave.forEach((o) => (o.status = 'Issuing'));
    publish('CreateCertificateStep');
    const tasks: Task[] = wave.map((o) =>
      context.df.callSubOrchestrator(Orchestrators.AddCertificate, { hostname: o.hostname, deferGatewayConfiguration: true } satisfies DeferredIssuance, o.instanceId),
    );
    // Task.all fails fast on the first failure; Task.any returns the finished task whether it
    // failed or not, so every child is waited for and read.
    let running = [...tasks];
    while (running.length > 0) {
      const finished = (yield context.df.Task.any(running)) as Task;
      running = running.filter((task) => task !== finished);
    }
    wave.forEach((outcome, i) => {
      const task = tasks[i];
      if (task.isFaulted) Object.assign(outcome, failureOf(task.result));
      else {
        issued.push(task.result as IssuanceResult);
        outcome.status = 'Completed';
      }
    });
  }

  const succeeded = outcomes.filter((o) => o.status === 'Completed');
  if (issued.length > 0) {
    publish('ConfigureApplicationGatewayStep');
    const change = yield* requestGatewayChange(context, issued.map((r) => r.binding));
    if (!change.ok) {
      const code = change.error?.code ?? 'ApplicationGatewayUpdateFailed';
      for (const outcome of succeeded) {
        Object.assign(outcome, { status: 'Failed', error: code, message: ErrorMessages[code], detail: change.error?.detail, failedStep: 'ConfigureApplicationGatewayStep' });
      }
    } else {
      const notLive = yield* confirmServed(context, issued.map((r) => ({ binding: r.binding, serialNumber: r.serialNumber })));
      for (const { hostname, code, detail } of notLive) {
        const outcome = outcomes.find((o) => o.hostname === hostname);
        if (outcome) Object.assign(outcome, { status: 'Failed', error: code, message: ErrorMessages[code], detail, failedStep: 'ConfigureApplicationGatewayStep' });
      }
    }
  }

  const failures = outcomes.filter((o) => o.status === 'Failed');
  if (failures.length === 0) {
    publish('Completed');
    return { hostnames: outcomes };
  }
  const code: ErrorCode = failures.every((f) => f.error === failures[0].error) && failures[0].error ? failures[0].error : 'SomeHostnamesFailed';
  publish('Failed', code);
  yield* notify(context, {
    kind: 'failure',
    code,
    message: ErrorMessages[code],
    detail: failures.map((f) => `${f.hostname}: ${f.error}`).join('; '),
    hostnames: failures.map((f) => f.hostname),
    instanceId: context.df.instanceId,
  });
  throw new Error(
    JSON.stringify({ code, message: ErrorMessages[code], instanceId: context.df.instanceId, failed: failures.length, total: outcomes.length, hostnames: outcomes }),
  );
}

/** A failed sub-orchestration's reason carries the child's failure record as JSON. */
function failureOf(error: unknown): Partial<HostnameOutcome> {
  const text = error instanceof Error ? error.message : String(error);
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  try {
    const record = JSON.parse(text.slice(start, end + 1)) as Record<string, string>;
    const code = isErrorCode(record.code) ? record.code : 'InternalError';
    return { status: 'Failed', error: code, message: ErrorMessages[code], detail: record.detail, failedStep: record.failedStep };
  } catch {
    // The child could not start (e.g. the hostname is being issued by another request).
    const code: ErrorCode = /already exists/i.test(text) ? 'HostnameAlreadyInProgress' : 'InternalError';
    return { status: 'Failed', error: code, message: ErrorMessages[code], detail: text.split('\n')[0].slice(0, 300) };
  }
}

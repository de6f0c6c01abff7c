import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, failureRecordOf, isFinished, isPermanent, operationStatus, type OperationStatus } from './api';
import { FailureRecord } from './FailureRecord';
import { planFor, stepStates, type ChallengeType } from './steps';

export interface OperationRef {
  key: string;
  instanceId: string;
  title: string;
  statusQueryGetUri: string;
  /** Set for one name's issuance or renewal: its steps are known ahead and shown as a checklist. */
  challengeType?: ChallengeType;
}

const STATE_TEXT = { done: 'done', current: 'in progress', failed: 'failed here', waiting: 'to do' } as const;

const POLL_MS = 1000;
const MAX_POLL_MS = 30_000;

/**
 * One run followed live through its statusQueryGetUri: every step the orchestrator reported (the
 * contract's messages), the current one announced to screen readers, and at the end either
 * Completed or the failure record, ready to copy into a ticket.
 */
export function Operation({ operation, onFinished, onDismiss }: { operation: OperationRef; onFinished: () => void; onDismiss: () => void }) {
  const [status, setStatus] = useState<OperationStatus | undefined>();
  const [seen, setSeen] = useState<string[]>([]);
  const [problem, setProblem] = useState<string | undefined>();
  const finished = useRef(false);

  useEffect(() => {
    let stopped = false;
    let timer: number | undefined;
    let failures = 0;
    const poll = async (): Promise<void> => {
      try {
        const next = await operationStatus(operation.statusQueryGetUri);
        if (stopped) return;
        setProblem(undefined);
        setStatus(next);
        const custom = next.customStatus;
        if (custom?.status) {
          setSeen((previous) => (previous[previous.length - 1] === custom.status ? previous : [...previous, custom.status]));
        }
        if (isFinished(next.runtimeStatus)) {
          if (!finished.current) {
            finished.current = true;
            onFinished();
          }
          return;
        }
        failures = 0;
      } catch (error) {
        if (stopped) return;
        setProblem(error instanceof ApiError ? error.detail : 'The status could not be read; retrying.');
        if (error instanceof ApiError && isPermanent(error)) return;
        failures += 1;
      }
      schedule();
    };
    // Every second while it runs; slower after failures (up to 30 s); not at all in a hidden tab.
    const schedule = (): void => {
      timer = window.setTimeout(() => {
        if (document.hidden) schedule();
        else void poll();
      }, Math.min(POLL_MS * 2 ** failures, MAX_POLL_MS));
    };
    void poll();
    return () => {
      stopped = true;
      window.clearTimeout(timer);
    };
  }, [operation.statusQueryGetUri]);

  const runtime = status?.runtimeStatus ?? 'Pending';
  const record = runtime === 'Failed' ? failureRecordOf(status?.output) : undefined;
  const batch = status?.customStatus?.progress;
  const headingId = `op-${operation.key}`;
  return (
    <section class={`operation operation--${runtime.toLowerCase()}`} aria-labelledby={headingId} data-instance={operation.instanceId} data-seen={seen.join(' ')}>
      <header class="operation__header">
        <h3 id={headingId}>{operation.title}</h3>
        <span class="badge" data-testid="runtime-status">
          {runtime}
        </span>
        {isFinished(runtime) && (
          <button type="button" class="link" onClick={onDismiss}>
            Dismiss
          </button>
        )}
      </header>
      <p class="operation__current" role="status" aria-live="polite">
        {status?.customStatus ? `${status.customStatus.status}: ${status.customStatus.message}` : 'Waiting for the run to start…'}
      </p>
      {batch && (
        <p class="operation__progress">
          {batch.done} done, {batch.failed} failed, {batch.issuing} issuing, {batch.queued} queued of {batch.total}
        </p>
      )}
      <ol class="steps" aria-label="Steps">
        {stepStates(planFor(operation.challengeType), seen, runtime, typeof record?.failedStep === 'string' ? record.failedStep : undefined).map((step) => (
          <li key={step.status} data-step={step.status} data-state={step.state} class={`steps__item steps__item--${step.state}`}>
            <span class="steps__state">{STATE_TEXT[step.state]}</span> <span class="steps__message">{step.message}</span> <span class="steps__name">{step.status}</span>
          </li>
        ))}
      </ol>
      {problem && <p class="warning">{problem}</p>}
      {runtime === 'Failed' && <FailureRecord record={record ?? { output: status?.output ?? null }} />}
      {runtime === 'Completed' && status?.output !== undefined && status.output !== null && (
        <details>
          <summary>Output</summary>
          <pre>{JSON.stringify(status.output, null, 2)}</pre>
        </details>
      )}
    </section>
  );
}

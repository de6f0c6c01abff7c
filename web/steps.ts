import { AcmeDns01IssuanceSteps, AcmeIssuanceSteps, StepMessages } from '../src/domain/status';

export type ChallengeType = 'http-01' | 'dns-01';
export type StepState = 'done' | 'current' | 'failed' | 'waiting';

export interface PlannedStep {
  status: string;
  message: string;
  state: StepState;
}

/** A single name's issuance (or renewal) reports these steps in order: the contract's sequence. */
export function planFor(challengeType: ChallengeType | undefined): readonly string[] | undefined {
  if (!challengeType) return undefined;
  return challengeType === 'dns-01' ? AcmeDns01IssuanceSteps : AcmeIssuanceSteps;
}

const messageOf = (status: string): string => (StepMessages as Record<string, string>)[status] ?? '';

/**
 * Every step of the plan with its state, from the steps seen so far (a poll can miss a short
 * step: everything before the latest seen one is done). Without a plan, the steps seen.
 */
export function stepStates(plan: readonly string[] | undefined, seen: string[], runtimeStatus: string, failedStep?: string): PlannedStep[] {
  const failed = runtimeStatus === 'Failed' || runtimeStatus === 'Terminated';
  // A failed run names its step in its record: that is where it stopped, whatever a poll saw last.
  const latest = (failed && failedStep) || [...seen].reverse().find((status) => status !== 'Failed');
  if (!plan) {
    return seen.filter((status) => status !== 'Failed').map((status) => ({ status, message: messageOf(status), state: status === latest && failed ? 'failed' : status === latest && runtimeStatus !== 'Completed' ? 'current' : 'done' }));
  }
  const at = runtimeStatus === 'Completed' ? plan.length : latest ? plan.indexOf(latest) : -1;
  return plan.map((status, index) => ({
    status,
    message: messageOf(status),
    state: index < at ? 'done' : index === at ? (failed ? 'failed' : 'current') : 'waiting',
  }));
}

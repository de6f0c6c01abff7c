/**
 * The per-hostname failure back-off (src/domain/failureBackoff.ts), one JSON blob per certificate
 * name in the private state container (`backoff/<certificate name>.json`): written when a run for
 * the hostname ends, read by the renewal timer, the starters and the list. ETag-conditional.
 */
import { CertbotConfig } from '../domain/config';
import { afterFailure, BackoffState } from '../domain/failureBackoff';
import { certificateNameFor } from './keyVault';
import { StateDocument } from './stateDocument';

export class FailureBackoffStore {
  constructor(private readonly config: CertbotConfig) {}

  private document(hostname: string): StateDocument<BackoffState | null> {
    return new StateDocument<BackoffState | null>(this.config, `backoff/${certificateNameFor(hostname)}.json`, () => null);
  }

  async read(hostname: string): Promise<BackoffState | undefined> {
    return (await this.document(hostname).read()) ?? undefined;
  }

  /**
   * One failure more, counted once per run: a run's failure recorded again (an activity runs at
   * least once) finds its run id and leaves the count.
   */
  async failed(hostname: string, run: string, code: string): Promise<BackoffState> {
    return this.document(hostname).update((current) => {
      if (current?.run === run) return { write: undefined, result: current };
      const next = { ...afterFailure(current ?? undefined, new Date(), code), run };
      return { write: next, result: next };
    });
  }

  /** A success: automatic attempts go ahead at once again. */
  async succeeded(hostname: string): Promise<void> {
    await this.document(hostname).update(() => ({ write: null, result: undefined }));
  }
}

/**
 * The app's count of the CA's rate limits (src/domain/rateLimits.ts), one JSON blob per CA
 * directory in the private state container (`rate-limits/<hash of AcmeEndpoint>.json`), shared by
 * every instance of the app and kept across restarts; every change is ETag-conditional
 * (stateDocument.ts), so two instances never both take the last token.
 */
import { createHash } from 'node:crypto';
import { CertbotConfig } from '../domain/config';
import { CertbotError } from '../domain/errors';
import {
  countFailedAuthorization,
  countIssuance,
  countsAnything,
  describeRefusal,
  emptyLedger,
  RateLimitLedger,
  rememberIssuedSet,
  releaseReservation,
  reserveNewOrder,
} from '../domain/rateLimits';
import { StateDocument } from './stateDocument';

export class RateLimitLedgerStore {
  private readonly document: StateDocument<RateLimitLedger>;

  constructor(private readonly config: CertbotConfig) {
    const ca = createHash('sha256').update(config.acmeEndpoint.href).digest('hex').slice(0, 32);
    this.document = new StateDocument<RateLimitLedger>(config, `rate-limits/${ca}.json`, emptyLedger);
  }

  private get counting(): boolean {
    return countsAnything(this.config.acmeRateLimits);
  }

  /**
   * Before newOrder: counts the order, or throws AcmeRateLimitWouldBeExceeded (with the seconds
   * until it frees up) when it would exceed a limit. Returns the buckets counted for its certificate.
   */
  async reserve(account: string, names: string[], ari: boolean): Promise<{ pendingKeys: string[] }> {
    if (!this.counting) return { pendingKeys: [] };
    const now = Date.now();
    const decision = await this.document.update((ledger) => {
      const outcome = reserveNewOrder(ledger, this.config.acmeRateLimits, { account, names, ari, now });
      return { write: outcome.ok ? outcome.ledger : undefined, result: outcome };
    });
    if (!decision.ok) {
      const seconds = Math.max(1, Math.ceil((decision.refusal.freeAt.getTime() - now) / 1000));
      throw new CertbotError('AcmeRateLimitWouldBeExceeded', describeRefusal(decision.refusal), seconds);
    }
    return { pendingKeys: decision.pendingKeys };
  }

  /** The newOrder a reservation was made for failed (see releaseReservation). */
  async release(account: string, pendingKeys: string[], orderNotCreated: boolean): Promise<void> {
    if (!this.counting) return;
    const now = Date.now();
    await this.document.update((ledger) => ({ write: releaseReservation(ledger, this.config.acmeRateLimits, { account, pendingKeys, orderNotCreated, now }), result: undefined }));
  }

  /** Right before finalize. */
  async issuing(pendingKeys: string[]): Promise<void> {
    if (!this.counting || pendingKeys.length === 0) return;
    const now = Date.now();
    await this.document.update((ledger) => ({ write: countIssuance(ledger, this.config.acmeRateLimits, pendingKeys, now), result: undefined }));
  }

  /** The certificate for exactly these names was issued. */
  async issued(names: string[]): Promise<void> {
    if (!this.counting) return;
    const now = Date.now();
    await this.document.update((ledger) => ({ write: rememberIssuedSet(ledger, names, now), result: undefined }));
  }

  /** An authorization of the order failed validation (counted once per authorization URL). */
  async failedAuthorization(account: string, identifier: string, pendingKeys: string[], authorizationUrl: string, orderUrl?: string): Promise<void> {
    if (!this.counting) return;
    const now = Date.now();
    await this.document.update((ledger) => ({ write: countFailedAuthorization(ledger, this.config.acmeRateLimits, { account, identifier, pendingKeys, authorizationUrl, orderUrl, now }), result: undefined }));
  }
}

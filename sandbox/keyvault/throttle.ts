import { KvReply, kvError } from './wire';

/**
 * Key Vault's throttling: per vault, a sliding 10-second window per transaction class, 429 past
 * the limit. Limits are Learn's "Azure Key Vault service limits" (per vault per region, 10 s),
 * where its versions disagree the stricter one (the 2018 text, MicrosoftDocs/azure-docs
 * includes/key-vault-limits.md, against the current page):
 * - key CREATE (software RSA or EC key): 10 (2018; 20 today). A certificate create with issuer
 *   Unknown generates the certificate's key, so it counts here;
 * - secret CREATE: 300 (current page; the 2018 text has no such class). A secret set, and the
 *   secret version an import or a merge writes, count here. How the service counts certificate
 *   imports and merges is not documented: this reading is ours;
 * - everything else on the vault ("secrets, managed storage account keys, and vault
 *   transactions: all transactions"): 2000 (2018; 4000 today). Certificate reads, lists and
 *   operation polls count here.
 * The subscription-wide limit (5 times a vault's) never binds with one vault. HSM keys (lower
 * limits) are not modelled: the app creates software keys.
 *
 * Refused requests count toward the limit, as the earlier throttling guidance said ("failed
 * requests that return a 429 count towards the throttle limits"; the current page says they do
 * not): a client retrying at once stays throttled.
 *
 * The answer is the service's as a client recorded it (vcsjones/AzureSignTool#219, 2023): 429,
 * `{"error":{"code":"Throttled","message":"Request was not processed because too many requests
 * were received. Reason: VaultRequestTypeLimitReached"}}`, and no Retry-After header. Without
 * Retry-After the Azure SDK's retry policies do not retry a 429 (core-rest-pipeline:
 * throttlingRetryStrategy needs the header, exponentialRetryStrategy takes 408 and 5xx only), so
 * the caller sees it: stricter than a header would be. `retryAfterSeconds` adds one.
 */
export type TransactionClass = 'keyCreate' | 'secretCreate' | 'vault';

export interface ThrottleOptions {
  /** Transactions allowed per window, per class (defaults: keyCreate 10, secretCreate 300, vault 2000). */
  limits?: Partial<Record<TransactionClass, number>>;
  /** Multiplies every limit (rounded down, at least 1), e.g. 0.1 to meet them sooner or 100 to push them away. */
  scale?: number;
  /** Window length in ms (default 10 000, the documented one). */
  windowMs?: number;
  /** Retry-After (seconds) on the 429; the service's recorded answer carries none. */
  retryAfterSeconds?: number;
}

export const DOCUMENTED_LIMITS: Record<TransactionClass, number> = { keyCreate: 10, secretCreate: 300, vault: 2000 };
const DOCUMENTED_WINDOW_MS = 10_000;

/** The transaction class of a request, from its method and path (segments after the host). */
export function classify(method: string, path: string[]): TransactionClass {
  const [collection, , third, fourth] = path;
  if (collection === 'certificates' && method === 'POST' && third === 'create') return 'keyCreate';
  if (collection === 'certificates' && method === 'POST' && (third === 'import' || (third === 'pending' && fourth === 'merge'))) return 'secretCreate';
  if (collection === 'secrets' && method === 'PUT' && path.length === 2) return 'secretCreate';
  return 'vault';
}

export class KeyVaultThrottle {
  private settings: { limits: Record<TransactionClass, number>; windowMs: number; retryAfterSeconds?: number } | undefined;
  private readonly seen = new Map<TransactionClass, number[]>();

  constructor(options: ThrottleOptions | false = {}) {
    this.configure(options);
  }

  /** Arms (options) or turns off (false) throttling; the counts so far are kept. */
  configure(options: ThrottleOptions | false): void {
    if (options === false) {
      this.settings = undefined;
      return;
    }
    const scale = options.scale ?? 1;
    const limit = (kind: TransactionClass): number => options.limits?.[kind] ?? Math.max(1, Math.floor(DOCUMENTED_LIMITS[kind] * scale));
    this.settings = {
      limits: { keyCreate: limit('keyCreate'), secretCreate: limit('secretCreate'), vault: limit('vault') },
      windowMs: options.windowMs ?? DOCUMENTED_WINDOW_MS,
      retryAfterSeconds: options.retryAfterSeconds,
    };
  }

  /** Counts the request in its class; the 429 to answer when the class is over its limit in the window. */
  take(method: string, pathname: string, now = Date.now()): KvReply | undefined {
    const settings = this.settings;
    if (!settings) return undefined;
    const kind = classify(method, pathname.split('/').filter(Boolean));
    const times = (this.seen.get(kind) ?? []).filter((time) => time > now - settings.windowMs);
    const over = times.length >= settings.limits[kind];
    times.push(now);
    this.seen.set(kind, times);
    if (!over) return undefined;
    const reply = kvError(429, 'Throttled', 'Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached');
    if (settings.retryAfterSeconds !== undefined) reply.headers = { 'retry-after': String(settings.retryAfterSeconds) };
    return reply;
  }
}

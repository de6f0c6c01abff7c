import * as acme from 'acme-client';
import type { Challenge, OrderCreateRequest } from 'acme-client/types/rfc8555';
import { CertbotConfig, ChallengeType } from '../domain/config';
import { CertbotError, ErrorCode } from '../domain/errors';
import type { BlobLock } from '../azure/blobLock';
import { KeyVaultAdapter } from '../azure/keyVault';
import { fromAzureError } from '../azure/restErrors';
import { AcmeProblem, describeEmbeddedProblem, parseRetryAfter, problemError } from './problems';

/**
 * A thin ACME adapter over acme-client 5.4 for one activity invocation. It keeps the protocol
 * close to its minimum request count and makes every failure typed:
 * - no hidden retries or sleeps: acme-client's axios retries are off; the orchestrator waits;
 * - nonces from responses are pooled and the directory is cached per process (acme-client would
 *   send `HEAD newNonce` before every POST and fetch the directory in every new client);
 * - the CA's problem documents and Retry-After headers are captured from the wire.
 * The account key lives only in Key Vault and in this process's memory.
 */
// Reason: acmeSettings is acme-client's own addition to its axios instance, absent from axios' typings.
(acme.axios.defaults as unknown as { acmeSettings: { retryMaxAttempts: number } }).acmeSettings.retryMaxAttempts = 0;
acme.axios.defaults.timeout = 30_000;

/** acme-client's HttpClient members this adapter wraps (internal API of the pinned 5.4.0). */
interface AcmeHttpInternals {
  directoryCache: Record<string, unknown> | null;
  directoryTimestamp: number;
  getDirectory(): Promise<Record<string, unknown>>;
  getNonce(): Promise<string>;
  request(url: string, method: string, opts?: Record<string, unknown>): Promise<WireResponse>;
}

interface WireResponse {
  status: number;
  headers: Record<string, string | undefined>;
  data: unknown;
}

const MAX_POOLED_NONCES = 16;
const noncePools = new Map<string, string[]>();
const directories = new Map<string, Record<string, unknown>>();

interface AccountCredentials {
  keyPem: string;
  accountUrl: string;
}
const accounts = new Map<string, Promise<AccountCredentials>>();

export interface OrderSnapshot {
  url: string;
  status: acme.Order['status'];
  finalize: string;
  authorizations: string[];
  certificate?: string;
  problem?: AcmeProblem;
  retryAfterSeconds?: number;
  /** The rate-limit buckets counted for this order's certificate (src/domain/rateLimits.ts); never secret. */
  rateLimitKeys?: string[];
}

export interface ChallengeSnapshot {
  authorizationUrl: string;
  /** The name this authorization proves, `*.` first for a wildcard's (RFC 8555 section 7.1.4 `wildcard`). */
  identifier: string;
  authorizationStatus: acme.Authorization['status'];
  challengeUrl: string;
  challengeStatus: string;
  token: string;
  /** Public by design: the CA fetches it over plain HTTP. */
  keyAuthorization: string;
  problem?: AcmeProblem;
  retryAfterSeconds?: number;
}

export class AcmeSession {
  private lastProblem?: AcmeProblem;
  private lastRetryAfter?: number;

  private constructor(private readonly client: acme.Client) {}

  static async open(config: CertbotConfig, keyVault: KeyVaultAdapter, locks: BlobLock): Promise<AcmeSession> {
    const directoryUrl = config.acmeEndpoint.href;
    const account = await accountFor(config, keyVault, locks);
    const session = new AcmeSession(
      new acme.Client({ directoryUrl, accountKey: account.keyPem, accountUrl: account.accountUrl }),
    );
    session.instrument(directoryUrl);
    return session;
  }

  private http(): AcmeHttpInternals {
    // Reason: reaching acme-client's HttpClient, which its typings do not expose.
    return (this.client as unknown as { http: AcmeHttpInternals }).http;
  }

  private instrument(directoryUrl: string): void {
    const http = this.http();
    const cached = directories.get(directoryUrl);
    if (cached) {
      http.directoryCache = cached;
      http.directoryTimestamp = Math.floor(Date.now() / 1000);
    }
    const pool = noncePools.get(directoryUrl) ?? [];
    noncePools.set(directoryUrl, pool);

    const request = http.request.bind(http);
    http.request = async (url, method, opts) => {
      let response: WireResponse;
      try {
        response = await request(url, method, opts);
      } catch (error) {
        throw new CertbotError(
          'CertificateAuthorityUnavailable',
          `Could not reach the CA at ${new URL(url).origin}: ${(error as Error).message}`,
          undefined,
          true,
        );
      }
      this.observe(response, method, pool);
      return response;
    };
    const getDirectory = http.getDirectory.bind(http);
    http.getDirectory = async () => {
      const directory = await getDirectory();
      directories.set(directoryUrl, directory);
      return directory;
    };
    const getNonce = http.getNonce.bind(http);
    http.getNonce = async () => pool.shift() ?? getNonce();
  }

  private observe(response: WireResponse, method: string, pool: string[]): void {
    this.lastRetryAfter = parseRetryAfter(response.headers['retry-after']);
    const problem = response.status >= 400 ? describeEmbeddedProblem(response.data) : undefined;
    this.lastProblem = problem
      ? { ...problem, status: response.status, retryAfterSeconds: this.lastRetryAfter }
      : undefined;
    // acme-client reads the nonce of HEAD newNonce and of badNonce answers itself: pooling those
    // would hand the same nonce out twice.
    const nonce = response.headers['replay-nonce'];
    const badNonce = problem?.type === 'urn:ietf:params:acme:error:badNonce';
    if (nonce && method.toLowerCase() !== 'head' && !badNonce && pool.length < MAX_POOLED_NONCES) pool.push(nonce);
  }

  /** Runs one protocol exchange and turns any failure into a typed CertbotError. */
  private async exchange<T>(what: string, call: () => Promise<T>): Promise<T> {
    this.lastProblem = undefined;
    try {
      return await call();
    } catch (error) {
      if (error instanceof CertbotError) throw error;
      if (this.lastProblem) throw problemError(this.lastProblem);
      throw new CertbotError('AcmeOrderFailed', `${what} failed: ${(error as Error).message}`);
    }
  }

  private snapshotOrder(order: acme.Order): OrderSnapshot {
    const snapshot: OrderSnapshot = {
      url: order.url,
      status: order.status,
      finalize: order.finalize,
      authorizations: order.authorizations,
    };
    if (order.certificate) snapshot.certificate = order.certificate;
    const problem = describeEmbeddedProblem(order.error);
    if (problem) snapshot.problem = problem;
    if (this.lastRetryAfter !== undefined) snapshot.retryAfterSeconds = this.lastRetryAfter;
    return snapshot;
  }

  /**
   * newAccount (RFC 8555 section 7.3): returns the existing account for the key if there is one.
   * `eab` binds it to the CA's external account (section 7.3.4); the HMAC key only signs, it is
   * never part of a message.
   */
  static async registerAccount(directoryUrl: string, keyPem: string, email: string, eab?: { kid: string; hmacKey: string }): Promise<string> {
    const session = new AcmeSession(new acme.Client({ directoryUrl, accountKey: keyPem, ...(eab ? { externalAccountBinding: eab } : {}) }));
    session.instrument(directoryUrl);
    try {
      await session.exchange('newAccount', () =>
        session.client.createAccount({ termsOfServiceAgreed: true, contact: [`mailto:${email}`] }),
      );
    } catch (error) {
      if (error instanceof CertbotError && error.code === 'AcmeExternalAccountRequired' && !eab) {
        throw new CertbotError('AcmeExternalAccountRequired', `The CA at ${new URL(directoryUrl).origin} requires External Account Binding and AcmeEabKeyId and AcmeEabHmacKeySecretName are not set (${error.detail}).`);
      }
      // Waiting helps these; anything else the CA says about a newAccount is about the account, not a
      // challenge (an unknown or wrongly signed binding is `unauthorized`: Pebble wfe.go verifyEAB).
      if (error instanceof CertbotError && (error.transient || error.code === 'AcmeRateLimited' || error.code === 'CertificateAuthorityUnavailable')) throw error;
      const detail = error instanceof CertbotError ? error.detail : (error as Error).message;
      const binding = eab
        ? ' Check that AcmeEabKeyId and the Key Vault secret AcmeEabHmacKeySecretName names hold the key id and HMAC key the CA gave, and that the CA still accepts them (some CAs take a key once, or for a few days).'
        : '';
      throw new CertbotError('AcmeAccountFailed', `The CA refused the account: ${detail}.${binding}`);
    }
    return session.client.getAccountUrl();
  }

  /**
   * newOrder; `replaces` names the certificate this order renews (RFC 9773 section 5), sent only
   * when the CA advertises renewalInfo. `replaces` is advice to the CA: when the CA refuses it
   * (already replaced by an earlier attempt of this step, or a certificate it does not know), the
   * order is placed again without it rather than failing the renewal.
   */
  /**
   * `names`: every name of the certificate, `hostname` first (default: the hostname alone).
   * `profile`: the order's profile (draft-aaron-acme-profiles), checked against the directory by the starter.
   * `beforeSend` runs before each newOrder request is sent (with whether it carries `replaces`);
   * what it throws stops the request (the rate-limit accounting, src/azure/rateLimitLedger.ts).
   */
  async newOrder(
    hostname: string,
    replaces?: string,
    names: string[] = [hostname],
    profile?: string,
    beforeSend: (withReplaces: boolean) => Promise<void> = async () => undefined,
  ): Promise<OrderSnapshot & { replaces?: string }> {
    // acme-client 5.4 posts the object as given; its type predates the profiles draft.
    const identifiers = names.map((value) => ({ type: 'dns', value }));
    const base = { identifiers, ...(profile === undefined ? {} : { profile }) } as OrderCreateRequest;
    // acme-client's own (instrumented) directory read: cached per process, one fetch at most.
    const directory = replaces ? await this.http().getDirectory() : {};
    if (replaces && typeof directory.renewalInfo === 'string') {
      await beforeSend(true);
      try {
        // acme-client 5.4 posts the object as given; its type predates RFC 9773's `replaces`.
        const payload: OrderCreateRequest & { replaces: string } = { ...base, replaces };
        return { ...this.snapshotOrder(await this.exchange('newOrder', () => this.client.createOrder(payload))), replaces };
      } catch (error) {
        if (!(error instanceof CertbotError) || !REPLACES_REFUSED.has(this.lastProblem?.type ?? '')) throw error;
      }
    }
    await beforeSend(false);
    const order = await this.exchange('newOrder', () => this.client.createOrder(base));
    return this.snapshotOrder(order);
  }

  /** This session's ACME account URL (the `kid` of its requests). */
  accountUrl(): string {
    return this.client.getAccountUrl();
  }

  /**
   * What a CAA record must name for this CA to issue to this account: the directory's
   * `meta.caaIdentities` (RFC 8555 section 7.1.1; optional, so possibly empty) and the account URL
   * (RFC 8657 accounturi).
   */
  async caaContext(): Promise<{ caaIdentities: string[]; accountUri: string }> {
    const directory = await this.exchange('directory', () => this.http().getDirectory());
    const meta = directory.meta as { caaIdentities?: unknown } | undefined;
    const caaIdentities = Array.isArray(meta?.caaIdentities) ? meta.caaIdentities.filter((id): id is string => typeof id === 'string') : [];
    return { caaIdentities, accountUri: this.client.getAccountUrl() };
  }

  async getOrder(url: string): Promise<OrderSnapshot> {
    // acme-client's getOrder needs only the url; the other fields come back from the CA.
    const order = await this.exchange('getOrder', () => this.client.getOrder({ url } as acme.Order));
    return this.snapshotOrder(order);
  }

  /** The authorization and its challenge of `type`; for dns-01 `keyAuthorization` is the TXT value (RFC 8555 section 8.4). */
  async challenge(authorizationUrl: string, type: ChallengeType = 'http-01'): Promise<ChallengeSnapshot> {
    const [authz] = await this.exchange('getAuthorization', () =>
      this.client.getAuthorizations({ authorizations: [authorizationUrl] } as acme.Order),
    );
    const challenge = authz.challenges.find((c) => c.type === type);
    if (!challenge) {
      throw new CertbotError('AcmeOrderFailed', `The CA offered no ${type} challenge for ${authz.identifier.value}.`);
    }
    const snapshot: ChallengeSnapshot = {
      authorizationUrl,
      identifier: `${authz.wildcard ? '*.' : ''}${authz.identifier.value}`,
      authorizationStatus: authz.status,
      challengeUrl: challenge.url,
      challengeStatus: challenge.status,
      token: challenge.token,
      keyAuthorization: await this.client.getChallengeKeyAuthorization(challenge),
    };
    const problem = describeEmbeddedProblem(challenge.error);
    if (problem) snapshot.problem = problem;
    if (this.lastRetryAfter !== undefined) snapshot.retryAfterSeconds = this.lastRetryAfter;
    return snapshot;
  }

  /** Tells the CA the file or TXT record is in place. Answering twice is harmless (RFC 8555 section 7.5.1). */
  async answerChallenge(challengeUrl: string, type: ChallengeType = 'http-01'): Promise<void> {
    await this.exchange('challenge', () =>
      this.client.completeChallenge({ url: challengeUrl, type } as Challenge),
    );
  }

  async finalize(order: OrderSnapshot, csrPem: string): Promise<OrderSnapshot> {
    const finalized = await this.exchange('finalize', () =>
      this.client.finalizeOrder({ ...order, identifiers: [] } as acme.Order, csrPem),
    );
    return this.snapshotOrder(finalized);
  }

  /**
   * revokeCert (RFC 8555 section 7.6), signed with the account key (the account that ordered it).
   * `alreadyRevoked` from the CA is the outcome wanted, so it is success ('alreadyRevoked'): a
   * retried step, or a certificate revoked by other means. Any other refusal the CA explains
   * (unauthorized, badRevocationReason, malformed) is AcmeRevocationFailed with its words; rate
   * limits and outages keep their own codes (and their Retry-After).
   */
  async revoke(certificatePem: string, reasonCode: number): Promise<'revoked' | 'alreadyRevoked'> {
    try {
      await this.exchange('revokeCert', () => this.client.revokeCertificate(certificatePem, { reason: reasonCode }));
      return 'revoked';
    } catch (error) {
      if (this.lastProblem?.type === ALREADY_REVOKED) return 'alreadyRevoked';
      // (Without a problem document the failure is acme-client's own: AcmeOrderFailed, said of revokeCert.)
      if (error instanceof CertbotError && !KEEPS_ITS_CODE.has(error.code)) throw new CertbotError('AcmeRevocationFailed', error.detail, error.retryAfterSeconds, error.transient);
      throw error;
    }
  }

  /**
   * The issued chain, leaf first, as PEM blocks. `preferredChain`: the issuer common name of the
   * topmost certificate of an alternate chain the CA links (RFC 8555 section 7.4.2, Link
   * rel="alternate"); acme-client picks the chain with it nearest the root, else the default one.
   */
  async downloadChain(order: OrderSnapshot, preferredChain?: string): Promise<string[]> {
    const pem = await this.exchange('certificate', () =>
      this.client.getCertificate({ ...order, identifiers: [] } as acme.Order, preferredChain),
    );
    return acme.crypto.splitPemChain(pem);
  }
}

const ALREADY_REVOKED = 'urn:ietf:params:acme:error:alreadyRevoked';
/** Failures of a revocation that mean what they mean for any request (wait, or fix the account); the rest is the revocation's. */
const KEEPS_ITS_CODE = new Set<ErrorCode>(['AcmeRateLimited', 'CertificateAuthorityUnavailable', 'AcmeAccountFailed']);

const REPLACES_REFUSED = new Set(['urn:ietf:params:acme:error:alreadyReplaced', 'urn:ietf:params:acme:error:malformed']);

/** The CA's directory, from this process's cache (shared with the sessions) or fetched once. */
export async function acmeDirectory(directoryUrl: string): Promise<Record<string, unknown>> {
  const cached = directories.get(directoryUrl);
  if (cached) return cached;
  try {
    const response = await acme.axios.get<Record<string, unknown>>(directoryUrl, { responseType: 'json' });
    directories.set(directoryUrl, response.data);
    return response.data;
  } catch (error) {
    throw new CertbotError('CertificateAuthorityUnavailable', `Could not read the CA directory ${directoryUrl}: ${(error as Error).message}`, undefined, true);
  }
}

/** This process's copy of the account (a cache only: the lock below makes creation once per deployment). */
function accountFor(config: CertbotConfig, keyVault: KeyVaultAdapter, locks: BlobLock): Promise<AccountCredentials> {
  const key = `${config.keyVaultBaseUrl.href}|${config.acmeAccountKeySecretName}|${config.acmeEndpoint.href}`;
  let pending = accounts.get(key);
  if (!pending) {
    pending = loadOrCreateAccount(config, keyVault, locks);
    accounts.set(key, pending);
    pending.catch(() => accounts.delete(key));
  }
  return pending;
}

/**
 * The ACME account key is a Key Vault secret (PEM) with the account URL for this CA in its tags.
 * It is created on first use and reused after; it never travels through settings or history.
 * Instances of the app may all meet a fresh vault at once: creation runs under a lock shared by
 * all of them and reads the vault again inside it, so exactly one account is registered.
 */
async function loadOrCreateAccount(config: CertbotConfig, keyVault: KeyVaultAdapter, locks: BlobLock): Promise<AccountCredentials> {
  const stored = await readAccount(config, keyVault);
  if (stored.keyPem && stored.accountUrl) return { keyPem: stored.keyPem, accountUrl: stored.accountUrl };
  return locks.around(`acme-account-${config.acmeAccountKeySecretName}`, async (stillHeld) => {
    const current = await readAccount(config, keyVault);
    if (current.keyPem && current.accountUrl) return { keyPem: current.keyPem, accountUrl: current.accountUrl };
    const endpoint = config.acmeEndpoint.href;
    const keyPem = current.keyPem ?? (await acme.crypto.createPrivateEcdsaKey('P-256')).toString();
    const accountUrl = await AcmeSession.registerAccount(endpoint, keyPem, config.acmeAccountEmail, await eabFor(config, keyVault));
    // Another instance may only take over if this one's lease lapsed; then it must not write.
    await stillHeld();
    try {
      await keyVault.secrets.setSecret(config.acmeAccountKeySecretName, keyPem, {
        contentType: 'application/x-pem-file',
        tags: { purpose: 'acme-account-key', acmeEndpoint: endpoint, accountUrl },
      });
    } catch (error) {
      throw fromAzureError('Key Vault', error, ACCOUNT_KV_CODES);
    }
    return { keyPem, accountUrl };
  });
}

const ACCOUNT_KV_CODES = { forbidden: 'KeyVaultPermissionDenied', other: 'KeyVaultRequestFailed' } as const;

/** The External Account Binding for a new account: AcmeEabKeyId and the HMAC key from its Key Vault secret (never a setting, never logged). */
async function eabFor(config: CertbotConfig, keyVault: KeyVaultAdapter): Promise<{ kid: string; hmacKey: string } | undefined> {
  if (!config.acmeEab) return undefined;
  const { keyId, hmacKeySecretName } = config.acmeEab;
  let hmacKey: string | undefined;
  try {
    hmacKey = (await keyVault.secrets.getSecret(hmacKeySecretName)).value?.trim();
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) {
      throw new CertbotError('ConfigurationInvalid', `Setting AcmeEabHmacKeySecretName names secret ${hmacKeySecretName}, which Key Vault does not hold: store the CA's HMAC key there.`);
    }
    throw fromAzureError('Key Vault', error, ACCOUNT_KV_CODES);
  }
  if (!hmacKey) throw new CertbotError('ConfigurationInvalid', `Setting AcmeEabHmacKeySecretName names secret ${hmacKeySecretName}, which is empty: store the CA's HMAC key there.`);
  return { kid: keyId, hmacKey };
}

/** The stored key, and its account URL when it was registered with this CA. */
async function readAccount(config: CertbotConfig, keyVault: KeyVaultAdapter): Promise<Partial<AccountCredentials>> {
  try {
    const secret = await keyVault.secrets.getSecret(config.acmeAccountKeySecretName);
    const sameCa = secret.properties.tags?.acmeEndpoint === config.acmeEndpoint.href;
    return { keyPem: secret.value, accountUrl: sameCa ? secret.properties.tags?.accountUrl : undefined };
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return {};
    throw fromAzureError('Key Vault', error, ACCOUNT_KV_CODES);
  }
}

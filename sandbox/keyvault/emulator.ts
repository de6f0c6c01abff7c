import https from 'node:https';
import type { IncomingMessage } from 'node:http';
import { AddressInfo } from 'node:net';
import { Counters, delay, FaultInjector } from '../faults';
import { bearerProblem, readClaims } from '../identity/jwt';
import { SandboxCa } from '../tls/ca';
import { readBody, send } from '../emulators/httpsServer';
import { CertificateStore } from './certificates';
import { LifecycleDelays, lifecycleDelays } from './lifecycle';
import { route, VaultProperties } from './routes';
import { SecretStore } from './secrets';
import { KeyVaultThrottle, ThrottleOptions } from './throttle';
import { KvReply, KvRequest, kvError, MAX_PAGE } from './wire';

/**
 * HTTPS Key Vault emulator (certificates + secrets). Order per request:
 * 1. challenge auth (keyvault-common keyVaultAuthenticationPolicy): no token -> 401 with
 *    WWW-Authenticate (authority + resource), counted as `auth.challenge`; a token that is not a
 *    valid vault token for this tenant -> 401 `auth.rejected`;
 * 1b. throttling (throttle.ts): past a transaction class's limit in its 10-second window -> 429
 *    Throttled, counted as `throttled`;
 * 2. api-version must be present (7.x or a dated version such as 2025-07-01); clients encode
 *    the key as `api%2Dversion`, URLSearchParams decodes it;
 * 3. an armed fault for `METHOD /path` answers instead (after its delay), with a Key Vault
 *    error body and Retry-After if set;
 * 4. the operation is counted (service 'keyvault', e.g. 'certificates.create') and served.
 */
export interface KeyVaultEmulatorOptions {
  ca: SandboxCa;
  tenantId: string;
  faults?: FaultInjector;
  counters?: Counters;
  /** Page size of lists when the client sends no maxresults (default 25, as the service). */
  pageSize?: number;
  /** Fixed port (default: a free one). */
  port?: number;
  /**
   * How long soft delete, recover and purge take before the object reaches its new state
   * (defaults 5000/5000/3000 ms, lifecycle.ts), each multiplied by `lifecycleDelayScale`
   * (default 1); a value given in `lifecycleDelaysMs` is taken as it is.
   */
  lifecycleDelaysMs?: Partial<LifecycleDelays>;
  lifecycleDelayScale?: number;
  /** Throttling at the documented limits (default on, throttle.ts); options scale or arm it, false turns it off. */
  throttle?: ThrottleOptions | false;
  /** Role-based access (sandbox/rbac/keyVault.ts): the service's 403 for a caller without the operation's data action, else undefined. */
  authorize?(operation: string, request: KvRequest, authorization: string | undefined): KvReply | undefined;
}

export interface KeyVaultEmulator {
  /** Vault URL, https://127.0.0.1:<port> (no trailing slash). */
  url: string;
  stop(): Promise<void>;
  /** For the gateway data plane: the PFX a secret id names (versionless = the latest version; nothing when it is disabled). */
  resolveSecret(secretId: string): Promise<{ pfxBase64: string; contentType: string } | undefined>;
  /** Inspection for tests: the issued (merged or imported) versions held under a certificate name. */
  certificateVersions(name: string): string[];
  /** Turns on purge protection, irreversibly as on Azure (enablePurgeProtection cannot be set back to false). */
  enablePurgeProtection(): void;
  /** Re-arms throttling (limits, scale, window, Retry-After) or turns it off (false); counts so far are kept. */
  throttle(options: ThrottleOptions | false): void;
  /** An operator's `az keyvault secret set`: a new version of the secret (no role check: the operator's own access). */
  setSecret(name: string, value: string, contentType?: string): void;
}

const VAULT_RESOURCE = 'https://vault.azure.net';
const API_VERSION = /^(7\.\d+(-preview(\.\d+)?)?|\d{4}-\d{2}-\d{2}(-preview)?)$/;

export async function startKeyVaultEmulator(options: KeyVaultEmulatorOptions): Promise<KeyVaultEmulator> {
  let vaultUrl = '';
  const delays = lifecycleDelays(options.lifecycleDelaysMs, options.lifecycleDelayScale);
  const certificates = new CertificateStore(() => vaultUrl, delays);
  const vault: VaultProperties = { purgeProtection: false };
  const secrets = new SecretStore(() => vaultUrl, certificates, delays);
  const throttle = new KeyVaultThrottle(options.throttle);
  const count = (operation: string): void => options.counters?.increment('keyvault', operation);
  const challenge = `Bearer authorization="https://login.microsoftonline.com/${options.tenantId}", resource="${VAULT_RESOURCE}"`;

  async function handle(req: IncomingMessage, rawBody: Buffer): Promise<KvReply> {
    const url = new URL(req.url ?? '/', 'https://vault');
    const method = (req.method ?? 'GET').toUpperCase();

    const authorization = req.headers.authorization;
    if (!authorization) {
      count('auth.challenge');
      return { ...kvError(401, 'Unauthorized', 'AKV10000: Request is missing a Bearer or PoP token.'), headers: { 'www-authenticate': challenge } };
    }
    const problem = bearerProblem(authorization, VAULT_RESOURCE) ?? issuerProblem(authorization, options.tenantId);
    if (problem) {
      count('auth.rejected');
      return { ...kvError(401, 'Unauthorized', `AKV10022: Invalid token: ${problem}.`), headers: { 'www-authenticate': challenge } };
    }
    const throttled = throttle.take(method, url.pathname);
    if (throttled) {
      count('throttled');
      return throttled;
    }

    const apiVersion = url.searchParams.get('api-version');
    if (!apiVersion || !API_VERSION.test(apiVersion)) {
      return kvError(400, 'BadParameter', `The request URI contains an invalid or missing api-version${apiVersion ? `: ${apiVersion}` : ''}.`);
    }

    let body: Record<string, unknown> = {};
    if (rawBody.length) {
      try {
        const parsed: unknown = JSON.parse(rawBody.toString('utf8'));
        if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
      } catch {
        return kvError(400, 'BadParameter', 'The request body is not valid JSON.');
      }
    }
    const request: KvRequest = {
      method,
      path: url.pathname.split('/').filter(Boolean).map(decodeURIComponent),
      query: url.searchParams,
      body,
      vaultUrl,
      defaultPageSize: options.pageSize ?? MAX_PAGE,
    };
    const target = route(request, certificates, secrets, vault);
    const forbidden = options.authorize?.(target.operation, request, authorization);
    if (forbidden) return forbidden;

    const fault = options.faults?.take('keyvault', method, url.pathname);
    if (fault?.delayMs) await delay(fault.delayMs);
    count(target.operation);
    if (fault?.status) {
      count(`${target.operation}.fault`);
      const reply = kvError(fault.status, fault.code ?? defaultCode(fault.status), fault.message ?? 'Fault injected by the sandbox.');
      if (fault.retryAfterSeconds !== undefined) reply.headers = { 'retry-after': String(fault.retryAfterSeconds) };
      return reply;
    }
    return target.handle();
  }

  const leaf = options.ca.issueServerCert(['localhost', '127.0.0.1']);
  const server = https.createServer({ key: leaf.keyPem, cert: leaf.certPem }, (req, res) => {
    readBody(req)
      .then((rawBody) => handle(req, rawBody))
      .then((reply) => send(res, reply))
      .catch((error: Error) => {
        // Internal failures never echo request bodies (they may hold keys or PFX).
        if (!res.headersSent) send(res, kvError(500, 'InternalError', `Key Vault emulator failure: ${error.name}`));
      });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  vaultUrl = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: vaultUrl,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
    enablePurgeProtection: () => {
      vault.purgeProtection = true;
    },
    throttle: (settings) => throttle.configure(settings),
    setSecret: (name, value, contentType) => {
      const reply = secrets.set({ method: 'PUT', path: ['secrets', name], query: new URLSearchParams(), body: { value, ...(contentType ? { contentType } : {}) }, defaultPageSize: 25, vaultUrl } satisfies KvRequest, name);
      if (reply.status !== 200) throw new Error(`setting secret ${name} failed with ${reply.status}`);
    },
    certificateVersions: (name) => certificates.live(name)?.versions.filter((v) => v.chainDer.length > 0).map((v) => v.version) ?? [],
    resolveSecret: async (secretId) => {
      const secret = secrets.resolve(secretId);
      return secret ? { pfxBase64: secret.value, contentType: secret.contentType } : undefined;
    },
  };
}

/** Key Vault accepts tokens issued by the vault's tenant only (AKV10032 otherwise). */
function issuerProblem(authorization: string, tenantId: string): string | undefined {
  const claims = readClaims(authorization.replace(/^Bearer\s+/i, ''));
  return claims?.tid === tenantId ? undefined : `issuer tenant ${claims?.tid ?? 'unknown'} is not the vault's tenant`;
}

function defaultCode(status: number): string {
  if (status === 429) return 'Throttled';
  if (status === 409) return 'Conflict';
  if (status === 403) return 'Forbidden';
  if (status >= 500) return 'ServiceUnavailable';
  return 'InjectedFault';
}

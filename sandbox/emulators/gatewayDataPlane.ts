import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import { AddressInfo } from 'node:net';
import { Counters, delay, FaultInjector } from '../faults';
import { childById, GatewayResource, hostNameMatches, listenerHostNames } from './gatewayModel';

/**
 * The emulated gateway's data plane: it serves what the gateway's applied configuration says.
 * HTTP (the port Pebble validates HTTP-01 on) follows listeners, rules and path maps; the
 * `/.well-known/acme-challenge/*` path rule forwards to the challenge container through the
 * backend settings' path override (https://learn.microsoft.com/azure/application-gateway/
 * configuration-http-settings#override-backend-path). HTTPS answers SNI with the certificate of the
 * matching HTTPS listener, as loaded from Key Vault. The listener for a name is chosen as the
 * service processes rules and wildcard host names (listenerFor below):
 *
 * - Per SSL certificate the gateway keeps the keyVaultSecretId it loaded and what it loaded. When a
 *   configuration is applied, it (re)loads only the certificates whose configured keyVaultSecretId
 *   differs from the loaded one: "Application Gateway refetches the certificate from Key Vault only
 *   when the configured keyVaultSecretId changes. If you reapply the same versionless secret URI or
 *   run an empty update, the action finishes successfully but doesn't force the gateway to pull the
 *   newer Key Vault version" (MicrosoftDocs/SupportArticles-docs
 *   troubleshoot-application-gateway-key-vault-certificate.md, Resolution E, 2026). Older pages say
 *   any minor update forces a check (disabled-listeners.md, 2023; the 2022 key-vault-certs overview):
 *   the sources disagree and the stricter 2026 rule is implemented.
 * - Every four hours the instances poll Key Vault for a renewed version (key-vault-certs.md, "How
 *   integration works"): only a versionless id can yield one (a versioned id "always retrieves that
 *   specific version", Resolution C), so the poll re-reads versionless ids, and re-checks disabled
 *   listeners' certificates, which it re-enables once readable (disabled-listeners.md, "How does the
 *   periodic check work?"). `pollKeyVault()` runs it now; a real 4-hour timer (unref'd) runs too.
 * - A certificate that cannot be read (secret missing, disabled, access refused, content type other
 *   than application/x-pkcs12 or application/x-pem-file, unusable content) disables its listeners:
 *   their TLS handshake fails (the service sends an unrecognized_name alert, clients show
 *   ERR_SSL_UNRECOGNIZED_NAME_ALERT, disabled-listeners.md; Node can only close the connection).
 *   Transient failures (the read throwing) leave the listener as it was ("Transient connectivity
 *   problems do not have any impact on the listeners").
 * - Sandbox faults on service `gateway`: "REFRESH" makes one apply skip re-loading changed
 *   certificates (certificates new to the gateway still load), as an instance that has not re-read
 *   Key Vault; the still-different ones load on the next apply. "KEYVAULT" (matched against the
 *   secret id) refuses one Key Vault read as a missing Get permission would. "HANDSHAKE" refuses a
 *   TLS handshake.
 */
export interface DataPlaneOptions {
  getGateway(): GatewayResource;
  onApplied(listener: (gateway: GatewayResource) => void): void;
  /**
   * The secret a Key Vault secret id names, as the gateway's identity reads it: `pfxBase64` is the
   * secret's value (base64 PKCS#12, or PEM text); `{ refused }` when the identity may not read it
   * (sandbox/rbac: no Key Vault Secrets User), which disables the listener like any unreadable secret.
   */
  resolveSecret(secretId: string): Promise<{ pfxBase64: string; contentType?: string } | { refused: string } | undefined>;
  /** CA that signed the blob endpoint's TLS certificate. */
  backendCa: string;
  faults?: FaultInjector;
  counters?: Counters;
  /** Interval of the Key Vault poll (default four hours, the service's). */
  keyVaultPollIntervalMs?: number;
}

export type ListenerState = 'enabled' | 'disabled';

export interface GatewayDataPlane {
  httpPort: number;
  httpsPort: number;
  httpUrl: string;
  httpsUrl: string;
  stop(): Promise<void>;
  /** Runs the periodic Key Vault check now: re-reads versionless secret ids and disabled listeners' certificates. */
  pollKeyVault(): Promise<void>;
  /** Every listener of the applied configuration by name: disabled when its Key Vault certificate could not be read. */
  listenerStates(): Record<string, ListenerState>;
  /** Resolves once the certificates of the configurations applied so far are loaded. */
  settled(): Promise<void>;
}

type Listener = GatewayResource['properties']['httpListeners'][number];

/** What the gateway holds for one SSL certificate: the secret id it loaded, and the result. */
interface LoadedCertificate {
  secretId: string;
  context?: tls.SecureContext;
  /** Why the secret could not be used (its listeners are disabled). */
  error?: string;
}

export const KEY_VAULT_POLL_INTERVAL_MS = 4 * 60 * 60 * 1000;
const PKCS12 = 'application/x-pkcs12';
const PEM = 'application/x-pem-file';

/**
 * The listener that takes a request on `port` for `hostname` (SNI for TLS, Host for HTTP): the
 * listener of the first request routing rule, in processing order, whose listener is on that port
 * and matches the name (a basic listener, without host names, matches any; a multi-site listener
 * when one of its host names matches, wildcards as in hostNameMatches).
 * Processing order (Learn, multiple-site-overview, "Request Routing rules evaluation order", and
 * configuration-listeners, "Order of processing listeners"): on v2, rules by priority, 1 first ("If
 * incoming client traffic matches with multiple listeners, the request routing rule with highest
 * priority is used"), so a basic listener whose rule comes first takes every name on its port ("If a
 * basic listener is listed first and matches an incoming request, it gets processed by that
 * listener") and a wildcard listener before an exact one takes that name too. configuration-listeners
 * (ms.date 07/19/2023): "For the v2 SKU, rule priority defines the order in which listeners are
 * processed. Wildcard and basic listeners should be defined a priority with a number greater than
 * site-specific and multi-site listeners." (an older text had multi-site listeners processed before
 * basic ones "unless rule priority is defined", which a v2 PUT since 2021-08-01 always has, see
 * armValidation.ts); on v1, rules in the order they are listed. A listener no rule uses serves
 * nothing (the stricter reading: an inactive listener is not matched, unverified for TLS).
 */
export function listenerFor(gateway: GatewayResource, port: number, hostname: string): Listener | undefined {
  const props = gateway.properties;
  const candidates = props.requestRoutingRules
    .map((rule, index) => ({ rule, index, listener: childById(props.httpListeners, rule.properties.httpListener?.id) }))
    .filter((c): c is typeof c & { listener: Listener } => !!c.listener && childById(props.frontendPorts, c.listener.properties.frontendPort?.id)?.properties.port === port);
  const isV2 = /_v2$/i.test(props.sku.name) || /^basic$/i.test(props.sku.name);
  const prioritised = candidates.every((c) => c.rule.properties.priority !== undefined);
  const rank = (c: (typeof candidates)[number]): number[] => {
    if (prioritised) return [c.rule.properties.priority as number, c.index];
    if (isV2) return [listenerHostNames(c.listener).length === 0 ? 1 : 0, c.index];
    return [c.index];
  };
  const ordered = [...candidates].sort((a, b) => {
    const [x, y] = [rank(a), rank(b)];
    return x[0] - y[0] || (x[1] ?? 0) - (y[1] ?? 0);
  });
  const matches = (listener: Listener): boolean => {
    const names = listenerHostNames(listener);
    return names.length === 0 || names.some((pattern) => hostNameMatches(pattern, hostname));
  };
  return ordered.find((c) => matches(c.listener))?.listener;
}

/** A secret id without a version segment: https://vault/secrets/name (trailing slash allowed, key-vault-certs.md). */
export function isVersionless(secretId: string): boolean {
  try {
    return /^\/secrets\/[^/]+\/?$/.test(new URL(secretId).pathname);
  } catch {
    return false;
  }
}

const keyVaultCertificates = (gateway: GatewayResource): { name: string; secretId: string }[] =>
  (gateway.properties.sslCertificates ?? [])
    .filter((c) => !!c.properties.keyVaultSecretId)
    .map((c) => ({ name: c.name.toLowerCase(), secretId: c.properties.keyVaultSecretId as string }));

export async function startGatewayDataPlane(options: DataPlaneOptions): Promise<GatewayDataPlane> {
  const loaded = new Map<string, LoadedCertificate>();
  let work: Promise<void> = Promise.resolve();
  const serially = (task: () => Promise<void>): Promise<void> => {
    work = work.then(task).catch(() => undefined);
    return work;
  };

  /** One read of a secret as the gateway's identity makes it; undefined when the read failed transiently. */
  const load = async (secretId: string): Promise<LoadedCertificate | undefined> => {
    options.counters?.increment('gateway', 'keyvault.read');
    if (options.faults?.take('gateway', 'KEYVAULT', secretId)) {
      // Learn, application-gateway-key-vault-common-errors.md: the identity lacks the Get permission on secrets.
      return { secretId, error: 'UserAssignedIdentityDoesNotHaveGetPermissionOnKeyVault' };
    }
    let answer: Awaited<ReturnType<DataPlaneOptions['resolveSecret']>>;
    try {
      answer = await options.resolveSecret(secretId);
    } catch {
      return undefined;
    }
    if (answer && 'refused' in answer) return { secretId, error: answer.refused };
    const secret = answer;
    // SecretDisabled and SecretDeletedFromKeyVault alike (common-errors.md): the emulator's resolve tells them apart no further.
    if (!secret) return { secretId, error: 'SecretNotFoundOrDisabled' };
    try {
      if (secret.contentType === PKCS12) return { secretId, context: tls.createSecureContext({ pfx: Buffer.from(secret.pfxBase64, 'base64') }) };
      if (secret.contentType === PEM) return { secretId, context: tls.createSecureContext({ key: secret.pfxBase64, cert: secret.pfxBase64 }) };
    } catch {
      return { secretId, error: 'InvalidCertificate' };
    }
    // "Secret is not in expected format. Its content type must be either 'application/x-pkcs12' or 'application/x-pem-file'" (troubleshooting article, Symptoms).
    return { secretId, error: 'SecretContentTypeNotSupported' };
  };

  const remember = (name: string, result: LoadedCertificate | undefined): void => {
    if (result) loaded.set(name, result);
  };

  const applyConfiguration = async (gateway: GatewayResource): Promise<void> => {
    const configured = keyVaultCertificates(gateway);
    for (const name of [...loaded.keys()]) if (!configured.some((c) => c.name === name)) loaded.delete(name);
    // Taken on every apply, as the gateway would keep what it holds through this one update.
    const skipReloads = !!options.faults?.take('gateway', 'REFRESH', '/sslCertificates');
    for (const certificate of configured) {
      const held = loaded.get(certificate.name);
      if (held?.secretId === certificate.secretId) continue;
      if (held && skipReloads) continue;
      remember(certificate.name, await load(certificate.secretId));
    }
  };

  const pollKeyVault = (): Promise<void> =>
    serially(async () => {
      for (const certificate of keyVaultCertificates(options.getGateway())) {
        const held = loaded.get(certificate.name);
        if (!held) remember(certificate.name, await load(certificate.secretId));
        else if (isVersionless(held.secretId) || !held.context) remember(certificate.name, await load(held.secretId));
      }
    });

  void serially(() => applyConfiguration(options.getGateway()));
  options.onApplied((gateway) => {
    void serially(() => applyConfiguration(gateway));
  });
  const pollTimer = setInterval(() => void pollKeyVault(), options.keyVaultPollIntervalMs ?? KEY_VAULT_POLL_INTERVAL_MS);
  pollTimer.unref();

  const certificateOf = (gateway: GatewayResource, listener: Listener): { name: string; secretId?: string } | undefined => {
    const certificate = childById(gateway.properties.sslCertificates, listener.properties.sslCertificate?.id);
    return certificate && { name: certificate.name.toLowerCase(), secretId: certificate.properties.keyVaultSecretId };
  };

  const listenerStates = (): Record<string, ListenerState> => {
    const gateway = options.getGateway();
    const states: Record<string, ListenerState> = {};
    for (const listener of gateway.properties.httpListeners) {
      const certificate = listener.properties.protocol.toLowerCase() === 'https' ? certificateOf(gateway, listener) : undefined;
      states[listener.name] = certificate?.secretId && !loaded.get(certificate.name)?.context ? 'disabled' : 'enabled';
    }
    return states;
  };

  const httpServer = http.createServer((request, response) => {
    void (async () => {
      const host = (request.headers.host ?? '').replace(/:\d+$/, '');
      const path = new URL(request.url ?? '/', 'http://gateway').pathname;
      options.counters?.increment('gateway', 'http.request');
      const fault = options.faults?.take('gateway', request.method ?? 'GET', path);
      if (fault?.delayMs) await delay(fault.delayMs);
      if (fault?.status) {
        response.writeHead(fault.status, { 'content-type': 'text/plain' });
        return response.end(fault.message ?? '');
      }
      const reply = await routeHttp(options.getGateway(), host, path, options.backendCa);
      response.writeHead(reply.status, { 'content-type': reply.contentType });
      response.end(reply.body);
    })().catch(() => {
      response.writeHead(502, { 'content-type': 'text/plain' });
      response.end('502 Bad Gateway');
    });
  });

  const refuseName = tls.createSecureContext({});
  const httpsServer = https.createServer(
    {
      SNICallback: (servername, callback) => {
        options.counters?.increment('gateway', 'https.handshake');
        // A `gateway` fault matching "HANDSHAKE" refuses the TLS handshake (a frontend the caller cannot reach).
        if (options.faults?.take('gateway', 'HANDSHAKE', servername)) return callback(new Error('handshake refused (sandbox fault)'));
        void work.then(() => {
          const gateway = options.getGateway();
          const listener = listenerFor(gateway, 443, servername);
          const certificate = listener && listener.properties.protocol.toLowerCase() === 'https' ? certificateOf(gateway, listener) : undefined;
          // No listener for the name, or a disabled one: the handshake ends with a TLS alert (the
          // service sends unrecognized_name, disabled-listeners.md; Node's SNI callback cannot pick
          // the alert, so a context without a certificate makes OpenSSL send handshake_failure).
          if (!listener || !certificate?.secretId) return callback(null, refuseName);
          const held = loaded.get(certificate.name);
          if (!held?.context) return callback(null, refuseName);
          callback(null, held.context);
        });
      },
    },
    (request, response) => {
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.end(`appgw-certbot sandbox backend for ${request.headers.host ?? ''}\n`);
    },
  );

  await Promise.all([
    new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve)),
    new Promise<void>((resolve) => httpsServer.listen(0, '127.0.0.1', resolve)),
  ]);
  const httpPort = (httpServer.address() as AddressInfo).port;
  const httpsPort = (httpsServer.address() as AddressInfo).port;
  return {
    httpPort,
    httpsPort,
    httpUrl: `http://127.0.0.1:${httpPort}`,
    httpsUrl: `https://127.0.0.1:${httpsPort}`,
    pollKeyVault,
    listenerStates,
    settled: () => work,
    stop: async () => {
      clearInterval(pollTimer);
      for (const server of [httpServer, httpsServer]) server.closeAllConnections();
      await Promise.all([httpServer, httpsServer].map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
    },
  };
}

interface Reply {
  status: number;
  contentType: string;
  body: string | Buffer;
}

/** Listener -> rule -> (path map) -> backend, as the gateway routes an HTTP request. */
async function routeHttp(gateway: GatewayResource, host: string, path: string, backendCa: string): Promise<Reply> {
  const props = gateway.properties;
  const listener = listenerFor(gateway, 80, host);
  const rule = listener && props.requestRoutingRules.find((r) => r.properties.httpListener?.id.toLowerCase() === listener.id?.toLowerCase());
  if (!listener || !rule) return { status: 404, contentType: 'text/plain', body: '404 Not Found' };
  let pool = childById(props.backendAddressPools, rule.properties.backendAddressPool?.id);
  let settings = childById(props.backendHttpSettingsCollection, rule.properties.backendHttpSettings?.id);
  let remainder = path;
  const pathMap = childById(props.urlPathMaps, rule.properties.urlPathMap?.id);
  if (pathMap) {
    pool = childById(props.backendAddressPools, pathMap.properties.defaultBackendAddressPool?.id);
    settings = childById(props.backendHttpSettingsCollection, pathMap.properties.defaultBackendHttpSettings?.id);
    for (const pathRule of pathMap.properties.pathRules) {
      const matched = pathRule.properties.paths.find((p) => (p.endsWith('/*') ? path.startsWith(p.slice(0, -1)) : path === p));
      if (matched) {
        pool = childById(props.backendAddressPools, pathRule.properties.backendAddressPool?.id);
        settings = childById(props.backendHttpSettingsCollection, pathRule.properties.backendHttpSettings?.id);
        // With a path override the gateway sends override + what the wildcard matched.
        remainder = matched.endsWith('/*') ? path.slice(matched.length - 1) : '';
        break;
      }
    }
  }
  const address = pool?.properties.backendAddresses?.[0];
  if (!settings || !address || settings.properties.protocol.toLowerCase() !== 'https') {
    // The app's own backend (not emulated): a home page, and 404 for anything else.
    return path === '/'
      ? { status: 200, contentType: 'text/plain', body: `appgw-certbot sandbox backend for ${host}\n` }
      : { status: 404, contentType: 'text/plain', body: '404 Not Found' };
  }
  const target = `https://${address.ipAddress ?? address.fqdn}:${settings.properties.port}${settings.properties.path ? settings.properties.path + remainder : path}`;
  return new Promise((resolve, reject) => {
    https
      .get(target, { ca: backendCa }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 502, contentType: response.headers['content-type'] ?? 'application/octet-stream', body: Buffer.concat(chunks) }),
        );
      })
      .on('error', reject);
  });
}

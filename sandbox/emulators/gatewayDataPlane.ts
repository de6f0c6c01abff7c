import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import { AddressInfo } from 'node:net';
import { Counters, delay, FaultInjector } from '../faults';
import { childById, GatewayResource } from './gatewayModel';

/**
 * The emulated gateway's data plane: it serves what the gateway's current configuration says.
 * HTTP (the port Pebble validates HTTP-01 on) follows listeners, rules and path maps; the
 * `/.well-known/acme-challenge/*` path rule forwards to the challenge container through the
 * backend settings' path override (https://learn.microsoft.com/azure/application-gateway/
 * configuration-http-settings#override-backend-path). HTTPS answers SNI with the certificate of the
 * matching HTTPS listener, read through its keyVaultSecretId (versionless: the latest version);
 * like the service, it re-reads Key Vault whenever the configuration is applied again.
 */
export interface DataPlaneOptions {
  getGateway(): GatewayResource;
  onApplied(listener: (gateway: GatewayResource) => void): void;
  resolveSecret(secretId: string): Promise<{ pfxBase64: string } | undefined>;
  /** CA that signed the blob endpoint's TLS certificate. */
  backendCa: string;
  faults?: FaultInjector;
  counters?: Counters;
}

export interface GatewayDataPlane {
  httpPort: number;
  httpsPort: number;
  httpUrl: string;
  httpsUrl: string;
  stop(): Promise<void>;
}

type Listener = GatewayResource['properties']['httpListeners'][number];

function listenerFor(gateway: GatewayResource, port: number, hostname: string): Listener | undefined {
  const props = gateway.properties;
  const onPort = props.httpListeners.filter((l) => childById(props.frontendPorts, l.properties.frontendPort?.id)?.properties.port === port);
  const names = (l: Listener): string[] => [l.properties.hostName, ...(l.properties.hostNames ?? [])].filter((h): h is string => !!h).map((h) => h.toLowerCase());
  // Multi-site listeners first, then the basic one (https://learn.microsoft.com/azure/application-gateway/multiple-site-overview).
  return onPort.find((l) => names(l).includes(hostname.toLowerCase())) ?? onPort.find((l) => names(l).length === 0);
}

export async function startGatewayDataPlane(options: DataPlaneOptions): Promise<GatewayDataPlane> {
  const contexts = new Map<string, Promise<tls.SecureContext | undefined>>();
  options.onApplied(() => {
    // An armed `gateway` fault matching "REFRESH" keeps the certificates already loaded, as a
    // gateway instance that has not re-read Key Vault yet would: the app's live check must notice.
    if (options.faults?.take('gateway', 'REFRESH', '/sslCertificates')) return;
    contexts.clear();
  });

  const secureContextFor = (secretId: string): Promise<tls.SecureContext | undefined> => {
    let context = contexts.get(secretId);
    if (!context) {
      // The gateway reads the PFX Key Vault serves (password-less); OpenSSL loads RSA and EC alike.
      context = options.resolveSecret(secretId).then((secret) => (secret ? tls.createSecureContext({ pfx: Buffer.from(secret.pfxBase64, 'base64') }) : undefined));
      contexts.set(secretId, context);
      context.catch(() => contexts.delete(secretId));
    }
    return context;
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

  const httpsServer = https.createServer(
    {
      SNICallback: (servername, callback) => {
        options.counters?.increment('gateway', 'https.handshake');
        // A `gateway` fault matching "HANDSHAKE" refuses the TLS handshake (a frontend the caller cannot reach).
        if (options.faults?.take('gateway', 'HANDSHAKE', servername)) return callback(new Error('handshake refused (sandbox fault)'));
        const listener = listenerFor(options.getGateway(), 443, servername);
        const gateway = options.getGateway();
        const certificate = childById(gateway.properties.sslCertificates, listener?.properties.sslCertificate?.id);
        const secretId = certificate?.properties.keyVaultSecretId;
        if (!listener || listener.properties.protocol.toLowerCase() !== 'https' || !secretId) {
          return callback(new Error(`no HTTPS listener for ${servername}`));
        }
        secureContextFor(secretId).then(
          (context) => (context ? callback(null, context) : callback(new Error(`secret ${secretId} not found`))),
          (error: Error) => callback(error),
        );
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
    stop: async () => {
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

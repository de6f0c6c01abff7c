import https from 'node:https';
import { AddressInfo } from 'node:net';
import { Counters, delay, FaultInjector } from '../faults';
import { SandboxCa } from '../tls/ca';

/**
 * An HTTPS reverse proxy in front of Pebble's ACME API: counts requests by ACME resource, injects
 * faults as RFC 8555 problem documents (section 6.7, with a fresh Replay-Nonce and Retry-After),
 * and rewrites Pebble's URLs so clients only see the proxy. Its directory is the app's AcmeEndpoint.
 * The place to add what Pebble 2.4 lacks (ARI renewalInfo, Retry-After on orders).
 */
const RESOURCE_BY_PATH: [RegExp, string][] = [
  [/^\/dir$/, 'directory'],
  [/^\/nonce-plz$/, 'newNonce'],
  [/^\/sign-me-up$/, 'newAccount'],
  [/^\/order-plz$/, 'newOrder'],
  [/^\/my-order\//, 'order'],
  [/^\/authZ\//, 'authz'],
  [/^\/chalZ\//, 'challenge'],
  [/^\/finalize-order\//, 'finalize'],
  [/^\/certZ\//, 'certificate'],
  [/^\/revoke-cert$/, 'revokeCert'],
  [/^\/rollover-account-key$/, 'keyChange'],
  [/^\/my-account\//, 'account'],
];

export function acmeResource(path: string): string {
  return RESOURCE_BY_PATH.find(([pattern]) => pattern.test(path))?.[1] ?? 'other';
}

export interface AcmeProxy {
  directoryUrl: string;
  stop(): Promise<void>;
}

export async function startAcmeProxy(options: {
  ca: SandboxCa;
  upstreamDirectoryUrl: string;
  faults?: FaultInjector;
  counters?: Counters;
}): Promise<AcmeProxy> {
  const upstream = new URL(options.upstreamDirectoryUrl);
  const agent = new https.Agent({ ca: options.ca.certPem, keepAlive: true });
  let origin = '';
  const rewrite = (text: string): string => text.split(upstream.origin).join(origin);

  const forward = (method: string, path: string, headers: Record<string, string>, body: Buffer) =>
    new Promise<{ status: number; headers: Record<string, string | string[]>; body: Buffer }>((resolve, reject) => {
      const request = https.request(new URL(path, upstream.origin), { method, headers, agent }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 502, headers: response.headers as Record<string, string | string[]>, body: Buffer.concat(chunks) }),
        );
      });
      request.on('error', reject);
      request.end(body);
    });

  const leaf = options.ca.issueServerCert(['localhost', '127.0.0.1']);
  const server = https.createServer({ key: leaf.keyPem, cert: leaf.certPem }, (req, res) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const path = req.url ?? '/';
      const resource = acmeResource(new URL(path, origin).pathname);
      const method = req.method ?? 'GET';
      options.counters?.increment('acme', resource);
      const fault = options.faults?.take('acme', method, path);
      if (fault?.delayMs) await delay(fault.delayMs);
      if (fault?.status) {
        const nonce = await forward('HEAD', '/nonce-plz', {}, Buffer.alloc(0));
        const headers: Record<string, string> = { 'content-type': 'application/problem+json' };
        const replayNonce = nonce.headers['replay-nonce'];
        if (typeof replayNonce === 'string') headers['replay-nonce'] = replayNonce;
        if (fault.retryAfterSeconds !== undefined) headers['retry-after'] = String(fault.retryAfterSeconds);
        res.writeHead(fault.status, headers);
        return res.end(
          JSON.stringify({ type: `urn:ietf:params:acme:error:${fault.code ?? 'serverInternal'}`, detail: fault.message ?? 'Fault injected by the sandbox.', status: fault.status }),
        );
      }
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        // The Host header goes through: Pebble builds its URLs and checks each JWS "url" from it.
        if (typeof value === 'string' && name !== 'connection') headers[name] = value;
      }
      const upstreamReply = await forward(method, path, headers, Buffer.concat(chunks));
      const replyHeaders: Record<string, string | string[]> = {};
      for (const [name, value] of Object.entries(upstreamReply.headers)) {
        if (['content-length', 'connection', 'transfer-encoding', 'keep-alive'].includes(name)) continue;
        replyHeaders[name] = Array.isArray(value) ? value.map(rewrite) : rewrite(String(value));
      }
      const contentType = String(upstreamReply.headers['content-type'] ?? '');
      const body = /json|pem-certificate-chain/.test(contentType) ? Buffer.from(rewrite(upstreamReply.body.toString('utf8'))) : upstreamReply.body;
      res.writeHead(upstreamReply.status, replyHeaders);
      res.end(body);
    })().catch((error: Error) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`ACME proxy error: ${error.message}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    directoryUrl: `${origin}${upstream.pathname}`,
    stop: () =>
      new Promise((resolve) => {
        agent.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

import https from 'node:https';
import { AddressInfo } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SandboxCa } from '../tls/ca';
import { Counters, delay, FaultInjector, ServiceName } from '../faults';

/** Shared plumbing for the HTTPS emulators: TLS from the sandbox CA, JSON, faults and counting. */
export interface EmulatorRequest {
  method: string;
  url: URL;
  path: string[];
  headers: IncomingMessage['headers'];
  body: unknown;
  rawBody: Buffer;
}

export interface EmulatorReply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type Handler = (request: EmulatorRequest) => Promise<EmulatorReply> | EmulatorReply;

export interface EmulatorServer {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export interface EmulatorOptions {
  ca: SandboxCa;
  service: ServiceName;
  faults?: FaultInjector;
  counters?: Counters;
  /** Names a request for the counters (e.g. "certificates.create"). */
  operation(request: EmulatorRequest): string;
  /** The body of an injected fault, in the service's own error format. */
  faultBody(code: string, message: string): unknown;
  port?: number;
}

export function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

/** Writes a JSON reply (status, headers, body) the way every emulator answers. */
export function send(response: ServerResponse, reply: EmulatorReply): void {
  const headers: Record<string, string> = { ...(reply.headers ?? {}) };
  let payload: string | undefined;
  if (reply.body !== undefined) {
    payload = JSON.stringify(reply.body);
    headers['content-type'] = 'application/json; charset=utf-8';
  }
  response.writeHead(reply.status, headers);
  response.end(payload);
}

export async function startHttpsEmulator(options: EmulatorOptions, handler: Handler): Promise<EmulatorServer> {
  const leaf = options.ca.issueServerCert(['localhost', '127.0.0.1']);
  const server = https.createServer({ key: leaf.keyPem, cert: leaf.certPem }, (req, res) => {
    void (async () => {
      const rawBody = await readBody(req);
      const url = new URL(req.url ?? '/', 'https://emulator');
      let body: unknown;
      try {
        body = rawBody.length ? JSON.parse(rawBody.toString('utf8')) : undefined;
      } catch {
        return send(res, { status: 400, body: options.faultBody('BadRequest', 'The request body is not valid JSON.') });
      }
      const request: EmulatorRequest = {
        method: (req.method ?? 'GET').toUpperCase(),
        url,
        path: url.pathname.split('/').filter(Boolean).map(decodeURIComponent),
        headers: req.headers,
        body,
        rawBody,
      };
      const fault = options.faults?.take(options.service, request.method, url.pathname);
      if (fault?.delayMs) await delay(fault.delayMs);
      if (fault?.status) {
        options.counters?.increment(options.service, `${options.operation(request)}.fault`);
        const headers: Record<string, string> = {};
        if (fault.retryAfterSeconds !== undefined) headers['retry-after'] = String(fault.retryAfterSeconds);
        return send(res, { status: fault.status, headers, body: options.faultBody(fault.code ?? 'InjectedFault', fault.message ?? 'Fault injected by the sandbox.') });
      }
      options.counters?.increment(options.service, options.operation(request));
      send(res, await handler(request));
    })().catch((error: Error) => {
      if (!res.headersSent) send(res, { status: 500, body: options.faultBody('InternalError', error.message) });
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

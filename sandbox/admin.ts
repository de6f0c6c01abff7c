import http from 'node:http';
import { AddressInfo } from 'node:net';
import { Counters, FaultInjector, FaultSpec, ServiceName } from './faults';

/**
 * The sandbox's admin endpoint (loopback only):
 *   POST   /faults    {service, status?, code?, message?, retryAfterSeconds?, delayMs?, count, match?}
 *   DELETE /faults    clears every armed fault
 *   GET    /counters  per-service request counters; DELETE /counters resets them
 *   any other path is passed to `extra` (DNS changes, gateway tweaks) when given.
 */
const SERVICES: ServiceName[] = ['keyvault', 'arm', 'acme', 'blob', 'gateway'];

export type AdminRoute = (method: string, path: string, body: unknown) => Promise<unknown | undefined>;

function readJson(request: http.IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let text = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (text += chunk));
    request.on('end', () => {
      try {
        resolve(text ? JSON.parse(text) : undefined);
      } catch {
        reject(new Error('body is not valid JSON'));
      }
    });
    request.on('error', reject);
  });
}

function validFault(body: unknown): FaultSpec {
  const spec = body as Partial<FaultSpec> | undefined;
  if (!spec || !SERVICES.includes(spec.service as ServiceName)) {
    throw new Error(`service must be one of ${SERVICES.join(', ')}`);
  }
  if (!Number.isInteger(spec.count) || (spec.count as number) < 1) throw new Error('count must be a positive integer');
  if (spec.status !== undefined && (!Number.isInteger(spec.status) || spec.status < 100 || spec.status > 599)) {
    throw new Error('status must be an HTTP status code');
  }
  return spec as FaultSpec;
}

export async function startAdminServer(
  faults: FaultInjector,
  counters: Counters,
  extra?: AdminRoute,
): Promise<{ url: string; stop(): Promise<void> }> {
  const server = http.createServer(async (request, response) => {
    const send = (status: number, body?: unknown): void => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(body === undefined ? '' : JSON.stringify(body));
    };
    try {
      const path = new URL(request.url ?? '/', 'http://admin').pathname;
      const method = request.method ?? 'GET';
      const body = await readJson(request);
      if (path === '/faults' && method === 'POST') {
        faults.arm(validFault(body));
        return send(201, { armed: true });
      }
      if (path === '/faults' && method === 'DELETE') {
        faults.clear();
        return send(204);
      }
      if (path === '/counters' && method === 'GET') return send(200, counters.snapshot());
      if (path === '/counters' && method === 'DELETE') {
        counters.reset();
        return send(204);
      }
      const answer = extra ? await extra(method, path, body) : undefined;
      if (answer !== undefined) return send(200, answer);
      send(404, { error: `no admin route ${method} ${path}` });
    } catch (error) {
      send(400, { error: (error as Error).message });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

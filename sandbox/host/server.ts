import http from 'node:http';
import { AddressInfo } from 'node:net';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { FunctionRegistry, RegisteredFunction } from './functionsCore';
import { fromTypedData, invoke, jsonData, LogSink, RpcHttp, RpcHttpResponse } from './invoke';
import { ArgumentError, ConflictError, DurableRuntime, GoneError, NotFoundError } from './runtime';
import { statusBody } from './statusBody';
import { EasyAuth } from './easyAuth';
import { InstanceState, TERMINAL, RuntimeStatus } from './store';

/**
 * The HTTP surface of `func start` on one port: the app's HTTP triggers under /api (auth level
 * enforced with function keys), the Durable extension's webhook API under
 * /runtime/webhooks/durabletask (what statusQueryGetUri and friends point at; system key
 * required), the client RPC API under /durabletask/ (what `df.getClient` calls through
 * `rpcBaseUrl`, loopback only like the real worker channel), and POST /admin/functions/{name}.
 */
export interface HostKeys {
  functionKey: string;
  masterKey: string;
}

export const newKey = (): string => randomBytes(24).toString('base64url');

const WEBHOOKS = '/runtime/webhooks/durabletask';
const RPC = '/durabletask';

interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

const json = (status: number, value: unknown, headers: Record<string, string> = {}): Reply => ({
  status,
  headers: { 'Content-Type': 'application/json; charset=utf-8', ...headers },
  body: JSON.stringify(value),
});

const sameKey = (given: string | null | undefined, expected: string): boolean => {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
};

export class HostServer {
  private server?: http.Server;
  port = 0;
  private readonly easyAuth = EasyAuth.fromEnvironment(process.env);

  constructor(
    private readonly registry: FunctionRegistry,
    private readonly runtime: DurableRuntime,
    private readonly keys: HostKeys,
    private readonly hubName: string,
    private readonly log: LogSink,
  ) {}

  get origin(): string {
    return `http://localhost:${this.port}`;
  }

  async listen(port: number, host = '127.0.0.1'): Promise<number> {
    this.server = http.createServer((request, response) => {
      void this.handle(request)
        .catch((error: Error) => {
          this.log('host', 'error', `Unhandled error for ${request.method} ${request.url?.split('?')[0]}: ${error.message}`);
          return json(500, { error: 'Internal server error' });
        })
        .then((reply) => {
          response.writeHead(reply.status, reply.headers);
          response.end(reply.body);
        });
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, host, resolve);
    });
    this.port = (this.server.address() as AddressInfo).port;
    return this.port;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server) return resolve();
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }

  private async handle(request: http.IncomingMessage): Promise<Reply> {
    // The request's own origin (Host header), as the real host sees it: status links follow it.
    const url = new URL(request.url ?? '/', `http://${request.headers.host ?? `localhost:${this.port}`}`);
    const method = (request.method ?? 'GET').toUpperCase();
    const body = await readBody(request);
    // App Service Authentication in front of the app when the sandbox turns it on (easyAuth.ts).
    if (this.easyAuth) {
      const gate = this.easyAuth.gate(url.pathname, method, request.headers, url.host);
      if (gate.reply) return gate.reply;
      request.headers = gate.headers;
    }
    const key = url.searchParams.get('code') ?? (request.headers['x-functions-key'] as string | undefined);
    const isMaster = sameKey(key, this.keys.masterKey);
    const isFunction = isMaster || sameKey(key, this.keys.functionKey);

    if (url.pathname.startsWith('/api/')) return this.httpTrigger(request, url, method, body, isFunction, isMaster);
    if (url.pathname.startsWith(`${WEBHOOKS}/`)) {
      if (!isFunction) return json(401, { error: 'A valid key (code query parameter or x-functions-key header) is required.' });
      return this.durableApi(url.pathname.slice(WEBHOOKS.length + 1), url, method, body);
    }
    if (url.pathname.startsWith(`${RPC}/`)) return this.durableApi(url.pathname.slice(RPC.length + 1), url, method, body);
    if (url.pathname.startsWith('/admin/functions/') && method === 'POST') {
      if (!isMaster) return json(401, { error: 'The master key is required.' });
      return this.runNonHttpFunction(decodeURIComponent(url.pathname.slice('/admin/functions/'.length)), body);
    }
    if (url.pathname === '/admin/host/status') return json(200, { state: 'Running', functions: [...this.registry.functions.values()].map((f) => f.metadata.name) });
    return json(404, { error: 'Not found' });
  }

  // ---- HTTP triggers ---------------------------------------------------------------------------

  private findHttpFunction(path: string, method: string): { fn: RegisteredFunction; params: Record<string, string> } | undefined {
    for (const fn of this.registry.byTriggerType('httpTrigger')) {
      const route = String(fn.trigger.route ?? fn.metadata.name);
      const params = matchRoute(route, path);
      const methods = (fn.trigger.methods as string[] | undefined)?.map((m) => m.toUpperCase());
      if (params && (!methods || methods.includes(method))) return { fn, params };
    }
    return undefined;
  }

  private async httpTrigger(
    request: http.IncomingMessage,
    url: URL,
    method: string,
    body: Buffer,
    isFunction: boolean,
    isMaster: boolean,
  ): Promise<Reply> {
    const found = this.findHttpFunction(url.pathname.slice('/api/'.length), method);
    if (!found) return { status: 404 };
    const authLevel = String(found.fn.trigger.authLevel ?? 'function').toLowerCase();
    if ((authLevel === 'function' && !isFunction) || (authLevel === 'admin' && !isMaster)) return { status: 401 };

    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) {
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    const rpc: RpcHttp = {
      method,
      url: url.href,
      headers,
      query: Object.fromEntries(url.searchParams),
      params: found.params,
      body: body.length ? { bytes: body } : undefined,
    };
    const returned = (await invoke({
      fn: found.fn,
      trigger: { http: rpc },
      extraInputs: { durableClient: jsonData(this.clientBindingData()) },
      log: this.log,
    })) as { http?: RpcHttpResponse } | undefined;
    const response = returned?.http ?? {};
    const responseHeaders: Record<string, string> = { ...(response.headers ?? {}) };
    let responseBody: Buffer | undefined;
    if (response.body?.bytes) responseBody = Buffer.from(response.body.bytes);
    else if (typeof response.body?.string === 'string') responseBody = Buffer.from(response.body.string);
    return { status: Number(response.statusCode ?? 200), headers: responseHeaders, body: responseBody };
  }

  /** The durableClient binding data the extension hands to client functions. */
  clientBindingData(): Record<string, unknown> {
    const base = `${this.origin}${WEBHOOKS}`;
    const common = `taskHub=${this.hubName}&connection=Storage&code=${this.keys.functionKey}`;
    return {
      taskHubName: this.hubName,
      creationUrls: {
        createNewInstancePostUri: `${base}/orchestrators/{functionName}[/{instanceId}]?code=${this.keys.functionKey}`,
        createAndWaitOnNewInstancePostUri: `${base}/orchestrators/{functionName}[/{instanceId}]?timeout={timeoutInSeconds}&pollingInterval={intervalInSeconds}&code=${this.keys.functionKey}`,
      },
      managementUrls: {
        id: 'INSTANCEID',
        // As the extension builds them (HttpApiHandler.GetClientResponseLinks): no
        // returnInternalServerErrorOnFailure, which only a caller adds.
        statusQueryGetUri: `${base}/instances/INSTANCEID?${common}`,
        sendEventPostUri: `${base}/instances/INSTANCEID/raiseEvent/{eventName}?${common}`,
        terminatePostUri: `${base}/instances/INSTANCEID/terminate?reason={text}&${common}`,
        rewindPostUri: `${base}/instances/INSTANCEID/rewind?reason={text}&${common}`,
        purgeHistoryDeleteUri: `${base}/instances/INSTANCEID?${common}`,
        restartPostUri: `${base}/instances/INSTANCEID/restart?${common}`,
        suspendPostUri: `${base}/instances/INSTANCEID/suspend?reason={text}&${common}`,
        resumePostUri: `${base}/instances/INSTANCEID/resume?reason={text}&${common}`,
      },
      baseUrl: base,
      requiredQueryStringParameters: `code=${this.keys.functionKey}`,
      rpcBaseUrl: `http://127.0.0.1:${this.port}${RPC}/`,
    };
  }

  // ---- Durable HTTP API ------------------------------------------------------------------------

  private async durableApi(path: string, url: URL, method: string, body: Buffer): Promise<Reply> {
    const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
    const text = body.toString('utf8');
    const input = text ? JSON.parse(text) : undefined;
    try {
      if (parts[0] === 'orchestrators' && method === 'POST' && parts.length >= 2) {
        const instanceId = parts[2] ?? randomBytes(16).toString('hex');
        const instance = this.runtime.startNew(parts[1], instanceId, input);
        const payload = this.managementPayload(instance.instanceId);
        // HttpApiHandler.HandleStartOrchestratorRequest: CreateCheckStatusResponse (202, Retry-After 10 s).
        return json(202, payload, { Location: payload.statusQueryGetUri, 'Retry-After': '10' });
      }
      if (parts[0] === 'instances' && parts.length === 1 && method === 'GET') return this.list(url);
      if (parts[0] === 'instances' && parts.length === 1 && method === 'DELETE') return this.purgeBy(url);
      if (parts[0] !== 'instances' || parts.length < 2) return json(404, { error: 'Not found' });
      const instanceId = parts[1];
      if (parts.length === 2 && method === 'GET') return this.status(instanceId, url);
      if (parts.length === 2 && method === 'DELETE') {
        const deleted = this.runtime.purge(instanceId);
        return deleted ? json(200, { instancesDeleted: deleted }) : json(404, { instancesDeleted: 0 });
      }
      if (parts[2] === 'raiseEvent' && parts[3] && method === 'POST') {
        this.runtime.raiseEvent(instanceId, parts[3], input);
        return { status: 202 };
      }
      if (parts[2] === 'terminate' && method === 'POST') {
        this.runtime.terminate(instanceId, url.searchParams.get('reason') ?? '');
        return { status: 202 };
      }
      return json(404, { error: 'Not found' });
    } catch (error) {
      // HttpApiHandler.HandleRequestAsync: an ArgumentException is 400, anything else 500 (a start
      // over an unfinished instance's OrchestrationAlreadyExistsException included).
      if (error instanceof ArgumentError) return json(400, { Message: 'One or more of the arguments submitted is incorrect', ExceptionMessage: error.message, ExceptionType: 'System.ArgumentException' });
      if (error instanceof ConflictError) {
        return json(500, {
          Message: 'Something went wrong while processing your request',
          ExceptionMessage: error.message,
          ExceptionType: 'DurableTask.Core.Exceptions.OrchestrationAlreadyExistsException',
        });
      }
      if (error instanceof NotFoundError) return json(404, { Message: error.message });
      if (error instanceof GoneError) return json(410, { Message: error.message });
      if (error instanceof SyntaxError) return json(400, { Message: 'Invalid JSON content' });
      throw error;
    }
  }

  private managementPayload(instanceId: string): Record<string, string> {
    const urls = this.clientBindingData().managementUrls as Record<string, string>;
    const payload: Record<string, string> = { id: instanceId };
    // The links HttpApiHandler.CreateCheckStatusResponse returns (no rewind link there).
    for (const key of ['statusQueryGetUri', 'sendEventPostUri', 'terminatePostUri', 'purgeHistoryDeleteUri', 'restartPostUri', 'suspendPostUri', 'resumePostUri']) {
      payload[key] = urls[key].replace('INSTANCEID', encodeURIComponent(instanceId));
    }
    return payload;
  }

  private status(instanceId: string, url: URL): Reply {
    const instance = this.runtime.instances.get(instanceId);
    if (!instance) return { status: 404 };
    const flag = (name: string, fallback: boolean): boolean => (url.searchParams.get(name) ?? String(fallback)).toLowerCase() === 'true';
    const body = statusBody(instance, {
      showInput: flag('showInput', true),
      showHistory: flag('showHistory', false),
      showHistoryOutput: flag('showHistoryOutput', false),
    });
    // HttpApiHandler.HandleGetStatusRequestAsync: 202 with Location and Retry-After 5 s while unfinished.
    if (!TERMINAL.has(instance.status)) {
      return json(202, body, { Location: url.href, 'Retry-After': '5' });
    }
    if (instance.status === 'Failed' && flag('returnInternalServerErrorOnFailure', false)) return json(500, body);
    return json(200, body);
  }

  /** Purge by filter (createdTimeFrom/To, runtimeStatus): only finished instances are purged. */
  private purgeBy(url: URL): Reply {
    let deleted = 0;
    for (const instance of this.filtered(url)) deleted += this.runtime.purge(instance.instanceId);
    return deleted ? json(200, { instancesDeleted: deleted }) : json(404, { instancesDeleted: 0 });
  }

  private filtered(url: URL): InstanceState[] {
    const statuses = url.searchParams.getAll('runtimeStatus').flatMap((s) => s.split(',')).filter(Boolean) as RuntimeStatus[];
    const from = url.searchParams.get('createdTimeFrom');
    const to = url.searchParams.get('createdTimeTo');
    return [...this.runtime.instances.values()]
      .filter((i) => statuses.length === 0 || statuses.includes(i.status))
      .filter((i) => !from || i.createdTime >= new Date(from).toISOString())
      .filter((i) => !to || i.createdTime <= new Date(to).toISOString())
      .sort((a, b) => a.createdTime.localeCompare(b.createdTime));
  }

  private list(url: URL): Reply {
    const top = Number(url.searchParams.get('top') ?? '0');
    // The list (not the purge) takes an id prefix: InstanceIdPrefixParameter in the extension's HttpApiHandler.cs.
    const prefix = url.searchParams.get('instanceIdPrefix') ?? '';
    const bodies = this.filtered(url).filter((i) => i.instanceId.startsWith(prefix)).map((i) => statusBody(i, { showInput: true, showHistory: false, showHistoryOutput: false }));
    return json(200, top > 0 ? bodies.slice(0, top) : bodies);
  }

  private async runNonHttpFunction(name: string, body: Buffer): Promise<Reply> {
    const fn = this.registry.get(name);
    if (!fn || fn.trigger.type === 'httpTrigger') return json(404, { error: `No non-HTTP function named '${name}'.` });
    const input = body.length ? (JSON.parse(body.toString('utf8')) as { input?: unknown }).input : undefined;
    // A manual run is a check "now": like the real host's, it carries no schedule status.
    if (fn.trigger.type === 'timerTrigger') this.runTimer(fn, null);
    else this.runInBackground(fn, jsonData(input ?? null));
    return { status: 202 };
  }

  /** Runs a timer function with the TimerInfo the Functions host passes (PascalCase; the library camel-cases it). */
  runTimer(fn: RegisteredFunction, scheduleStatus: { Last: string; Next: string; LastUpdated: string } | null): void {
    this.runInBackground(fn, jsonData({ Schedule: { AdjustForDST: true }, ScheduleStatus: scheduleStatus, IsPastDue: false }));
  }

  private runInBackground(fn: RegisteredFunction, trigger: ReturnType<typeof jsonData>): void {
    void invoke({ fn, trigger, extraInputs: { durableClient: jsonData(this.clientBindingData()) }, log: this.log })
      .then(fromTypedData)
      .catch((error: Error) => this.log(fn.metadata.name, 'error', `Failed: ${error.message}`));
  }
}

function readBody(request: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

/**
 * A path segment as ASP.NET Core hands it to the Functions host's routing: percent-decoded once,
 * `%2F` kept encoded (it would split the path), and an invalid sequence left as it is
 * (UrlDecoder.DecodeRequestLine in Kestrel leaves a malformed escape unchanged).
 */
export function decodeSegment(segment: string): string {
  return segment.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
    try {
      return decodeURIComponent(run.replace(/%2F/gi, '%252F'));
    } catch {
      return run;
    }
  });
}

/** Function routes: literal segments and {name} / {name?} parameters, matched on the raw path. */
export function matchRoute(route: string, rawPath: string): Record<string, string> | undefined {
  const routeParts = route.split('/').filter(Boolean);
  const pathParts = rawPath.split('/').filter(Boolean).map(decodeSegment);
  const params: Record<string, string> = {};
  for (let i = 0; i < Math.max(routeParts.length, pathParts.length); i++) {
    const r = routeParts[i];
    const p = pathParts[i];
    if (r === undefined) return undefined;
    const param = /^\{(\w+)(\?)?(?::[^}]*)?\}$/.exec(r);
    if (param) {
      if (p === undefined) {
        if (!param[2]) return undefined;
        continue;
      }
      params[param[1]] = p;
    } else if (p === undefined || r.toLowerCase() !== p.toLowerCase()) {
      return undefined;
    }
  }
  return params;
}

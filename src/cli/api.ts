/**
 * The app's HTTP API as the CLI calls it: the function key as `x-functions-key`, a bearer token
 * for App Service Authentication, a time limit per request, and every answer that is not a success
 * turned into a CliError with its exit code (exitCodes.ts). Messages name the endpoint's origin
 * only, never a key, a token or a query string.
 */
import { CliError, ExitCode, exitCodeForStatus } from './exitCodes';

export interface Connection {
  endpoint: string;
  key?: string;
  token?: string;
  /** Per request (not the wait for an operation). */
  requestTimeoutMs: number;
}

export interface Answer {
  status: number;
  body: unknown;
}

/** A problem body's fields the CLI shows (RFC 9457, and the app's `errors`). */
interface ProblemBody {
  title?: unknown;
  detail?: unknown;
  errors?: unknown;
  instanceId?: unknown;
  holders?: unknown;
}

export class AppClient {
  private readonly base: URL;

  constructor(private readonly connection: Connection) {
    this.base = parseEndpoint(connection.endpoint);
  }

  /** The endpoint as messages show it: origin and path, no credentials, no query. */
  get where(): string {
    return `${this.base.origin}${this.base.pathname.replace(/\/$/, '')}`;
  }

  /** A request that must succeed (2xx); anything else throws a CliError. */
  async call(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<Answer> {
    const answer = await this.send(method, path, body);
    if (answer.status >= 200 && answer.status < 300) return answer;
    throw answerError(answer);
  }

  /** A request whose answer, whatever its status, comes back; only not reaching the app throws. */
  async send(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<Answer> {
    const url = new URL(`${this.base.pathname.replace(/\/$/, '')}${path}`, this.base.origin);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.connection.key) headers['x-functions-key'] = this.connection.key;
    if (this.connection.token) headers.authorization = `Bearer ${this.connection.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.connection.requestTimeoutMs),
      });
    } catch (error) {
      throw new CliError(ExitCode.Unreachable, `Cannot reach ${this.where}: ${networkReason(error, this.connection.requestTimeoutMs)}`);
    }
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      throw new CliError(ExitCode.Unreachable, `The answer from ${this.where} was cut off: ${networkReason(error, this.connection.requestTimeoutMs)}`);
    }
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // Not JSON (a proxy's error page): kept as text.
    }
    return { status: response.status, body: parsed };
  }
}

export function parseEndpoint(endpoint: string): URL {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new CliError(ExitCode.BadInput, 'The endpoint is not a URL; give the function app\'s address, like https://<app>.azurewebsites.net or http://localhost:7071.');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CliError(ExitCode.BadInput, 'The endpoint must be an http or https URL.');
  if (url.username || url.password || url.search) throw new CliError(ExitCode.BadInput, 'The endpoint must carry no user, password or query; give the key with --key or APPGW_CERTBOT_KEY.');
  // Given with or without the /api prefix, the CLI adds it itself.
  url.pathname = url.pathname.replace(/\/api\/?$/, '/');
  return url;
}

/** Why a request did not reach the app, in words (no URL: it may hold a query). */
function networkReason(error: unknown, timeoutMs: number): string {
  const name = (error as Error)?.name;
  if (name === 'TimeoutError' || name === 'AbortError') return `no answer within ${Math.round(timeoutMs / 1000)} s`;
  const cause = (error as { cause?: { code?: unknown; message?: unknown } })?.cause;
  if (typeof cause?.code === 'string') return cause.code;
  return typeof cause?.message === 'string' ? cause.message : ((error as Error)?.message ?? 'unknown error');
}

/** An answer that is not a success, as the CliError the CLI exits with. */
export function answerError(answer: Answer): CliError {
  const problem: ProblemBody = answer.body && typeof answer.body === 'object' ? (answer.body as ProblemBody) : {};
  const errors = Array.isArray(problem.errors)
    ? problem.errors.filter((e): e is { field: string; reason: string } => typeof e?.field === 'string' && typeof e?.reason === 'string')
    : undefined;
  const title = typeof problem.title === 'string' ? problem.title : undefined;
  const detail = typeof problem.detail === 'string' ? problem.detail : undefined;
  const message = `HTTP ${answer.status}${title ? ` ${title}` : ''}: ${detail ?? fallbackDetail(answer.status)}`;
  return new CliError(exitCodeForStatus(answer.status), message, { status: answer.status, title, errors, body: answer.body });
}

function fallbackDetail(status: number): string {
  if (status === 401 || status === 403) return 'the app refused the credentials; check --key / APPGW_CERTBOT_KEY (the function key) or --token / APPGW_CERTBOT_TOKEN.';
  if (status === 404) return 'not found (is the endpoint this app, and is it up to date?).';
  if (status === 429 || status === 503 || status === 504) return 'the app is temporarily unavailable; retry shortly.';
  return 'the app answered without details.';
}

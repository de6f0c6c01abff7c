import { execFileSync } from 'node:child_process';
import { AzureDeveloperCliCredential, TokenCredential } from '@azure/identity';

/** The few Resource Manager calls the azd hooks make, as the deployer (`azd auth login`). */
export interface ArmReply {
  status: number;
  body: Record<string, unknown>;
}

export interface Arm {
  get(path: string, apiVersion: string): Promise<ArmReply>;
  delete(path: string, apiVersion: string): Promise<ArmReply>;
}

/** The one fetch call the client makes (the global fetch in production). */
export type ArmFetch = (url: string, init: { method: string; headers: Record<string, string> }) => Promise<Response>;

export interface ArmClientOptions {
  /** The token scope (default `{endpoint}/.default`): a stand-in on another address still takes Azure's audience. */
  scope?: string;
  /** The HTTP client (default: the global fetch), e.g. one that trusts a local CA. */
  fetch?: ArmFetch;
}

export function armClient(
  endpoint = process.env.AZURE_RESOURCE_MANAGER_ENDPOINT || 'https://management.azure.com',
  credential: TokenCredential = new AzureDeveloperCliCredential(),
  options: ArmClientOptions = {},
): Arm {
  const send: ArmFetch = options.fetch ?? ((url, init) => fetch(url, init));
  const call = async (method: string, path: string, apiVersion: string): Promise<ArmReply> => {
    const token = await credential.getToken(options.scope ?? `${endpoint.replace(/\/+$/, '')}/.default`);
    if (!token) throw new Error('no token for Azure Resource Manager: run `azd auth login`');
    const url = `${endpoint.replace(/\/+$/, '')}${path}${path.includes('?') ? '&' : '?'}api-version=${apiVersion}`;
    const response = await send(url, { method, headers: { authorization: `Bearer ${token.token}` } });
    const text = await response.text();
    let body: Record<string, unknown> = {};
    try {
      body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      body = { raw: text.slice(0, 200) };
    }
    return { status: response.status, body };
  };
  return { get: (path, apiVersion) => call('GET', path, apiVersion), delete: (path, apiVersion) => call('DELETE', path, apiVersion) };
}

/** ARM's error code and message, for messages that say what happened. */
export function armError(reply: ArmReply): string {
  const error = reply.body.error as { code?: string; message?: string } | undefined;
  return error ? `${error.code ?? reply.status}: ${error.message ?? ''}` : `HTTP ${reply.status}`;
}

/** Sets values in the current azd environment (hooks run inside azd, which puts `azd` on the PATH). */
export function azdEnvSet(values: Record<string, string>): void {
  for (const [key, value] of Object.entries(values)) execFileSync('azd', ['env', 'set', key, value], { stdio: ['ignore', 'ignore', 'inherit'] });
}

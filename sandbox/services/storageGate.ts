import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { Counters, delay, FaultInjector } from '../faults';
import { readBody } from '../emulators/httpsServer';
import { readClaims } from '../identity/jwt';
import { blobOperation } from '../rbac/storage';
import type { Rbac } from '../rbac/rbac';
import { SandboxCa } from '../tls/ca';

/**
 * What Azure Storage decides before Azurite serves a blob request (Azurite stays the emulator of
 * the data itself; it checks a token's shape, not the caller's roles):
 *
 * - A request with a Microsoft Entra token needs the operation's RBAC action (sandbox/rbac/storage.ts)
 *   at the container or account. Refusal: 403 with x-ms-error-code AuthorizationPermissionMismatch and
 *   the XML error body "This request is not authorized to perform this operation using this
 *   permission.\nRequestId:…\nTime:…" (azure-sdk-for-js storage-blob test recordings, 2019).
 * - The account setting allowBlobPublicAccess (infra: true on the challenge account, false on the host
 *   account): when false, an anonymous request fails with 409 PublicAccessNotPermitted "Public access
 *   is not permitted on this storage account." (Learn, "Remediate anonymous read access to blob data":
 *   disallowing it makes anonymous requests fail whatever the container's setting, and a container
 *   cannot be made public; the code and wording are the service's, as quoted in answers to such
 *   requests), and so does a Create Container or Set Container ACL asking for public access.
 * - An anonymous read of a container that is private (publicAccess 'None') or missing, or a
 *   container-level read (List Blobs, container properties) of one that allows blob-level access
 *   only, answers 404 ResourceNotFound "The specified resource does not exist.", the same as for a
 *   container that does not exist, so anonymous callers cannot tell which containers exist (by design:
 *   Azure/azure-storage-cpp#397, a Storage SDK maintainer on exactly these three cases; the body as
 *   the service sends it, e.g. beberlei/azure-blob-storage#6, an anonymous GET of a private
 *   container's blob). Azurite answers these 403 AuthorizationFailure (its authentication
 *   middleware when no authenticator accepts; Azure/Azurite#305), so the gate decides them. An anonymous read a public container allows is Azurite's to answer.
 * - Shared Key and SAS requests pass unchanged (Azurite checks them).
 * - Faults armed for service `blob` answer instead (after their delay), in Storage's error format.
 *
 * The gateway's data plane reads challenge files anonymously through this gate, as the gateway reads
 * the container over the internet.
 */
export interface StorageGateOptions {
  ca: SandboxCa;
  /** Azurite's account endpoint, https://127.0.0.1:<port>/<account>. */
  upstreamBlobEndpoint: string;
  /** ARM id of a storage account by its name (the sandbox's role scopes). */
  accountId(accountName: string): string;
  /** Whether a blob exists (Put Blob of a new blob is allowed by blobs/add/action alone). */
  blobExists(container: string, blob: string): Promise<boolean>;
  /** The role assignments to enforce; none: every token is let through. */
  rbac?(): Rbac | undefined;
  /** A container's anonymous access level (its ACL, x-ms-blob-public-access): `none` when private, `missing` when it does not exist. */
  publicAccessOf?(container: string): Promise<ContainerPublicAccess>;
  /** The account's allowBlobPublicAccess (default true, as infra sets it on the challenge account). */
  allowBlobPublicAccess?: boolean;
  faults?: FaultInjector;
  counters?: Counters;
}

export interface StorageGate {
  /** https://127.0.0.1:<port>/<account>: what the app and the gateway use as the blob endpoint. */
  blobEndpoint: string;
  containerUrl(container: string): string;
  allowBlobPublicAccess(): boolean;
  /** The account setting (Microsoft.Storage/storageAccounts allowBlobPublicAccess), changed at once. */
  setAllowBlobPublicAccess(allow: boolean): void;
  stop(): Promise<void>;
}

export type ContainerPublicAccess = 'container' | 'blob' | 'none' | 'missing';

/** Whether Storage serves an anonymous read at this access level: any read of a `container` one, blob reads of a `blob` one. */
export function anonymousReadAllowed(access: ContainerPublicAccess, operation: { read: boolean; blob?: string }): boolean {
  if (!operation.read) return false;
  return access === 'container' || (access === 'blob' && operation.blob !== undefined);
}

const STORAGE_VERSION = '2025-01-05';

/** Storage's time format in error messages: seven fractional digits (2019-07-25T09:24:38.2773882Z). */
const storageTime = (): string => new Date().toISOString().replace(/\.(\d{3})Z$/, '.$10000Z');

function storageError(request: IncomingMessage, response: ServerResponse, status: number, code: string, message: string, extra: Record<string, string> = {}): void {
  const requestId = randomUUID();
  const headers: Record<string, string> = {
    'x-ms-error-code': code,
    'x-ms-request-id': requestId,
    'x-ms-version': String(request.headers['x-ms-version'] ?? STORAGE_VERSION),
    server: 'Windows-Azure-Blob/1.0 Microsoft-HTTPAPI/2.0',
    date: new Date().toUTCString(),
    ...extra,
  };
  if (request.method === 'HEAD') {
    response.writeHead(status, headers);
    response.end();
    return;
  }
  const body = `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${message}\nRequestId:${requestId}\nTime:${storageTime()}</Message></Error>`;
  response.writeHead(status, { ...headers, 'content-type': 'application/xml', 'content-length': String(Buffer.byteLength(body)) });
  response.end(body);
}

const PERMISSION_MISMATCH = 'This request is not authorized to perform this operation using this permission.';
const PUBLIC_ACCESS_NOT_PERMITTED = 'Public access is not permitted on this storage account.';
const RESOURCE_NOT_FOUND = 'The specified resource does not exist.';

export async function startStorageGate(options: StorageGateOptions): Promise<StorageGate> {
  const upstream = new URL(options.upstreamBlobEndpoint);
  let allowPublic = options.allowBlobPublicAccess ?? true;

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const rawBody = await readBody(request);
    const url = new URL(request.url ?? '/', 'https://gate');
    const method = (request.method ?? 'GET').toUpperCase();
    const operation = blobOperation(method, url.pathname, url.searchParams);

    const fault = options.faults?.take('blob', method, url.pathname);
    if (fault?.delayMs) await delay(fault.delayMs);
    if (fault?.status) {
      options.counters?.increment('blob', `${operation.name}.fault`);
      const retryAfter: Record<string, string> = fault.retryAfterSeconds !== undefined ? { 'retry-after': String(fault.retryAfterSeconds) } : {};
      return storageError(request, response, fault.status, fault.code ?? (fault.status >= 500 ? 'ServerBusy' : 'InjectedFault'), fault.message ?? 'Fault injected by the sandbox.', retryAfter);
    }
    options.counters?.increment('blob', operation.name);

    const authorization = String(request.headers.authorization ?? '');
    const rbac = options.rbac?.();
    if (!authorization && !url.searchParams.has('sig')) {
      if (!allowPublic) return storageError(request, response, 409, 'PublicAccessNotPermitted', PUBLIC_ACCESS_NOT_PERMITTED);
      if (operation.read && operation.container && options.publicAccessOf) {
        const access = await options.publicAccessOf(operation.container);
        if (!anonymousReadAllowed(access, operation)) {
          options.counters?.increment('blob', `${operation.name}.anonymousRefused`);
          return storageError(request, response, 404, 'ResourceNotFound', RESOURCE_NOT_FOUND);
        }
      }
    } else if (/^Bearer\s/i.test(authorization) && rbac) {
      // A token Azurite would refuse (not a JWT) is left to Azurite's own 401.
      const claims = readClaims(authorization.replace(/^Bearer\s+/i, ''));
      if (claims) {
        const account = options.accountId(operation.account);
        const scope = operation.scope === 'account' || !operation.container ? account : `${account}/blobServices/default/containers/${operation.container}`;
        let allowed = rbac.check(claims.oid, operation.action, operation.kind, scope).allowed;
        if (!allowed && operation.addWhenNew && operation.container && operation.blob) {
          const add = 'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action';
          allowed = rbac.check(claims.oid, add, 'dataAction', scope).allowed && !(await options.blobExists(operation.container, operation.blob));
        }
        if (!allowed) {
          rbac.recordDenial({ service: 'storage', objectId: claims.oid ?? '', operation: operation.action, kind: operation.kind, scope, code: 'AuthorizationPermissionMismatch' });
          return storageError(request, response, 403, 'AuthorizationPermissionMismatch', PERMISSION_MISMATCH);
        }
      }
    }
    const publicAccess = String(request.headers['x-ms-blob-public-access'] ?? '').toLowerCase();
    if (!allowPublic && (publicAccess === 'blob' || publicAccess === 'container') && (operation.name === 'CreateContainer' || operation.name === 'SetContainerACL')) {
      return storageError(request, response, 409, 'PublicAccessNotPermitted', PUBLIC_ACCESS_NOT_PERMITTED);
    }
    await forward(request, response, method, rawBody);
  }

  function forward(request: IncomingMessage, response: ServerResponse, method: string, body: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      const headers = { ...request.headers, host: upstream.host };
      const outgoing = https.request(
        { hostname: upstream.hostname, port: upstream.port, method, path: request.url, headers, ca: options.ca.certPem },
        (answer) => {
          response.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(response);
          answer.on('end', () => resolve());
          answer.on('error', reject);
        },
      );
      outgoing.on('error', reject);
      outgoing.end(body);
    });
  }

  const leaf = options.ca.issueServerCert(['127.0.0.1', 'localhost']);
  const server = https.createServer({ key: leaf.keyPem, cert: leaf.certPem }, (request, response) => {
    handle(request, response).catch(() => {
      if (!response.headersSent) storageError(request, response, 500, 'InternalError', 'Server encountered an internal error. Please try again after some time.');
      else response.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const blobEndpoint = `${origin}${upstream.pathname.replace(/\/$/, '')}`;
  return {
    blobEndpoint,
    containerUrl: (container) => `${blobEndpoint}/${container}`,
    allowBlobPublicAccess: () => allowPublic,
    setAllowBlobPublicAccess: (allow) => {
      allowPublic = allow;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

import http from 'node:http';
import { CertbotError } from '../domain/errors';
import { resolveHostname } from '../dns/resolution';

/**
 * Fetches the validation file through the hostname itself, as the CA will (RFC 8555 section 8.3:
 * plain HTTP, the hostname's address, IPv6 first), so a broken path rule or a rewriting proxy is
 * reported with a precise code before the CA is asked and the authorization is burnt.
 */
export interface SelfCheckTarget {
  hostname: string;
  token: string;
  keyAuthorization: string;
  dnsServers: string[];
  port: number;
}

const TIMEOUT_MS = 10_000;
const MAX_BODY = 4096;

function get(address: string, target: SelfCheckTarget): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.get(
      {
        host: address,
        port: target.port,
        path: `/.well-known/acme-challenge/${target.token}`,
        headers: { host: target.port === 80 ? target.hostname : `${target.hostname}:${target.port}` },
        timeout: TIMEOUT_MS,
      },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          if (body.length < MAX_BODY) body += chunk;
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
        response.on('error', reject);
      },
    );
    request.on('timeout', () => request.destroy(new Error(`no answer within ${TIMEOUT_MS / 1000} s`)));
    request.on('error', reject);
  });
}

export async function checkValidationFile(target: SelfCheckTarget): Promise<void> {
  const answer = await resolveHostname(target.hostname, target.dnsServers);
  const address = answer.ipv6[0] ?? answer.ipv4[0];
  const url = `http://${target.hostname}/.well-known/acme-challenge/${target.token}`;
  if (!address) {
    throw new CertbotError('HostnameNotResolvingToApplicationGateway', `${target.hostname} no longer resolves.`);
  }
  let result: { status: number; body: string };
  try {
    result = await get(address, target);
  } catch (error) {
    throw new CertbotError('HostnameOwnershipValidationFileNotFound', `GET ${url} via ${address} failed: ${(error as Error).message}`);
  }
  if (result.status !== 200) {
    throw new CertbotError('HostnameOwnershipValidationFileNotFound', `GET ${url} via ${address} answered HTTP ${result.status}.${storageHint(result)}`);
  }
  if (result.body.trim() !== target.keyAuthorization) {
    throw new CertbotError(
      'HostnameOwnershipValidationFileNotValid',
      `GET ${url} via ${address} answered HTTP 200 with other content than the expected key authorization.`,
    );
  }
}

/**
 * Blob Storage's own refusals, passed through by the gateway, say what to change. An account with
 * allowBlobPublicAccess false answers anonymous reads with 409 PublicAccessNotPermitted; a private
 * container answers them 404 ResourceNotFound (REST: Blob service error codes; Learn, "Configure
 * anonymous read access for containers and blobs").
 */
function storageHint(result: { status: number; body: string }): string {
  if (result.body.includes('PublicAccessNotPermitted')) {
    return ' The storage account does not allow anonymous reads (allowBlobPublicAccess is false), so the gateway cannot serve validation files from the challenge container: allow anonymous access on the account (only the challenge container is public), then retry.';
  }
  if (result.status === 404 && result.body.includes('ResourceNotFound')) {
    return ' Blob Storage answered that the file does not exist for an anonymous reader: check that the challenge container allows anonymous blob reads and that the gateway routes /.well-known/acme-challenge/ to it.';
  }
  return '';
}

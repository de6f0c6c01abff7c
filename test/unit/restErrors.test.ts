import { RestError } from '@azure/core-rest-pipeline';
import { fromAzureError, isTransient } from '../../src/azure/restErrors';

const codes = { forbidden: 'KeyVaultPermissionDenied', notFound: 'KeyVaultRequestFailed', other: 'KeyVaultRequestFailed' } as const;

/** A RestError as the SDKs throw it, with a Retry-After header where given. */
function restError(statusCode: number | undefined, code?: string, retryAfter?: string): RestError {
  const error = new RestError(`answer ${statusCode ?? code}`, { statusCode, code });
  if (retryAfter !== undefined) {
    Object.assign(error, { response: { headers: { get: (name: string) => (name.toLowerCase() === 'retry-after' ? retryAfter : undefined) } } });
  }
  return error;
}

describe('Azure errors: final or transient', () => {
  it.each([408, 429, 500, 502, 503, 504])('HTTP %i clears by itself: transient', (status) => {
    expect(isTransient(restError(status))).toBe(true);
    expect(fromAzureError('Key Vault', restError(status), codes)).toMatchObject({ code: 'KeyVaultRequestFailed', transient: true });
  });

  it.each([400, 401, 403, 404, 409, 412])('HTTP %i is final', (status) => {
    expect(isTransient(restError(status))).toBe(false);
    expect(fromAzureError('Key Vault', restError(status), codes).transient).toBe(false);
  });

  it('a Key Vault name still being deleted or recovered (409) clears by itself; another 409 is final', () => {
    const busy = new RestError('Certificate is currently being deleted.', { statusCode: 409, code: 'Conflict' });
    expect(isTransient(busy)).toBe(true);
    expect(isTransient(new RestError('Certificate is currently being recovered.', { statusCode: 409, code: 'Conflict' }))).toBe(true);
    expect(isTransient(new RestError('Certificate x is currently in a deleted but recoverable state.', { statusCode: 409, code: 'Conflict' }))).toBe(false);
  });

  it('keeps the service\'s Retry-After for the backoff', () => {
    expect(fromAzureError('Key Vault', restError(429, 'Throttled', '7'), codes)).toMatchObject({ transient: true, retryAfterSeconds: 7 });
  });

  it('a dropped connection is transient; a wrong host name or a refused port is a setting to fix', () => {
    expect(isTransient(restError(undefined, 'REQUEST_SEND_ERROR'))).toBe(true);
    expect(isTransient(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))).toBe(true);
    expect(isTransient(Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }))).toBe(false);
    expect(isTransient(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBe(false);
    expect(isTransient('not an error object')).toBe(false);
  });

  it('permission problems name the permission code and are never retried', () => {
    expect(fromAzureError('Key Vault', restError(403, 'Forbidden'), codes)).toMatchObject({ code: 'KeyVaultPermissionDenied', transient: false });
  });
});

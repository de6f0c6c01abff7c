import { isTransientProblem, parseRetryAfter, problemCode, problemError } from '../../src/acme/problems';
import { CertbotError } from '../../src/domain/errors';
import { decodeStepError, stepError } from '../../src/domain/stepError';
import { backoffSeconds, TransientRetry } from '../../src/orchestrators/steps';

describe('typed step errors across the activity boundary', () => {
  it('survive the host wrapping the message', () => {
    const before = Date.now();
    const thrown = stepError(new CertbotError('AcmeRateLimited', 'too many "orders"\nfor x', 120, true));
    const asSeenByOrchestrator = new Error(`Activity function 'CreateAcmeOrder' failed: ${thrown.message} \n stack...`);
    expect(decodeStepError(asSeenByOrchestrator)).toEqual({
      code: 'AcmeRateLimited',
      detail: 'too many "orders"\nfor x',
      retryAfterSeconds: 120,
      // The Retry-After from the moment the step failed, as a time (kept in the failure record).
      retryAt: expect.any(String),
      transient: true,
    });
    const retryAt = Date.parse(String(decodeStepError(asSeenByOrchestrator)?.retryAt));
    expect(retryAt).toBeGreaterThanOrEqual(before + 120_000);
    expect(retryAt).toBeLessThanOrEqual(Date.now() + 120_000);
  });

  it('are not invented from untyped errors', () => {
    expect(decodeStepError(new Error('boom'))).toBeUndefined();
    expect(decodeStepError(new Error('[certbot-error]{"code":"NoSuchCode","detail":"x"}[/certbot-error]'))).toBeUndefined();
  });
});

describe('ACME problem documents', () => {
  it.each([
    ['urn:ietf:params:acme:error:rateLimited', 429, 'AcmeRateLimited'],
    ['urn:ietf:params:acme:error:rejectedIdentifier', 400, 'AcmeIdentifierRejected'],
    ['urn:ietf:params:acme:error:caa', 403, 'AcmeCaaForbidden'],
    ['urn:ietf:params:acme:error:unauthorized', 403, 'AcmeChallengeFailed'],
    ['urn:ietf:params:acme:error:connection', 400, 'AcmeChallengeFailed'],
    ['urn:ietf:params:acme:error:serverInternal', 500, 'CertificateAuthorityUnavailable'],
    ['urn:ietf:params:acme:error:badCSR', 400, 'AcmeOrderFailed'],
    ['urn:example:vendor-specific', 503, 'CertificateAuthorityUnavailable'],
  ])('%s (HTTP %i) is %s', (type, status, code) => {
    expect(problemCode({ type, status })).toBe(code);
  });

  it('keep the CA detail and Retry-After', () => {
    const error = problemError({ type: 'urn:ietf:params:acme:error:rateLimited', detail: 'slow down', status: 429, retryAfterSeconds: 3600 });
    expect(error.detail).toContain('slow down');
    expect(error.retryAfterSeconds).toBe(3600);
    expect(error.transient).toBe(false);
    expect(isTransientProblem({ type: 'urn:ietf:params:acme:error:serverInternal', detail: '', status: 500 })).toBe(true);
  });

  it('read Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('30', now)).toBe(30);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:02:00 GMT', now)).toBe(120);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
});

describe('orchestrator backoff', () => {
  it('starts short, doubles and is capped', () => {
    expect([0, 1, 2, 3, 4, 5, 6].map((n) => backoffSeconds(TransientRetry, n))).toEqual([2, 4, 8, 16, 32, 60, 60]);
  });

  it('lets the service Retry-After win, within an hour', () => {
    expect(backoffSeconds(TransientRetry, 0, 45)).toBe(45);
    expect(backoffSeconds(TransientRetry, 0, 0)).toBe(1);
    expect(backoffSeconds(TransientRetry, 0, 86400)).toBe(3600);
  });
});

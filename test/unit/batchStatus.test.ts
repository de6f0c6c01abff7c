import { payloadLimitError } from '../../sandbox/host/runtime';
import { batchStatus, HostnameOutcome, LISTED_FAILURES } from '../../src/orchestrators/addMultipleCertificates';

/** A valid 253-character hostname (labels of at most 63), distinct per index. */
const longHostname = (i: number): string => {
  const head = `n${String(i).padStart(3, '0')}`;
  const labels = [head + 'a'.repeat(63 - head.length), 'b'.repeat(63), 'c'.repeat(63)];
  const name = `${labels.join('.')}.${'d'.repeat(253 - 3 * 64)}`;
  return name;
};

describe('the batch customStatus', () => {
  it('stays far under the extension\'s 16 KB for 100 names of 253 characters, all failed with long details', () => {
    const outcomes: HostnameOutcome[] = Array.from({ length: 100 }, (_, i) => ({
      hostname: longHostname(i),
      instanceId: `certificate-${longHostname(i)}`,
      status: 'Failed',
      error: i % 2 ? 'HostnameNotResolvingToApplicationGateway' : 'AcmeCaaForbidden',
      message: 'x'.repeat(300),
      detail: 'y'.repeat(2000),
      failedStep: 'CheckDnsResolutionStep',
    }));
    expect(outcomes.every((o) => o.hostname.length === 253)).toBe(true);
    const status = batchStatus(outcomes, outcomes, 'Failed', 'SomeHostnamesFailed');
    const json = JSON.stringify(status);
    expect(payloadLimitError(json)).toBeUndefined();
    // Well under: at most half of the limit, in UTF-16 bytes.
    expect(json.length * 2).toBeLessThan(8 * 1024);
    expect(status.progress).toEqual({ done: 0, failed: 100, issuing: 0, queued: 0, total: 100 });
    expect(status.failures).toHaveLength(LISTED_FAILURES);
    // The latest failures are the ones listed.
    expect(status.failures[LISTED_FAILURES - 1].hostname).toBe(longHostname(99));
  });

  it('counts every state', () => {
    const outcome = (status: HostnameOutcome['status']): HostnameOutcome => ({ hostname: `${status}.example`, instanceId: '', status, error: null });
    const outcomes = [outcome('Completed'), outcome('Issuing'), outcome('Queued'), outcome('Queued')];
    expect(batchStatus(outcomes, [], 'CreateCertificateStep', null)).toMatchObject({
      status: 'CreateCertificateStep',
      error: null,
      progress: { done: 1, failed: 0, issuing: 1, queued: 2, total: 4 },
      failures: [],
    });
  });
});

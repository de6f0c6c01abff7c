import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Sandbox, startSandbox } from '../../sandbox';
import { failureRecord, post, waitGentlyToEnd } from '../support/sandboxClient';
import { scaledGateway } from '../support/scaledGateway';
import { withRateLimitOverride } from '../support/rateLimitOverride';

/**
 * One vault, 100 hostnames in one batch, with Key Vault throttling on at the service's documented
 * limits (the emulator's default): creates beyond the limit answer 429 with Retry-After, which
 * the SDK's retries and then the orchestration's durable backoff wait out. No hostname may fail
 * with KeyVaultRequestFailed; the one the gateway has no room for fails with its own code.
 */
const HOSTNAMES = Array.from({ length: 100 }, (_, i) => `vault${String(i).padStart(3, '0')}.kvscale.example`);

interface Outcome {
  hostname: string;
  status: string;
  error?: string;
}

describe('a 100-hostname batch against one throttling vault', () => {
  let sandbox: Sandbox;
  let stateDir: string;

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-kvscale-'));
    // More certificates for one registered domain than Let's Encrypt's 50 a week: as with an override.
    sandbox = await startSandbox(withRateLimitOverride(scaledGateway({ stateDir, settings: { MaxHostnamesPerRequest: '100', MaxParallelIssuances: '20' } }), { CertificatesPerDomain: 500 }));
  }, 120_000);
  afterAll(async () => {
    await sandbox?.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('completes every hostname the gateway has room for, with no KeyVaultRequestFailed, while the vault throttles', async () => {
    const started = await post(sandbox, 'AddMultipleCertificatesFunctions_HttpStart', { hostnames: HOSTNAMES.map((hostname) => ({ hostname })) });
    expect(started.status).toBe(202);
    const final = await waitGentlyToEnd(String(started.body.statusQueryGetUri), 20 * 60_000, 1000);
    // One hostname fails (no room), so the batch is Failed with that one's code and its output is the failure record.
    expect(final.runtimeStatus).toBe('Failed');
    const record = failureRecord(final.output) as unknown as { code: string; hostnames: Outcome[] };
    expect(record.code).toBe('ApplicationGatewayCapacityExceeded');
    const outcomes = record.hostnames;
    expect(outcomes).toHaveLength(100);
    expect(JSON.stringify(record)).not.toContain('KeyVaultRequestFailed');
    // The gateway's 100 active listeners include its HTTP one for the challenges: 99 fit.
    const completed = outcomes.filter((o) => o.status === 'Completed');
    const refused = outcomes.filter((o) => o.status !== 'Completed');
    expect(completed).toHaveLength(99);
    expect(refused.map((o) => o.error)).toEqual(['ApplicationGatewayCapacityExceeded']);
    // The vault did throttle: the test measured the app against the limits, not past them.
    expect(sandbox.counters.get('keyvault', 'throttled')).toBeGreaterThan(0);
  }, 25 * 60_000);
});

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Sandbox, startSandbox } from '../../sandbox';
import { pollToEnd, post } from '../support/sandboxClient';
import { scaledGateway } from '../support/scaledGateway';

/** Starts a sandbox with `AllowedHostnames` as given (undefined: not set at all). */
async function sandboxWith(allowed: string | undefined): Promise<{ sandbox: Sandbox; stop: () => Promise<void> }> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-allow-'));
  const sandbox = await startSandbox(scaledGateway({ stateDir, settings: { AllowedHostnames: allowed } }));
  return {
    sandbox,
    stop: async () => {
      await sandbox.stop();
      fs.rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/** Every ACME request and Durable instance so far: a refused request must add none. */
async function workDone(sandbox: Sandbox): Promise<{ acme: number; instances: number }> {
  const acme = Object.values(sandbox.counters.snapshot().acme ?? {}).reduce((n, count) => n + count, 0);
  const response = await fetch(`${sandbox.endpoints.apiBaseUrl.replace(/\/api$/, '')}/runtime/webhooks/durabletask/instances?code=${sandbox.endpoints.functionKey}`);
  return { acme, instances: ((await response.json()) as unknown[]).length };
}

describe('AllowedHostnames', () => {
  describe('listing names and *.suffix patterns', () => {
    let sandbox: Sandbox;
    let stop: () => Promise<void>;
    beforeAll(async () => ({ sandbox, stop } = await sandboxWith('www.contoso.example, *.fabrikam.example')));
    afterAll(async () => stop?.());

    it('refuses a name outside it with 400 naming the field, and nothing starts', async () => {
      const before = await workDone(sandbox);
      const single = await post(sandbox, 'AddCertificateFunctions_HttpStart', { hostnames: [{ hostname: 'shop.contoso.example' }] });
      expect(single.status).toBe(400);
      expect(single.body.errors).toEqual([{ field: 'hostnames[0].hostname', reason: expect.stringMatching(/is not in AllowedHostnames/) }]);
      // One name outside refuses the whole batch (nothing half applied), naming only that entry.
      const batch = await post(sandbox, 'AddMultipleCertificatesFunctions_HttpStart', {
        hostnames: [{ hostname: 'a.fabrikam.example' }, { hostname: 'fabrikam.example' }, { hostname: 'www.contoso.example' }],
      });
      expect(batch.status).toBe(400);
      expect((batch.body.errors as { field: string }[]).map((e) => e.field)).toEqual(['hostnames[1].hostname']);
      const imported = await post(sandbox, 'AddCertificateWithPrivateKeyFunctions_HttpStart', {
        hostnames: [{ hostname: 'elsewhere.example', privatekey: 'x', certificate: 'y', password: '' }],
      });
      expect(imported.status).toBe(400);
      expect(imported.body.errors).toEqual(expect.arrayContaining([{ field: 'hostnames[0].hostname', reason: expect.stringMatching(/is not in AllowedHostnames/) }]));
      const renewal = await post(sandbox, 'certificates/shop.contoso.example/renew', undefined, { raw: '' });
      expect(renewal.status).toBe(400);
      expect(renewal.body.errors).toEqual([{ field: 'hostname', reason: expect.stringMatching(/is not in AllowedHostnames/) }]);
      expect(await workDone(sandbox)).toEqual(before);
    });

    it('issues a name a pattern covers', async () => {
      const started = await post(sandbox, 'AddCertificateFunctions_HttpStart', { hostnames: [{ hostname: 'a.b.fabrikam.example' }] });
      expect(started.status).toBe(202);
      const { final } = await pollToEnd(String(started.body.statusQueryGetUri), undefined, 120_000);
      expect(final.runtimeStatus).toBe('Completed');
    }, 180_000);
  });

  it('not set at all: no name may be ordered, and the answer says how to allow names', async () => {
    const { sandbox, stop } = await sandboxWith(undefined);
    try {
      const started = await post(sandbox, 'AddCertificateFunctions_HttpStart', { hostnames: [{ hostname: 'www.contoso.example' }] });
      expect(started.status).toBe(400);
      expect(String(started.body.detail)).toMatch(/AllowedHostnames is not set, so no name may be ordered; list the names and \*\.suffix patterns there \(or set it empty to allow any name\)/);
      expect((await workDone(sandbox)).instances).toBe(0);
    } finally {
      await stop();
    }
  }, 120_000);
});

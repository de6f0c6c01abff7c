import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Sandbox, STATE_CONTAINER, startSandbox } from '../../sandbox';
import { certificateNameFor } from '../../src/azure/keyVault';
import { anonymousGet, pollToEnd, post } from '../support/sandboxClient';
import { scaledGateway } from '../support/scaledGateway';

/**
 * The app's own state (hostname claims, the ACME account lock, the gateway writer's inbox with its
 * hostnames, Key Vault secret ids and instance ids) lives in the private state container, never in
 * the challenge container, which allows anonymous blob reads so the gateway can serve HTTP-01
 * files. After an issuance: the inbox and the claims are in the state container; an anonymous GET
 * of the inbox's predictable name finds nothing in the challenge container and is refused in the
 * state container (404 ResourceNotFound, Azure's answer for a private container; see
 * sandbox/services/storageGate.ts), while the validation files still reach the CA (the issuance
 * completes). The sandbox leaves StateContainerUrl unset, so the default (BlobContainerUrl's
 * account, container appgw-certbot-state) is what runs.
 */
describe('the private state container', () => {
  let sandbox: Sandbox;
  let stateDir: string;

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-state-'));
    sandbox = await startSandbox(scaledGateway({ stateDir }));
  }, 120_000);
  afterAll(async () => {
    await sandbox?.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  /** An anonymous GET, as anyone on the internet can send it. */
  const anonymous = (url: string): ReturnType<typeof anonymousGet> => anonymousGet(sandbox, url);

  const blobNames = async (container: string): Promise<string[]> => {
    const names: string[] = [];
    for await (const blob of sandbox.azurite.serviceClient.getContainerClient(container).listBlobsFlat()) names.push(blob.name);
    return names.sort();
  };

  it('keeps claims, locks and the gateway writer inbox there, unreadable anonymously; validation files still work', async () => {
    expect(sandbox.settings.StateContainerUrl).toBeUndefined();
    const hostname = 'state.contoso.example';
    const started = await post(sandbox, 'AddCertificateFunctions_HttpStart', { hostnames: [{ hostname }] });
    expect(started.status).toBe(202);
    const { final } = await pollToEnd(String(started.body.statusQueryGetUri));
    // The CA fetched the validation file from the challenge container through the gateway.
    expect(final.runtimeStatus).toBe('Completed');
    expect(sandbox.rbac.denials()).toEqual([]);

    const inboxName = `gateway-writer/${sandbox.arm.getGateway().name.toLowerCase()}.json`;
    const state = await blobNames(STATE_CONTAINER);
    expect(state).toEqual(expect.arrayContaining([inboxName, `locks/hostname-${certificateNameFor(hostname)}`, expect.stringMatching(/^locks\/acme-account-/)]));
    // The inbox the writer used for this issuance (its request answered, nothing left waiting).
    const inbox = JSON.parse((await sandbox.azurite.serviceClient.getContainerClient(STATE_CONTAINER).getBlockBlobClient(inboxName).downloadToBuffer()).toString('utf8')) as {
      pending: unknown[];
      taken: unknown[];
      results: Record<string, { result: { ok: boolean } }>;
    };
    expect(inbox).toMatchObject({ pending: [], taken: [] });
    expect(Object.values(inbox.results).map((r) => r.result.ok)).toEqual([true]);
    // The challenge container holds nothing but (here: no longer any) validation files.
    expect((await blobNames('acme-challenge')).filter((name) => !name.startsWith('.well-known/acme-challenge/'))).toEqual([]);

    // Anyone guessing the inbox's name: nothing in the challenge container, refused in the state container.
    const inPublic = await anonymous(`${sandbox.endpoints.blobContainerUrl}/${inboxName}`);
    expect(inPublic).toMatchObject({ status: 404, code: 'BlobNotFound' });
    const inPrivate = await anonymous(`${sandbox.endpoints.stateContainerUrl}/${inboxName}`);
    expect(inPrivate).toMatchObject({ status: 404, code: 'ResourceNotFound' });
    expect(inPrivate.body).not.toContain('results');
    expect(await anonymous(`${sandbox.endpoints.stateContainerUrl}/locks/hostname-${certificateNameFor(hostname)}`)).toMatchObject({ status: 404, code: 'ResourceNotFound' });
  }, 180_000);
});

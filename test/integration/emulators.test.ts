import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as acme from 'acme-client';
import https from 'node:https';
import { NetworkManagementClient, ApplicationGateway } from '@azure/arm-network';
import { ContainerClient } from '@azure/storage-blob';
import { Sandbox, SANDBOX_SUBSCRIPTION, startSandbox } from '../../sandbox';
import { withHttpsSite as withSite } from '../support/gatewaySites';
import { SandboxCredential } from '../support/sandboxClient';

/**
 * The ARM, Blob + gateway path rule and ACME pieces driven through the real SDKs the app uses
 * (the Key Vault emulator and the identity endpoint have their own suites in test/sandbox/).
 */
describe('sandbox emulators through the real SDKs', () => {
  let sandbox: Sandbox;
  let stateDir: string;
  let network: NetworkManagementClient;
  const credential = new SandboxCredential();

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'emulators-'));
    sandbox = await startSandbox({ stateDir, withHost: false, armOperationDelayMs: 400, armRetryAfterSeconds: 1 });
    const tls = { tlsOptions: { ca: sandbox.ca.certPem } };
    network = new NetworkManagementClient(credential, SANDBOX_SUBSCRIPTION, { ...tls, endpoint: sandbox.endpoints.armUrl });
  });
  afterAll(async () => {
    await sandbox?.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  describe('Azure Resource Manager (Application Gateway)', () => {
    const rg = 'rg-appgw-sandbox';
    const gw = 'appgw-sandbox';
    const read = () => network.applicationGateways.get(rg, gw);
    const child = (gateway: ApplicationGateway, collection: string, name: string) => ({ id: `${gateway.id}/${collection}/${name}` });

    const withHttpsSite = (gateway: ApplicationGateway, name: string, hostname: string, priority: number | undefined): ApplicationGateway =>
      withSite(gateway, { name, keyVaultSecretId: `${sandbox.endpoints.keyVaultUrl}/secrets/${name}`, hostName: hostname, priority });

    it('reads the gateway and its public IP', async () => {
      const gateway = await read();
      expect(gateway.sku?.name).toBe('Standard_v2');
      const pipId = gateway.frontendIPConfigurations?.[0].publicIPAddress?.id ?? '';
      const pip = await network.publicIPAddresses.get(rg, pipId.split('/').pop()!);
      expect(pip.ipAddress).toBe('127.0.0.1');
    });

    it('applies a PUT through the long-running operation protocol', async () => {
      sandbox.counters.reset();
      const updated = await network.applicationGateways.createOrUpdate(rg, gw, withHttpsSite(await read(), 'site-a', 'a.example', 20001 - 1), { updateIntervalInMs: 100 });
      expect(updated.provisioningState).toBe('Succeeded');
      expect((await read()).httpListeners?.map((l) => l.name)).toContain('site-a-https');
      const arm = sandbox.counters.snapshot().arm;
      expect(arm['applicationGateways.put']).toBe(1);
      expect(arm['applicationGateways.put.accepted']).toBe(1);
      expect(arm['applicationGateways.put.succeeded']).toBe(1);
      expect(arm['operations.get']).toBeGreaterThanOrEqual(1);
    });

    it('cancels a running PUT when a newer one arrives (CanceledAndSupersededDueToAnotherOperation), and applies the newer', async () => {
      const gateway = await read();
      const first = network.applicationGateways.createOrUpdate(rg, gw, withHttpsSite(gateway, 'site-b', 'b.example', 300), { updateIntervalInMs: 100 });
      await new Promise((resolve) => setTimeout(resolve, 100));
      const second = network.applicationGateways.createOrUpdate(rg, gw, withHttpsSite(gateway, 'site-c', 'c.example', 301), { updateIntervalInMs: 100 });
      // core-lro turns a Canceled operation into a plain Error; the codes are on the operation (test/sandbox/applicationGateway.test.ts).
      await expect(first).rejects.toThrow('Operation was canceled');
      expect((await second).provisioningState).toBe('Succeeded');
      const listeners = (await read()).httpListeners?.map((l) => l.name);
      expect(listeners).toContain('site-c-https');
      expect(listeners).not.toContain('site-b-https');
    });

    it.each([
      ['a rule without priority', (g: ApplicationGateway) => withHttpsSite(g, 'bad1', 'bad1.example', undefined), 'ApplicationGatewayRequestRoutingRulePriorityCannotBeEmpty'],
      ['a duplicate priority', (g: ApplicationGateway) => withHttpsSite(g, 'bad2', 'bad2.example', 100), 'ApplicationGatewayRequestRoutingRulePriorityAlreadyUsed'],
      ['a priority out of range', (g: ApplicationGateway) => withHttpsSite(g, 'bad3', 'bad3.example', 20001), 'ApplicationGatewayRequestRoutingRulePriorityOutOfRange'],
      ['a duplicate hostname on a port', (g: ApplicationGateway) => withHttpsSite(g, 'bad4', 'a.example', 400), 'ApplicationGatewayHttpListenersUsingSameFrontendPortHostNameAndFrontendIpConfig'],
      ['an HTTPS listener without certificate', (g: ApplicationGateway) => {
        const copy = withHttpsSite(g, 'bad5', 'bad5.example', 401);
        delete copy.httpListeners![copy.httpListeners!.length - 1].sslCertificate;
        return copy;
      }, 'ApplicationGatewayHttpsListenerMustReferenceSslCertificate'],
      ['a reference to nothing', (g: ApplicationGateway) => {
        const copy = withHttpsSite(g, 'bad6', 'bad6.example', 402);
        copy.requestRoutingRules![copy.requestRoutingRules!.length - 1].backendAddressPool = child(copy, 'backendAddressPools', 'missing');
        return copy;
      }, 'InvalidResourceReference'],
    ])('refuses %s with the service error code and applies nothing', async (_what, change, code) => {
      const before = await read();
      await expect(network.applicationGateways.createOrUpdate(rg, gw, change(before)).pollUntilDone()).rejects.toMatchObject({ statusCode: 400, code });
      expect((await read()).httpListeners?.length).toBe(before.httpListeners?.length);
    });

    it('throttles with 429 + Retry-After, which the SDK retries by itself', async () => {
      sandbox.faults.arm({ service: 'arm', status: 429, code: 'TooManyRequests', retryAfterSeconds: 1, count: 1, match: 'GET' });
      expect((await read()).name).toBe(gw);
    });
  });

  describe('Blob Storage and the gateway path rule', () => {
    it('serves a blob uploaded with a bearer token anonymously through /.well-known/acme-challenge/*', async () => {
      const container = new ContainerClient(sandbox.endpoints.blobContainerUrl, credential, { tlsOptions: { ca: sandbox.ca.certPem } } as object);
      await container.getBlockBlobClient('.well-known/acme-challenge/token-1').upload('key-authorization', 17);
      const viaGateway = await fetch(`${sandbox.endpoints.gatewayHttpUrl}/.well-known/acme-challenge/token-1`, { headers: { host: 'any.example' } });
      expect(viaGateway.status).toBe(200);
      expect(await viaGateway.text()).toBe('key-authorization');
      expect((await fetch(`${sandbox.endpoints.gatewayHttpUrl}/.well-known/acme-challenge/missing`)).status).toBe(404);
      await container.getBlockBlobClient('.well-known/acme-challenge/token-1').delete();
    });
  });

  describe('ACME CA (Pebble behind the counting proxy)', () => {
    it('serves acme-client, counts requests by type and injects problem documents', async () => {
      acme.axios.defaults.httpsAgent = new https.Agent({ ca: sandbox.ca.certPem });
      const client = new acme.Client({ directoryUrl: sandbox.endpoints.acmeDirectoryUrl, accountKey: await acme.crypto.createPrivateEcdsaKey() });
      sandbox.counters.reset();
      await client.createAccount({ termsOfServiceAgreed: true });
      const order = await client.createOrder({ identifiers: [{ type: 'dns', value: 'count.example' }] });
      expect(order.status).toBe('pending');
      expect(sandbox.counters.snapshot().acme).toMatchObject({ directory: 1, newAccount: 1, newOrder: 1 });

      sandbox.faults.arm({ service: 'acme', status: 429, code: 'rateLimited', message: 'slow down', retryAfterSeconds: 0, count: 10, match: '/order-plz' });
      (acme.axios.defaults as unknown as { acmeSettings: { retryMaxAttempts: number } }).acmeSettings.retryMaxAttempts = 0;
      await expect(client.createOrder({ identifiers: [{ type: 'dns', value: 'limited.example' }] })).rejects.toThrow('slow down');
      sandbox.faults.clear();
    });
  });
});

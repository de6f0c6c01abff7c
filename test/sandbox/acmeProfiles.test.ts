import http from 'node:http';
import https from 'node:https';
import { AddressInfo } from 'node:net';
import { X509Certificate } from 'node:crypto';
import * as acme from 'acme-client';
import type { OrderCreateRequest } from 'acme-client/types/rfc8555';
import { LETS_ENCRYPT_PROFILES } from '../../sandbox/services/acmeProfiles';
import { AcmeProxy, startAcmeProxy } from '../../sandbox/services/acmeProxy';
import { PebbleCa, startPebble } from '../../sandbox/services/pebble';
import { createSandboxCa } from '../../sandbox/tls/ca';

/**
 * The sandbox CA's profiles (draft-aaron-acme-profiles), External Account Binding (Pebble's own) and
 * alternate chains, as a client sees them through the ACME proxy.
 */
describe('the sandbox CA: profiles, EAB and alternate chains', () => {
  const ca = createSandboxCa();
  const keyAuthorizations = new Map<string, string>();
  let httpServer: http.Server;
  let pebble: PebbleCa;
  let proxy: AcmeProxy;
  let eabPebble: PebbleCa;
  let eabProxy: AcmeProxy;
  let client: acme.Client;
  const eab = { kid: 'kid-test', hmacKey: Buffer.alloc(32, 7).toString('base64url') };

  beforeAll(async () => {
    httpServer = http.createServer((req, res) => {
      const keyAuthorization = keyAuthorizations.get((req.url ?? '').split('/').pop() ?? '');
      res.writeHead(keyAuthorization ? 200 : 404).end(keyAuthorization ?? '');
    });
    await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
    const httpPort = (httpServer.address() as AddressInfo).port;
    pebble = await startPebble({ ca, httpPort, alternateRoots: 1 });
    proxy = await startAcmeProxy({ ca, upstreamDirectoryUrl: pebble.directoryUrl, dnsServer: pebble.dnsServer, profiles: { specs: LETS_ENCRYPT_PROFILES, managementUrl: pebble.managementUrl } });
    eabPebble = await startPebble({ ca, httpPort, externalAccountMacKeys: { [eab.kid]: eab.hmacKey }, sharedDns: pebble });
    eabProxy = await startAcmeProxy({ ca, upstreamDirectoryUrl: eabPebble.directoryUrl, dnsServer: pebble.dnsServer });
    acme.axios.defaults.httpsAgent = new https.Agent({ ca: ca.certPem });
    (acme.axios.defaults as unknown as { acmeSettings: { retryMaxAttempts: number } }).acmeSettings.retryMaxAttempts = 0;
    client = new acme.Client({ directoryUrl: proxy.directoryUrl, accountKey: await acme.crypto.createPrivateEcdsaKey() });
    await client.createAccount({ termsOfServiceAgreed: true });
  });
  afterAll(async () => {
    await eabProxy?.stop();
    await eabPebble?.stop();
    await proxy?.stop();
    await pebble?.stop();
    await new Promise((resolve) => httpServer?.close(resolve));
  });

  /** Orders `name` (with `profile` when given), proves it over HTTP-01 and finalizes; the valid order. */
  async function issue(name: string, profile?: string, as = client): Promise<acme.Order & { profile?: string }> {
    // acme-client posts the payload as given; its type predates the profiles draft.
    const order = await as.createOrder({ identifiers: [{ type: 'dns', value: name }], ...(profile ? { profile } : {}) } as OrderCreateRequest);
    const [authz] = await as.getAuthorizations(order);
    const challenge = authz.challenges.find((c) => c.type === 'http-01')!;
    keyAuthorizations.set(challenge.token, await as.getChallengeKeyAuthorization(challenge));
    await as.completeChallenge(challenge);
    await as.waitForValidStatus(challenge);
    const [, csr] = await acme.crypto.createCsr({ commonName: name });
    await as.finalizeOrder(order, csr);
    return (await as.waitForValidStatus(order)) as acme.Order & { profile?: string };
  }

  const lifetimeSeconds = (pem: string): number => {
    const x509 = new X509Certificate(pem);
    return (Date.parse(x509.validTo) - Date.parse(x509.validFrom)) / 1000;
  };
  const managementGet = (path: string): Promise<string> =>
    new Promise((resolve, reject) => {
      https.get(`${pebble.managementUrl}${path}`, { ca: ca.certPem }, (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () => resolve(body));
      }).on('error', reject);
    });

  it("advertises Let's Encrypt's profiles in the directory meta", async () => {
    const directory = (await acme.axios.get<{ meta: { profiles?: Record<string, string> } }>(proxy.directoryUrl)).data;
    expect(Object.keys(directory.meta.profiles ?? {})).toEqual(['classic', 'tlsserver', 'shortlived']);
  });

  it('refuses a newOrder with a profile it does not advertise: 400 invalidProfile', async () => {
    await expect(client.createOrder({ identifiers: [{ type: 'dns', value: 'unknown-profile.example' }], profile: 'tenyears' } as OrderCreateRequest)).rejects.toThrow(
      'profile "tenyears" is not one of this CA\'s profiles (classic, tlsserver, shortlived)',
    );
  });

  it.each([
    ['tlsserver', 45 * 24 * 3600],
    ['shortlived', 160 * 3600],
  ])('issues a %s certificate with its lifetime, same serial and issuer, signed by the intermediate', async (profile, seconds) => {
    const order = await issue(`${profile}.profiles.example`, profile);
    expect(order.profile).toBe(profile);
    const [leaf, intermediate] = acme.crypto.splitPemChain(await client.getCertificate(order));
    expect(lifetimeSeconds(leaf)).toBe(seconds - 1);
    const x509 = new X509Certificate(leaf);
    expect(x509.verify(new X509Certificate(intermediate).publicKey)).toBe(true);
    // Pebble's certificate id is the serial in hex: the re-signed certificate keeps it.
    expect(x509.serialNumber.toLowerCase().replace(/^0+/, '')).toBe(order.certificate!.split('/').pop()!.replace(/^0+/, ''));
    expect(x509.subjectAltName).toBe(`DNS:${profile}.profiles.example`);
    // Downloading again gives the same DER (PKCS #1 v1.5 signatures are deterministic).
    expect(acme.crypto.splitPemChain(await client.getCertificate(order))[0]).toBe(leaf);
  });

  it("gives an order without a profile Pebble's own certificate, unchanged", async () => {
    const order = await issue('default.profiles.example');
    expect(order.profile).toBeUndefined();
    const [leaf] = acme.crypto.splitPemChain(await client.getCertificate(order));
    expect(lifetimeSeconds(leaf)).toBe(157766400 - 1); // Pebble ca.go defaultValidityPeriod
  });

  it('offers the alternate chain (Link rel="alternate"), which a preferred chain picks by its root', async () => {
    const order = await issue('chains.profiles.example', 'tlsserver');
    const alternateRoot = new X509Certificate(await managementGet('/roots/1'));
    const rootName = /CN=([^\n]+)/.exec(alternateRoot.subject)![1];
    const preferred = acme.crypto.splitPemChain(await client.getCertificate(order, rootName));
    const standard = acme.crypto.splitPemChain(await client.getCertificate(order));
    expect(new X509Certificate(preferred[1]).issuer).toContain(rootName);
    expect(new X509Certificate(standard[1]).issuer).not.toContain(rootName);
    // The same (re-signed) leaf on both chains.
    expect(preferred[0]).toBe(standard[0]);
  });

  it('an EAB-only CA refuses newAccount without binding, with externalAccountRequired, and accepts it with one', async () => {
    const directory = (await acme.axios.get<{ meta: { externalAccountRequired?: boolean } }>(eabProxy.directoryUrl)).data;
    expect(directory.meta.externalAccountRequired).toBe(true);
    const without = new acme.Client({ directoryUrl: eabProxy.directoryUrl, accountKey: await acme.crypto.createPrivateEcdsaKey() });
    await expect(without.createAccount({ termsOfServiceAgreed: true })).rejects.toThrow('externalAccountBinding');
    const bound = new acme.Client({ directoryUrl: eabProxy.directoryUrl, accountKey: await acme.crypto.createPrivateEcdsaKey(), externalAccountBinding: eab });
    await bound.createAccount({ termsOfServiceAgreed: true });
    const order = await issue('eab.profiles.example', undefined, bound);
    expect(order.status).toBe('valid');
  });
});

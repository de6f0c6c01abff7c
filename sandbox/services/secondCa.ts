import { randomBytes } from 'node:crypto';
import type { KeyVaultEmulator } from '../keyvault';
import { SandboxCa } from '../tls/ca';
import { AcmeProxy, startAcmeProxy } from './acmeProxy';
import type { ProfileSpecs } from './acmeProfiles';
import { PebbleCa, startPebble } from './pebble';

/**
 * A second ACME CA for the sandbox, as a commercial CA's ACME service looks to a client: a newAccount
 * without External Account Binding is refused with `externalAccountRequired` (RFC 8555 section 7.3.4;
 * Pebble 2.4 wfe.go verifyEAB, config externalAccountBindingRequired), and the directory says so
 * (`meta.externalAccountRequired`). One MAC key id and HMAC key are generated per start, as the CA's
 * dashboard hands them out (ZeroSSL, Google Trust Services). Its own Pebble and ACME proxy (CAA, ARI,
 * profiles if given) share the sandbox's DNS (challtestsrv) and the gateway's HTTP data plane.
 */
export interface SecondCa {
  directoryUrl: string;
  /** The EAB credentials the CA issued; the HMAC key is base64url (RFC 8555 section 7.3.4: MAC key). */
  eab: { keyId: string; hmacKey: string };
  /** Pebble's issuing root of this run. */
  rootPem: string;
  pebble: PebbleCa;
  acme: AcmeProxy;
  /** The operator's step: put the HMAC key into the app's Key Vault as a secret of this name. */
  storeEabKey(secretName: string): void;
  stop(): Promise<void>;
}

export async function startSecondCa(options: {
  ca: SandboxCa;
  httpPort: number;
  /** The sandbox's DNS: the first Pebble's challtestsrv. */
  dns: Pick<PebbleCa, 'dnsServer' | 'challtestsrvUrl'>;
  keyVault: KeyVaultEmulator;
  certificateValidityPeriodSeconds?: number;
  alternateRoots?: number;
  profiles?: ProfileSpecs;
}): Promise<SecondCa> {
  const keyId = `kid-${randomBytes(6).toString('hex')}`;
  // 256 bits, base64url without padding (Pebble decodes RawURLEncoding; acme-client's Buffer.from(.., 'base64') reads base64url too).
  const hmacKey = randomBytes(32).toString('base64url');
  const pebble = await startPebble({
    ca: options.ca,
    httpPort: options.httpPort,
    certificateValidityPeriodSeconds: options.certificateValidityPeriodSeconds,
    externalAccountMacKeys: { [keyId]: hmacKey },
    alternateRoots: options.alternateRoots,
    sharedDns: { dnsServer: options.dns.dnsServer, challtestsrvUrl: options.dns.challtestsrvUrl },
  });
  let acme: AcmeProxy;
  try {
    acme = await startAcmeProxy({
      ca: options.ca,
      upstreamDirectoryUrl: pebble.directoryUrl,
      dnsServer: pebble.dnsServer,
      profiles: options.profiles ? { specs: options.profiles, managementUrl: pebble.managementUrl } : undefined,
    });
  } catch (error) {
    await pebble.stop();
    throw error;
  }
  return {
    directoryUrl: acme.directoryUrl,
    eab: { keyId, hmacKey },
    rootPem: pebble.rootPem,
    pebble,
    acme,
    storeEabKey: (secretName) => options.keyVault.setSecret(secretName, hmacKey, 'text/plain'),
    stop: async () => {
      await acme.stop();
      await pebble.stop();
    },
  };
}

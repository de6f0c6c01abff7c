import type { ChallengeType } from '../domain/config';
import { AcmeSession, OrderSnapshot } from '../acme/session';
import { IssuedCertificate } from '../azure/keyVault';
import { RateLimitLedgerStore } from '../azure/rateLimitLedger';
import { CertbotError } from '../domain/errors';
import { activity } from './context';

/** CreateCertificateStep, part 1: Key Vault makes the key and the CSR; the key never leaves it. */
export const createCertificateSigningRequest = activity<{ hostname: string; names?: string[]; run?: string; challengeType?: ChallengeType; profile?: string }, { certificateName: string; csrPem: string }>(
  async ({ hostname, names, run, challengeType, profile }, { config, keyVault }) => {
    const { name, csrPem } = await keyVault.createCsr(hostname, {
      hostname,
      source: 'acme',
      acmeEndpoint: config.acmeEndpoint.href,
      ...(challengeType === 'dns-01' ? { challengeType } : {}),
      // Kept with the certificate: its renewals order the same profile.
      ...(profile === undefined ? {} : { profile }),
      ...(run ? { run } : {}),
    }, names);
    return { certificateName: name, csrPem };
  },
);

/**
 * CreateCertificateStep, part 2: finalize the order with the CSR. Run twice (at-least-once), the
 * CA answers orderNotReady because the order is already processing or valid: that is success.
 */
export const finalizeAcmeOrder = activity<{ order: OrderSnapshot; csrPem: string }, OrderSnapshot>(
  async ({ order, csrPem }, { config, keyVault, locks }) => {
    const session = await AcmeSession.open(config, keyVault, locks);
    // Counted before the CA counts it (at issuance): src/domain/rateLimits.ts countIssuance.
    await new RateLimitLedgerStore(config).issuing(order.rateLimitKeys ?? []);
    try {
      return await session.finalize(order, csrPem);
    } catch (error) {
      if (!(error instanceof CertbotError) || !error.detail.includes('orderNotReady')) throw error;
      const current = await session.getOrder(order.url);
      if (current.status === 'processing' || current.status === 'valid') return current;
      throw error;
    }
  },
);

/** CreateCertificateStep, part 3: download the chain and merge it into the pending Key Vault certificate. */
export const mergeIssuedCertificate = activity<{ order: OrderSnapshot; certificateName: string; names?: string[] }, IssuedCertificate>(
  async ({ order, certificateName, names }, { config, keyVault, locks }) => {
    const session = await AcmeSession.open(config, keyVault, locks);
    const chain = await session.downloadChain(order, config.preferredChain);
    // Issued: the exact set's next order is a renewal (the rate-limit accounting's exemption).
    if (names) await new RateLimitLedgerStore(config).issued(names);
    return keyVault.mergeChain(certificateName, chain);
  },
);

/** After a failure before the merge: the create this run made is deleted, so none is left pending. */
export const discardPendingCertificate = activity<{ certificateName: string; run: string }, void>(
  async ({ certificateName, run }, { keyVault }) => keyVault.discardPending(certificateName, run),
);

import type { CertificateSource, IssuedCertificate } from '../azure/keyVault';
import { activity } from './context';

export type SelfSignedFallbackOutcome = { certificate: IssuedCertificate } | { kept: CertificateSource } | { disabled: true };

/**
 * SelfSignedFallback: the self-signed stand-in for a new hostname whose issuance failed (Key Vault
 * makes and signs it; the key never leaves the vault). The setting is read here, at the time of the
 * failure, so turning it off stops stand-ins for runs already under way.
 */
export const createSelfSignedFallback = activity<{ hostname: string; names?: string[]; challengeType?: 'dns-01'; profile?: string }, SelfSignedFallbackOutcome>(
  async ({ hostname, names, challengeType, profile }, { config, keyVault }) => {
    if (!config.selfSignedFallback) return { disabled: true };
    const outcome = await keyVault.createSelfSignedFallback(hostname, names ?? [hostname], challengeType, profile);
    return 'created' in outcome ? { certificate: outcome.created } : outcome;
  },
);

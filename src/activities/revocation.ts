import { AcmeSession } from '../acme/session';
import { revocationOf } from '../azure/keyVault';
import { CertbotError } from '../domain/errors';
import { RevocationReason, RevocationReasons } from '../domain/revocation';
import { activity } from './context';

/** What RevokeCertificateStep asks: one issued version, a reason, and the orchestration's time for the record. */
export interface RevocationRequest {
  certificateName: string;
  version: string;
  reason: RevocationReason;
  /** The orchestration's (replay-safe) time, recorded as when it was revoked. */
  at: string;
}

export interface Revocation {
  serialNumber: string;
  reason: string;
  at: string;
  /** The CA had revoked it already (an earlier attempt of this step, or another client). */
  alreadyRevoked: boolean;
}

/**
 * RevokeCertificateStep: revoke one issued version through the ACME account key and record the
 * revocation in that version's tags. Runs at least once and converges: a version whose tags say it
 * is revoked is done; a CA answering alreadyRevoked is done too (then recorded).
 */
export const revokeCertificate = activity<RevocationRequest, Revocation>(async ({ certificateName, version, reason, at }, { config, keyVault, locks }) => {
  const issued = await keyVault.issuedVersion(certificateName, version);
  if (!issued) throw new CertbotError('KeyVaultRequestFailed', `Key Vault certificate ${certificateName} has no issued version ${version} (deleted meanwhile?); list the certificates and revoke again.`);
  const recorded = revocationOf(issued.tags);
  if (recorded) return { serialNumber: issued.serialNumber, ...recorded, alreadyRevoked: true };
  if (issued.tags.source === 'import') throw new CertbotError('HostnameHasImportedCertificate', `Key Vault certificate ${certificateName} was imported (tag source=import): its CA revokes it, not this app.`);
  // Only the account that ordered a certificate may revoke it for any reason (Boulder's
  // RevokeCertByApplicant refuses keyCompromise from other accounts): one from another CA is refused here.
  if (issued.tags.acmeEndpoint && issued.tags.acmeEndpoint !== config.acmeEndpoint.href) {
    throw new CertbotError('AcmeRevocationFailed', `Certificate ${issued.serialNumber} was issued through ${issued.tags.acmeEndpoint}, not the configured AcmeEndpoint ${config.acmeEndpoint.href}.`);
  }
  const session = await AcmeSession.open(config, keyVault, locks);
  const outcome = await session.revoke(issued.certificatePem, RevocationReasons[reason]);
  await keyVault.recordRevocation(certificateName, version, issued.tags, { reason, at });
  return { serialNumber: issued.serialNumber, reason, at, alreadyRevoked: outcome === 'alreadyRevoked' };
});

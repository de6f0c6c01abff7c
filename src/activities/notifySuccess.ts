import type { InvocationContext } from '@azure/functions';
import type { KeyVaultAdapter } from '../azure/keyVault';
import type { BoundCertificate, CertificateFacts, SuccessNotice, SuccessReport } from '../domain/notification';
import { postNotice, wants } from '../notify/webhook';
import { activity } from './context';

/**
 * The opt-in success events (NotificationEvents `issued`, `renewed`): what an operation bound to
 * the gateway, told to FailureWebhookUrl. Whether a certificate was issued or renewed is decided
 * here, not by the orchestrator (which must stay deterministic and reads no state): renewed when
 * Key Vault holds an earlier issued version of it. Renew-now and the renewal timer run the same
 * issuing orchestration as a first request, so Key Vault is the one place that knows.
 */

const MESSAGES: Record<SuccessNotice['kind'], string> = {
  issued: 'The certificate is in Key Vault and bound to the Application Gateway.',
  renewed: 'A new version of the certificate is in Key Vault and bound to the Application Gateway.',
};

/** True when the certificate has an issued version other than the one just bound (pending creates have no thumbprint). */
async function hasEarlierVersion(keyVault: KeyVaultAdapter, certificate: BoundCertificate): Promise<boolean> {
  const bound = certificate.keyVaultSecretId.split('/').filter(Boolean).pop();
  for await (const version of keyVault.certificates.listPropertiesOfCertificateVersions(certificate.certificateName)) {
    if (version.version && version.version !== bound && version.x509Thumbprint) return true;
  }
  return false;
}

/** Issued or renewed; an imported certificate is always `issued` (it is the user's, not a renewal by this app). */
async function kindOf(keyVault: KeyVaultAdapter, certificate: BoundCertificate, context: InvocationContext): Promise<SuccessNotice['kind']> {
  if (certificate.challengeType === 'import') return 'issued';
  try {
    return (await hasEarlierVersion(keyVault, certificate)) ? 'renewed' : 'issued';
  } catch (error) {
    // A notice is secondary: unable to tell, it says issued rather than say nothing.
    context.warn(`Could not read the versions of ${certificate.certificateName} (${(error as Error).name}); notified as issued.`);
    return 'issued';
  }
}

/** Only the fields a notice shows, whatever else the input carried. */
function factsOf({ hostname, names, certificateName, notAfter, challengeType }: BoundCertificate): CertificateFacts {
  return { hostname, ...(names && names.length > 1 ? { names } : {}), certificateName, notAfter, challengeType };
}

/** Posts one notice per enabled kind with the certificates of that kind; always succeeds (see postNotice). */
export const notifySuccess = activity<SuccessReport, { sent: SuccessNotice['kind'][] }>(async ({ instanceId, certificates }, { config, keyVault }, context) => {
  if (!wants(config, 'issued') && !wants(config, 'renewed')) return { sent: [] };
  const byKind: Record<SuccessNotice['kind'], CertificateFacts[]> = { issued: [], renewed: [] };
  for (const certificate of certificates) {
    byKind[await kindOf(keyVault, certificate, context)].push(factsOf(certificate));
  }
  const sent: SuccessNotice['kind'][] = [];
  for (const kind of ['issued', 'renewed'] as const) {
    const group = byKind[kind];
    if (group.length === 0 || !wants(config, kind)) continue;
    const notice: SuccessNotice = { kind, message: MESSAGES[kind], hostnames: group.map((c) => c.hostname), certificates: group, instanceId };
    if (await postNotice(config, notice)) sent.push(kind);
  }
  return { sent };
});

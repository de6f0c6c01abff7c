import { CertificateFacts, SuccessNotice, successKindOf, SuccessReport } from '../domain/notification';
import { postNotice, wants } from '../notify/webhook';
import { activity } from './context';

/**
 * The opt-in success events (NotificationEvents `issued`, `renewed`): what an operation bound to
 * the gateway, told to FailureWebhookUrl. Issued or renewed is the operation's intent, which the
 * orchestrator carries from its input (`renewal`, set by renew-now and the renewal timer): Key Vault
 * cannot tell, as a hostname removed without purge and issued again gets its old versions back.
 *
 * Durable Functions runs an activity at least once: if the host stops after the post and before the
 * activity's result is recorded, the notice is posted again. A receiver that must not show it twice
 * can key on `instanceId` and `kind` (one notice per operation and kind).
 */

const MESSAGES: Record<SuccessNotice['kind'], string> = {
  issued: 'The certificate is in Key Vault and bound to the Application Gateway.',
  renewed: 'A new version of the certificate is in Key Vault and bound to the Application Gateway.',
};

/** Only the fields a notice shows, whatever else the input carried (reports from before this version carried a secret id). */
function factsOf({ hostname, names, certificateName, notAfter, challengeType }: CertificateFacts): CertificateFacts {
  return { hostname, ...(names && names.length > 1 ? { names } : {}), certificateName, notAfter, challengeType };
}

/** Posts one notice with the operation's certificates when its kind is enabled; always succeeds (see postNotice). */
export const notifySuccess = activity<SuccessReport, { sent: SuccessNotice['kind'][] }>(async (report, { config }) => {
  const { instanceId, certificates } = report;
  const kind = successKindOf(report);
  if (certificates.length === 0 || !wants(config, kind)) return { sent: [] };
  const notice: SuccessNotice = { kind, message: MESSAGES[kind], hostnames: certificates.map((c) => c.hostname), certificates: certificates.map(factsOf), instanceId };
  return { sent: (await postNotice(config, notice)) ? [kind] : [] };
});

import { AcmeSession } from '../acme/session';
import { checkCaa } from '../domain/caa';
import { CertbotError } from '../domain/errors';
import { caaLookup } from '../dns/caaLookup';
import { activity } from './context';

export interface CaaCheckInput {
  hostname: string;
  /** The challenge type the order will use (RFC 8657 validationmethods). */
  validationMethod: 'http-01' | 'dns-01';
}

export interface CaaCheckResult {
  /** False when the CA publishes no caaIdentities, so only the CA can judge its CAA records. */
  checked: boolean;
}

/**
 * CheckCaaRecordsStep: the domain's CAA records allow this CA, account and challenge type, read
 * before any order is placed, so a forbidding record is reported with what it says instead of
 * as a failed validation afterwards. A failed lookup is not "no CAA" either: CAs refuse then
 * (Boulder answers SERVFAIL with a dns problem), so it fails as HostnameCaaLookupFailed once
 * retrying has not helped, still before any order.
 */
export const checkCaaRecords = activity<CaaCheckInput, CaaCheckResult>(async ({ hostname, validationMethod }, { config, keyVault, locks }) => {
  const session = await AcmeSession.open(config, keyVault, locks);
  const { caaIdentities, accountUri } = await session.caaContext();
  if (caaIdentities.length === 0) return { checked: false };
  const decision = await checkCaa({ hostname, caaIdentities, accountUri, validationMethod }, caaLookup(config.dnsServers));
  if (decision.permitted === true) return { checked: true };
  if (decision.permitted === 'unknown') {
    // Retried for a while (a resolver's bad moment passes), then reported as what it is: not a refusal.
    throw new CertbotError(
      'HostnameCaaLookupFailed',
      `The CAA lookup of ${decision.name} failed (${decision.error}) while checking ${hostname}; a CA does not issue while it cannot read CAA records.`,
      undefined,
      true,
    );
  }
  const record = decision.record ? ` (${decision.record})` : '';
  throw new CertbotError(
    'HostnameCaaForbidsCertificateAuthority',
    `The CAA record set at ${decision.relevantName} forbids the CA (CAA identities ${caaIdentities.join(', ')}) to issue for ${hostname} by ${validationMethod}: the record${record} ${decision.reason}. Change the CAA records at ${decision.relevantName} to allow it (for example CAA 0 ${hostname.startsWith('*.') ? 'issuewild' : 'issue'} "${caaIdentities[0]}"), then retry.`,
  );
});

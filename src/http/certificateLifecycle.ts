import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { KeyVaultAdapter } from '../azure/keyVault';
import { isInProgress } from '../durable/instances';
import { CertbotError, ErrorMessages } from '../domain/errors';
import { normaliseHostname } from '../domain/hostname';
import { allowListErrors } from '../domain/allowList';
import { FieldError, removalInstanceIdFor, revocationInstanceIdFor } from '../domain/requests';
import { parseRevocationRequest, replacesCertificate } from '../domain/revocation';
import { Orchestrators } from '../functions/names';
import type { IssuanceRequest } from '../orchestrators/addCertificate';
import type { RemovalInput } from '../orchestrators/removeCertificate';
import type { RevocationInput } from '../orchestrators/revokeCertificate';
import { readJsonBody } from './body';
import { renewalProfile } from '../domain/acmeProfiles';
import { configOrError, isConfig } from './configuration';
import { busyResponse, claimHostnames, startClaimed, startIssuance } from './inProgress';
import { dependencyProblem, invalidRequest, problemResponse } from './problem';

/**
 * Lifecycle endpoints for one hostname. Renewal is the issuing orchestration run again (one
 * instance per hostname): a new version under the same Key Vault name, bound to the gateway by its
 * versioned secret id (a changed keyVaultSecretId, so the gateway fetches it at once).
 */

/** POST /api/certificates/{hostname}/renew: renew now. */
export async function renewNow(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const config = configOrError(context);
  if (!isConfig(config)) return config;
  const verdict = normaliseHostname(request.params.hostname, { wildcard: true });
  if (!verdict.ok) return invalidRequest([{ field: 'hostname', reason: verdict.reason }]);
  const hostname = verdict.hostname;
  // A name taken off the allow-list gets no new certificate, renewed or not (removal stays open).
  const refused = allowListErrors(config.allowedHostnames, [{ field: 'hostname', hostname }]);
  if (refused.length) return invalidRequest(refused);
  let input: IssuanceRequest;
  try {
    const managed = await new KeyVaultAdapter(config).findManaged(hostname);
    if (!managed) return problemResponse(404, 'Not managed', `No certificate for ${hostname} is managed here; request one with AddCertificateFunctions_HttpStart.`);
    if (managed.source === 'import') return problemResponse(409, 'Imported certificate', ErrorMessages.HostnameHasImportedCertificate);
    // Proven again the way it was first proven (a DNS-01 name may not point at the gateway at all), for
    // the same names; marked a renewal, which the success notice reports (a first request is not).
    const additionalNames = managed.names.slice(1);
    // Under the profile it was ordered with (one ordered with none: AcmeProfile, if set).
    const profile = renewalProfile(managed, config);
    input = { hostname, challengeType: managed.challengeType ?? 'http-01', ...(additionalNames.length ? { additionalNames } : {}), ...(profile === undefined ? {} : { profile }), renewal: true };
  } catch (error) {
    context.error(`Renew ${hostname}: ${error instanceof CertbotError ? `${error.code}: ${error.detail}` : (error as Error).name}`);
    return dependencyProblem('Key Vault unavailable', 'The app could not read Key Vault; see its logs.', error);
  }
  return startIssuance(df.getClient(context), request, context, config, input);
}

/** DELETE /api/certificates/{hostname}[?purge=true]: take it off the gateway and out of Key Vault. */
export async function removeCertificate(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const config = configOrError(context);
  if (!isConfig(config)) return config;
  const verdict = normaliseHostname(request.params.hostname, { wildcard: true });
  if (!verdict.ok) return invalidRequest([{ field: 'hostname', reason: verdict.reason }]);
  const purgeParam = request.query.get('purge');
  if (purgeParam !== null && !['true', 'false'].includes(purgeParam)) return invalidRequest([{ field: 'purge', reason: 'must be true or false' }]);
  const hostname = verdict.hostname;
  let certificateName: string;
  let names = [hostname];
  try {
    // A hostname that was never issued (listed as pending or failed) can be removed as well.
    const managed = await new KeyVaultAdapter(config).findRecord(hostname);
    if (!managed) return problemResponse(404, 'Not managed', `No certificate for ${hostname} is managed here.`);
    certificateName = managed.name;
    // Every name of the certificate leaves the gateway with it: none may be in another operation meanwhile.
    // (An imported certificate is bound for its hostname only, whatever else it covers.)
    if (managed.source === 'acme') names = managed.issued?.names ?? names;
  } catch (error) {
    context.error(`Remove ${hostname}: ${error instanceof CertbotError ? `${error.code}: ${error.detail}` : (error as Error).name}`);
    return dependencyProblem('Key Vault unavailable', 'The app could not read Key Vault; see its logs.', error);
  }
  const client = df.getClient(context);
  const instanceId = removalInstanceIdFor(hostname);
  if (await isInProgress(client, instanceId)) return busyResponse(client, request, [{ hostname, holder: instanceId }]);
  const claimed = await claimHostnames(client, request, context, config, names, instanceId);
  if (!claimed.ok) return claimed.response;
  const input: RemovalInput = { hostname, certificateName, purge: purgeParam === 'true', ...(names.length > 1 ? { names } : {}) };
  return startClaimed(client, request, context, claimed, Orchestrators.RemoveCertificate, { instanceId, input, hostnames: names });
}

/**
 * POST /api/certificates/{hostname}/revoke {reason}: revoke the current ACME certificate with the
 * CA (RevokeCertificateFunctions); keyCompromise and superseded also replace it with a new key and
 * bind that (src/domain/revocation.ts). An imported certificate is another CA's to revoke (409).
 * The allow-list guards issuance: it applies when the reason replaces the certificate, and a name
 * taken off it may still be revoked without a replacement.
 */
export async function revokeCertificate(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const config = configOrError(context);
  if (!isConfig(config)) return config;
  const verdict = normaliseHostname(request.params.hostname, { wildcard: true });
  const body = await readJsonBody(request);
  const parsed = body.ok ? parseRevocationRequest(body.value) : body;
  const errors: FieldError[] = [...(verdict.ok ? [] : [{ field: 'hostname', reason: verdict.reason }]), ...(parsed.ok ? [] : parsed.errors)];
  if (!verdict.ok || !parsed.ok) return invalidRequest(errors);
  const hostname = verdict.hostname;
  const { reason } = parsed.value;
  if (replacesCertificate(reason)) {
    const refused = allowListErrors(config.allowedHostnames, [{ field: 'hostname', hostname }]);
    if (refused.length) return invalidRequest(refused.map((e) => ({ ...e, reason: `${e.reason} (${reason} replaces the certificate; cessationOfOperation or unspecified revoke it without a new one)` })));
  }
  let input: RevocationInput;
  try {
    const managed = await new KeyVaultAdapter(config).findManaged(hostname);
    if (!managed) return problemResponse(404, 'Not managed', `No issued certificate for ${hostname} is managed here, so there is none to revoke.`);
    if (managed.source === 'import') {
      return problemResponse(409, 'Imported certificate', `${hostname} uses a certificate you imported: this app cannot revoke what another CA issued; ask that CA to revoke it.`, undefined, { code: 'HostnameHasImportedCertificate' });
    }
    // A SelfSignedFallback stand-in was issued by no CA: there is nothing to revoke (remove it, or renew to replace it).
    if (managed.source === 'self-signed') return problemResponse(409, 'Self-signed stand-in', `${hostname} has only its self-signed stand-in, which no CA issued, so there is nothing to revoke; renew it to issue the real certificate, or remove it.`);
    input = {
      hostname,
      certificateName: managed.name,
      version: managed.version,
      reason,
      ...(managed.names.length > 1 ? { names: managed.names } : {}),
      ...(managed.challengeType ? { challengeType: managed.challengeType } : {}),
      // Replaced under the profile it was ordered with (one ordered with none: AcmeProfile, if set).
      ...(renewalProfile(managed, config) === undefined ? {} : { profile: renewalProfile(managed, config) }),
    };
  } catch (error) {
    context.error(`Revoke ${hostname}: ${error instanceof CertbotError ? `${error.code}: ${error.detail}` : (error as Error).name}`);
    return dependencyProblem('Key Vault unavailable', 'The app could not read Key Vault; see its logs.', error);
  }
  const names = input.names ?? [hostname];
  const client = df.getClient(context);
  const instanceId = revocationInstanceIdFor(hostname);
  if (await isInProgress(client, instanceId)) return busyResponse(client, request, [{ hostname, holder: instanceId }]);
  const claimed = await claimHostnames(client, request, context, config, names, instanceId);
  if (!claimed.ok) return claimed.response;
  return startClaimed(client, request, context, claimed, Orchestrators.RevokeCertificate, { instanceId, input, hostnames: names });
}

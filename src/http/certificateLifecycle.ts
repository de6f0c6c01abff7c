import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { KeyVaultAdapter } from '../azure/keyVault';
import { isInProgress } from '../durable/instances';
import { CertbotError, ErrorMessages } from '../domain/errors';
import { normaliseHostname } from '../domain/hostname';
import { allowListErrors } from '../domain/allowList';
import { removalInstanceIdFor } from '../domain/requests';
import { Orchestrators } from '../functions/names';
import type { IssuanceRequest } from '../orchestrators/addCertificate';
import type { RemovalInput } from '../orchestrators/removeCertificate';
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
    const profile = managed.profile ?? config.acmeProfile;
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

import { randomUUID } from 'node:crypto';
import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { certificatesOf, parseHostnameEntries } from '../domain/requests';
import { allowListErrors } from '../domain/allowList';
import { Orchestrators } from '../functions/names';
import type { MultipleInput } from '../orchestrators/addMultipleCertificates';
import { readJsonBody } from './body';
import { configOrError, isConfig } from './configuration';
import { claimHostnames, importedResponse, startClaimed } from './inProgress';
import { invalidRequest } from './problem';
import { refusedProfiles } from './profileCheck';

/**
 * POST /api/AddMultipleCertificatesFunctions_HttpStart {"hostnames":[{"hostname":"...", "challengeType"?:
 * "dns-01", "profile"?: "...", "group"?: "..."}, ...]}: 1 to MaxHostnamesPerRequest distinct hostnames, one certificate
 * each, or one per `group` (up to 5 names, one listener); 409 when another operation holds any of
 * them or any holds an imported certificate.
 */
export async function addMultipleCertificatesStarter(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const config = configOrError(context);
  if (!isConfig(config)) return config;
  const body = await readJsonBody(request);
  if (!body.ok) return invalidRequest(body.errors);
  const entries = parseHostnameEntries(body.value, config.maxHostnamesPerRequest, config.acmeChallengeType);
  if (!entries.ok) return invalidRequest(entries.errors);
  const refused = allowListErrors(config.allowedHostnames, entries.value.map((entry, index) => ({ field: `hostnames[${index}].hostname`, hostname: entry.hostname })));
  if (refused.length) return invalidRequest(refused);
  const certificates = certificatesOf(entries.value, config.acmeChallengeType, config.acmeProfile);
  if (!certificates.ok) return invalidRequest(certificates.errors);
  const requestedProfiles = certificates.value.flatMap((c) => {
    const index = entries.value.findIndex((e) => e.hostname === c.hostname);
    return c.profile === undefined ? [] : [{ field: `hostnames[${index}].profile`, profile: c.profile, fromSetting: entries.value[index].profile === undefined }];
  });
  const badProfile = await refusedProfiles(config, context, requestedProfiles);
  if (badProfile) return badProfile;
  const profiles = Object.fromEntries(certificates.value.flatMap((c) => (c.profile === undefined ? [] : [[c.hostname, c.profile]])));
  const hostnames = certificates.value.map((c) => c.hostname);
  const allNames = certificates.value.flatMap((c) => c.names);
  const dns01 = certificates.value.filter((c) => c.challengeType === 'dns-01').map((c) => c.hostname);
  const grouped = certificates.value.filter((c) => c.names.length > 1);

  const imported = await importedResponse(config, context, allNames);
  if (imported) return imported;
  const client = df.getClient(context);
  // The batch holds every name until it ends (its children run under that claim).
  const instanceId = `batch-${randomUUID()}`;
  const claimed = await claimHostnames(client, request, context, config, allNames, instanceId);
  if (!claimed.ok) return claimed.response;
  const input: MultipleInput = {
    hostnames,
    maxParallel: config.maxParallelIssuances,
    ...(dns01.length ? { dns01Hostnames: dns01 } : {}),
    ...(Object.keys(profiles).length ? { profiles } : {}),
    ...(grouped.length ? { additionalNames: Object.fromEntries(grouped.map((c) => [c.hostname, c.names.slice(1)])) } : {}),
    ...(config.selfSignedFallback ? { selfSignedFallback: true as const } : {}),
  };
  return startClaimed(client, request, context, claimed, Orchestrators.AddMultipleCertificates, { instanceId, input, hostnames: allNames });
}

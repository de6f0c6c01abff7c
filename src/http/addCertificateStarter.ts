import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { parseSingleEntry } from '../domain/requests';
import { allowListErrors } from '../domain/allowList';
import type { IssuanceRequest } from '../orchestrators/addCertificate';
import { readJsonBody } from './body';
import { configOrError, isConfig } from './configuration';
import { importedResponse, startIssuance } from './inProgress';
import { invalidRequest } from './problem';
import { refusedProfiles } from './profileCheck';

/**
 * POST /api/AddCertificateFunctions_HttpStart {"hostnames":[{"hostname":"...", "challengeType"?: "dns-01", "profile"?: "..."}]}: validates
 * (a profile, the entry's or AcmeProfile, against the CA's directory), then
 * starts AddCertificateFunctions under an id derived from the hostname and answers 202 with the
 * check-status links. While another operation holds the hostname, a POST gets 409 with its links;
 * a hostname holding an imported certificate gets 409 before anything is ordered.
 */
export async function addCertificateStarter(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const config = configOrError(context);
  if (!isConfig(config)) return config;
  const body = await readJsonBody(request);
  if (!body.ok) return invalidRequest(body.errors);
  const parsed = parseSingleEntry(body.value, config.acmeChallengeType);
  if (!parsed.ok) return invalidRequest(parsed.errors);
  const { hostname } = parsed.value;
  const refused = allowListErrors(config.allowedHostnames, [{ field: 'hostnames[0].hostname', hostname }]);
  if (refused.length) return invalidRequest(refused);
  const challengeType = parsed.value.challengeType ?? config.acmeChallengeType;
  const profile = parsed.value.profile ?? config.acmeProfile;
  const badProfile = await refusedProfiles(config, context, profile === undefined ? [] : [{ field: 'hostnames[0].profile', profile, fromSetting: parsed.value.profile === undefined }]);
  if (badProfile) return badProfile;
  const imported = await importedResponse(config, context, [hostname]);
  if (imported) return imported;
  // http-01 without a profile keeps the contract's input, the bare hostname; the type and profile are fixed at the start, not read again on replay.
  // SelfSignedFallback on: the object, carrying the flag (a bare hostname could not).
  const fallback = config.selfSignedFallback ? { selfSignedFallback: true as const } : {};
  const input: string | IssuanceRequest =
    challengeType === 'http-01' && profile === undefined && !config.selfSignedFallback ? hostname : { hostname, challengeType, ...(profile === undefined ? {} : { profile }), ...fallback };
  return startIssuance(df.getClient(context), request, context, config, input);
}

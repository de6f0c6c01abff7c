import type { HttpResponseInit, InvocationContext } from '@azure/functions';
import { acmeDirectory } from '../acme/session';
import { offeredProfiles, profileErrors, profileRefusal } from '../domain/acmeProfiles';
import type { CertbotConfig } from '../domain/config';
import { CertbotError } from '../domain/errors';
import { invalidRequest, problemResponse } from './problem';

/** A profile a request will order with: named by the request (`field`) or taken from AcmeProfile. */
export interface RequestedProfile {
  field: string;
  profile: string;
  fromSetting: boolean;
}

/**
 * Checks the profiles a request would order with against the CA's directory before anything starts:
 * a request's unknown profile is a 400 naming its field and the CA's profiles; AcmeProfile's is the
 * operator's (500 ConfigurationInvalid naming the setting); an unreadable directory is a 503.
 */
export async function refusedProfiles(config: CertbotConfig, context: InvocationContext, requested: RequestedProfile[]): Promise<HttpResponseInit | undefined> {
  if (requested.length === 0) return undefined;
  let offered: Record<string, string>;
  try {
    offered = offeredProfiles(await acmeDirectory(config.acmeEndpoint.href));
  } catch (error) {
    const code = error instanceof CertbotError ? error.code : 'CertificateAuthorityUnavailable';
    context.warn(`Profile check: ${error instanceof CertbotError ? error.detail : (error as Error).name}`);
    return problemResponse(503, 'CA unavailable', `The CA's directory could not be read to check the profile: ${config.acmeEndpoint.href}.`, undefined, { code });
  }
  const setting = requested.find((r) => r.fromSetting && profileRefusal(offered, r.profile));
  if (setting) {
    const detail = `Setting AcmeProfile ${profileRefusal(offered, setting.profile)}.`;
    context.error(`Configuration: ${detail}`);
    return problemResponse(500, 'Not configured', detail, undefined, { code: 'ConfigurationInvalid' });
  }
  const errors = profileErrors(offered, requested);
  return errors.length ? invalidRequest(errors) : undefined;
}

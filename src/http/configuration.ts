import type { HttpResponseInit, InvocationContext } from '@azure/functions';
import { CertbotConfig, loadConfig } from '../domain/config';
import { CertbotError } from '../domain/errors';
import { problemResponse } from './problem';

/** The typed config, or a 500 that says only "misconfigured" (the detail goes to the log). */
export function configOrError(context: InvocationContext): CertbotConfig | HttpResponseInit {
  try {
    return loadConfig();
  } catch (error) {
    context.error(`Configuration: ${error instanceof CertbotError ? error.detail : 'invalid'}`);
    return problemResponse(500, 'Not configured', 'The function app is misconfigured; see its logs.');
  }
}

export const isConfig = (value: CertbotConfig | HttpResponseInit): value is CertbotConfig => 'acmeEndpoint' in value;

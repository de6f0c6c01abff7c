import type { HttpResponseInit, InvocationContext } from '@azure/functions';
import type { DurableClient } from 'durable-functions';
import { CertbotConfig, loadConfig } from '../domain/config';
import { CertbotError } from '../domain/errors';
import { instanceIdFor } from '../domain/requests';
import { problemResponse } from './problem';

import { isInProgress } from '../durable/instances';

export { isInProgress };

/** The hostnames whose certificate is being issued right now (one instance per hostname). */
export async function hostnamesInProgress(client: DurableClient, hostnames: string[]): Promise<string[]> {
  const busy: string[] = [];
  for (const hostname of hostnames) if (await isInProgress(client, instanceIdFor(hostname))) busy.push(hostname);
  return busy;
}

export function busyResponse(busy: string[]): HttpResponseInit {
  return problemResponse(409, 'Already in progress', `Certificates for ${busy.join(', ')} are already being issued; retry without them or when they finish.`, undefined, {
    hostnames: busy,
  });
}

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

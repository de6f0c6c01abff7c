import { InvocationContext } from '@azure/functions';
import { BlobLock } from '../azure/blobLock';
import { DnsZonesAdapter } from '../azure/dnsZones';
import { ChallengeStore } from '../azure/challengeStore';
import { HostnameClaims } from '../azure/hostnameClaims';
import { GatewayAdapter } from '../azure/gateway';
import { KeyVaultAdapter } from '../azure/keyVault';
import { CertbotConfig, loadConfig } from '../domain/config';
import { CertbotError } from '../domain/errors';
import { stepError } from '../domain/stepError';

/** The adapters an activity may use, built once per worker process from the typed config. */
export interface StepServices {
  config: CertbotConfig;
  keyVault: KeyVaultAdapter;
  gateway: GatewayAdapter;
  challenges: ChallengeStore;
  locks: BlobLock;
  claims: HostnameClaims;
  dnsZones: DnsZonesAdapter;
}

let services: StepServices | undefined;

export function stepServices(): StepServices {
  if (!services) {
    const config = loadConfig();
    services = {
      config,
      keyVault: new KeyVaultAdapter(config),
      gateway: new GatewayAdapter(config),
      challenges: new ChallengeStore(config),
      locks: new BlobLock(config),
      claims: new HostnameClaims(config),
      dnsZones: new DnsZonesAdapter(config),
    };
  }
  return services;
}

/**
 * Wraps an activity body: typed failures cross to the orchestrator with their code; anything
 * unexpected is logged here (name and message only, never inputs, which may be sensitive) and
 * reported as InternalError without internals.
 */
export function activity<I, O>(
  body: (input: I, services: StepServices, context: InvocationContext) => Promise<O>,
): (input: unknown, context: InvocationContext) => Promise<O> {
  return async (input, context) => {
    try {
      return await body(input as I, stepServices(), context);
    } catch (error) {
      if (error instanceof CertbotError) {
        context.warn(`${context.functionName} failed with ${error.code}: ${error.detail}`);
        throw stepError(error);
      }
      context.error(`${context.functionName} failed unexpectedly: ${(error as Error)?.name}: ${(error as Error)?.message}`);
      throw stepError(new CertbotError('InternalError', `Step ${context.functionName} failed unexpectedly; see the function app logs.`));
    }
  };
}

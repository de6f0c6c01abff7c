import type { ErrorCode } from './errors';
import type { StepStatus } from './status';

/**
 * SelfSignedFallback (opt-in, after the AIoTES gateway's source order: imported, then ACME, then
 * self-signed): when a NEW hostname's issuance fails, a self-signed certificate made in Key Vault
 * is bound so that its HTTPS listener exists; the next successful issuance replaces it.
 *
 * Not for failures a stand-in cannot help or must not hide: another operation holds the name, the
 * gateway has no room or refused the change (the stand-in needs the same write), the name has an
 * imported certificate, or the app itself is misconfigured.
 */
const NOT_FOR: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'HostnameAlreadyInProgress',
  'HostnameHasImportedCertificate',
  'ApplicationGatewayCapacityExceeded',
  'ApplicationGatewayNotFound',
  'ApplicationGatewayPermissionDenied',
  'ApplicationGatewayMisconfigured',
  'ApplicationGatewayUpdateFailed',
  'GatewayWriteTimedOut',
  'ConfigurationInvalid',
]);

/** Whether a failure of `code` at `failedStep` gets the self-signed stand-in: issuance failed before the gateway step. */
export function selfSignedFallbackApplies(code: ErrorCode, failedStep: StepStatus): boolean {
  return failedStep !== 'ConfigureApplicationGatewayStep' && failedStep !== 'Completed' && !NOT_FOR.has(code);
}

/**
 * Typed error codes reported in `customStatus.error` and in Failed outputs. The first three are the
 * contract's; the rest name every other failure class a user can act on. Each message says what to do.
 */
export const ErrorMessages = {
  HostnameNotResolvingToApplicationGateway:
    'Hostname is not resolving to the Application Gateway. Point its A record (or CNAME chain) at the gateway public IP, remove AAAA records that point elsewhere, wait for DNS to propagate, then retry.',
  HostnameOwnershipValidationFileNotFound:
    'ACME challenge http_01 validation file could not be found. Check that the gateway routes /.well-known/acme-challenge/* to the challenge container and that the container allows anonymous blob reads.',
  HostnameOwnershipValidationFileNotValid:
    'ACME challenge http_01 validation file content is not valid. Check that nothing in front of the gateway (CDN, WAF, redirect) rewrites /.well-known/acme-challenge/* responses.',
  AcmeIdentifierRejected:
    'The Certificate Authority refuses to issue for this hostname (policy or blocklist). Use a hostname the CA accepts.',
  AcmeCaaForbidden:
    'A CAA record on the domain forbids this Certificate Authority from issuing. Add a CAA record allowing it, then retry.',
  HostnameCaaForbidsCertificateAuthority:
    'A CAA record on the hostname or a parent domain does not allow this Certificate Authority, ACME account or challenge type; no order was placed. Change the CAA record the detail names to allow the CA, then retry.',
  HostnameCaaLookupFailed:
    "The hostname's CAA records could not be read (the lookup failed, e.g. SERVFAIL or a timeout); CAs do not issue while they cannot read them. Fix the domain's name servers (or DNSSEC), then retry.",
  AcmeRateLimited:
    'The Certificate Authority rate limit was reached. Wait until the time given in the detail, then retry.',
  AcmeRateLimitWouldBeExceeded:
    "The order was not sent: it would exceed one of the Certificate Authority's rate limits (the detail names the limit and when it frees up; see AcmeRateLimits). Retry after that time, or fix what keeps failing first.",
  AcmeChallengeFailed:
    'The Certificate Authority could not validate hostname ownership. Read the CA detail, fix what it names (DNS, connectivity to port 80), then retry.',
  AcmeOrderFailed:
    'The Certificate Authority did not issue the certificate. Read the CA detail, then retry.',
  AcmeRevocationFailed:
    "The Certificate Authority did not revoke the certificate. Read the CA detail: a certificate from another CA or ACME account (AcmeEndpoint changed since it was issued) must be revoked with that CA's client or account; otherwise retry the revocation.",
  AcmeAccountFailed:
    'The ACME account could not be created or used. Check AcmeEndpoint and AcmeAccountEmail, and any terms the CA requires.',
  AcmeExternalAccountRequired:
    'The Certificate Authority requires External Account Binding to create the ACME account. Get a key id and HMAC key from the CA (its dashboard or API), store the HMAC key in Key Vault as a secret, set AcmeEabKeyId to the key id and AcmeEabHmacKeySecretName to the secret\'s name, then retry.',
  AcmeProfileInvalid:
    'The Certificate Authority does not offer the certificate profile asked for. Use one of the profiles its directory lists (meta.profiles), or none: fix the request\'s profile or the AcmeProfile setting, then retry.',
  CertificateAuthorityUnavailable:
    'The Certificate Authority is unreachable or failing. Check AcmeEndpoint and the CA status page, then retry later.',
  DnsZoneNotFound:
    'No Azure DNS zone the app may write holds the name the DNS-01 TXT record goes to (_acme-challenge.<hostname>, or where its CNAME points). Add the zone to DnsZoneResourceIds (azd parameter dnsZoneResourceIds), or use http-01.',
  DnsZonePermissionDenied:
    "The function app identity may not read the DNS zone or write its TXT records. Assign it the deployment's DNS challenge writer role on the zone the detail names (azd parameter dnsZoneResourceIds does so).",
  DnsZoneRequestFailed:
    'An Azure DNS request failed. Read the Azure detail, check the zone, then retry.',
  DnsTxtRecordNotVisible:
    "The TXT record was written to Azure DNS but the zone's name servers did not answer it in time. The detail says why for each: allow the function app outbound DNS (port 53) to them and to resolvers that resolve their names (DnsServers), then retry.",
  KeyVaultPermissionDenied:
    'The function app identity may not use Key Vault. Grant it the Key Vault Certificates Officer and Key Vault Secrets Officer roles (or equivalent access policies).',
  KeyVaultRequestFailed:
    'A Key Vault request failed. Check KeyVaultBaseUrl and the vault state (soft-deleted certificate of the same name, firewall), then retry.',
  BlobStoragePermissionDenied:
    'The function app identity may not write the challenge container (BlobContainerUrl) or the state container (StateContainerUrl), whichever the detail names. Grant it Storage Blob Data Contributor on that container.',
  BlobStorageRequestFailed:
    'A Blob Storage request failed. Check the setting the detail names (BlobContainerUrl for validation files, StateContainerUrl for claims, locks and the gateway writer inbox) and that its container exists, then retry.',
  ApplicationGatewayNotFound:
    'The Application Gateway was not found. Check SubscriptionId, ApplicationGatewayResourceGroup and ApplicationGatewayName.',
  ApplicationGatewayPermissionDenied:
    'The function app identity may not read or write the Application Gateway. Assign it the roles the deployment defines for the gateway and for each resource the gateway references (subnet, public IPs, identity, WAF policies).',
  ApplicationGatewayMisconfigured:
    'The Application Gateway lacks something the app needs (public frontend IP, port 443 frontend port, backend pool or HTTP settings named by the settings). Fix the gateway or the settings named in the detail.',
  ApplicationGatewayUpdateFailed:
    'The Application Gateway rejected or failed the update. Read the Azure detail, fix the gateway, then retry.',
  HostnameAlreadyInProgress:
    'A certificate for this hostname is already being issued by another request. Wait for it to finish (see its status), then retry if needed.',
  HostnameHasImportedCertificate:
    'This hostname uses a certificate you imported; it is not replaced by an ACME certificate. Delete or re-import it to change it.',
  SomeHostnamesFailed:
    'Some hostnames failed; the others were configured. See each hostname\'s code and message in the output, fix them and request those hostnames again.',
  CertificateNotServedByGateway:
    'The new certificate is in Key Vault and on the listener, but the gateway still serves another one after being refreshed. Check that the gateway\'s managed identity may read the Key Vault secret (Key Vault Secrets User) and the listener state (Azure Advisor lists Key Vault errors), then renew again.',
  GatewayHttpsUnreachable:
    'The function app could not reach the gateway over HTTPS to confirm the new certificate is served. Allow outbound 443 from the function app to the gateway frontend, or set VerifyServedCertificate to false for a gateway it cannot reach.',
  ApplicationGatewayCapacityExceeded:
    'The Application Gateway has no room for another certificate, listener or rule (the detail names the limit and the count). Remove certificates the gateway no longer needs, use another gateway, or (WAF with CRS 3.1 or older) move to CRS 3.2 or later, then retry.',
  GatewayWriteTimedOut:
    'The gateway change was not confirmed in time. Check the Application Gateway state in Azure, then retry.',
  ConfigurationInvalid:
    'A setting is missing or malformed. Fix the setting named in the detail and restart the function app.',
  InternalError:
    'An unexpected error occurred. Log this output into the ticket manager and retry.',
} as const;

export type ErrorCode = keyof typeof ErrorMessages;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(ErrorMessages, value);
}

/**
 * An error a step raises on purpose: a code the user can act on plus a detail (the CA's or Azure's
 * words, never a secret). It crosses the activity boundary as its message, see `encodeStepError`.
 */
export class CertbotError extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly detail: string,
    /** Seconds the caller should wait before retrying, where the service said so. */
    readonly retryAfterSeconds?: number,
    /** The condition clears by itself (conflict, throttling, outage): waiting and retrying helps. */
    readonly transient = false,
  ) {
    super(`${code}: ${detail}`);
    this.name = 'CertbotError';
  }
}

import { AllowList, parseAllowList } from './allowList';
import { CertbotError } from './errors';
import { DEFAULT_NOTICE_KINDS, NoticeKind, NoticeKinds } from './notification';
import { parseRateLimits, RateLimits } from './rateLimits';

/**
 * Typed configuration read from app settings (environment variables). The names of the contract's
 * settings are public API. A missing or malformed setting fails with an error naming it.
 */
export interface CertbotConfig {
  acmeEndpoint: URL;
  acmeAccountEmail: string;
  tenantId: string;
  subscriptionId: string;
  applicationGatewayResourceGroup: string;
  applicationGatewayName: string;
  applicationGatewayHttpSettingsName: string;
  applicationGatewayBackendName: string;
  /** The challenge container: HTTP-01 validation files only; the gateway reads it anonymously. */
  blobContainerUrl: URL;
  /**
   * A private container (no anonymous access) for the app's own state: hostname claims, the ACME
   * account lock and the gateway writer's inbox (hostnames, Key Vault secret ids, instance ids),
   * none of which may be readable by anyone who guesses a blob name.
   */
  stateContainerUrl: URL;
  keyVaultBaseUrl: URL;
  /** Azure Resource Manager endpoint; differs only in sovereign clouds and the sandbox. */
  armEndpoint: URL;
  /** DNS servers for the ownership check (`host` or `host:port`); empty = the system's resolvers. */
  dnsServers: string[];
  certificateKeyType: CertificateKeyType;
  /** Key Vault secret holding the ACME account key (PEM). Created on first use. */
  acmeAccountKeySecretName: string;
  /** Off only where the vault is not on a `*.vault.azure.*` host (the sandbox). */
  keyVaultChallengeResourceVerification: boolean;
  /** Port the self-check fetches the validation file on; CAs use 80 (the sandbox's gateway differs). */
  http01ValidationPort: number;
  /** After each gateway write, confirm over TLS (SNI) that the gateway serves the new certificate. */
  verifyServedCertificate: boolean;
  /** Port the gateway's HTTPS listeners answer on for that check (443; the sandbox's gateway differs). */
  gatewayHttpsPort: number;
  /** When the gateway serves another certificate: refresh it and check again after each pause (s). */
  servedCertificateRecheckSeconds: number[];
  maxHostnamesPerRequest: number;
  /** AllowedHostnames: the names the starters and renew-now accept (src/domain/allowList.ts). */
  allowedHostnames: AllowList;
  maxParallelIssuances: number;
  /** Renew this many days before expiry (short-lived certificates: after 2/3 of their lifetime). */
  renewBeforeDays: number;
  /** Where notices are posted (Slack, Teams or any JSON receiver); optional. Its name predates success events. */
  failureWebhookUrl?: URL;
  /** Which events are posted there (NotificationEvents): failures and overdue renewals unless issuances and renewals are opted in. */
  notificationEvents: NoticeKind[];
  /** Renewals started by the timer wait a random 0..this many minutes (spreads CA load). */
  renewalJitterMinutes: number;
  /** Finished orchestrations older than this are purged by the history timer. */
  historyRetentionDays: number;
  /** How long the gateway writer waits before reading the gateway again while another update runs, or after a throttled or failed call without Retry-After (s). */
  gatewayBusyPollSeconds: number;
  /** The challenge type of a request that names none. */
  acmeChallengeType: ChallengeType;
  /** Azure DNS zones DNS-01 may write (ARM resource ids); empty = every zone of SubscriptionId (needs read on the subscription). */
  dnsZoneResourceIds: string[];
  /** Port the zone's name servers are asked on for the TXT check (53; the sandbox's DNS server differs). */
  dnsAuthoritativePort: number;
  /**
   * SelfSignedFallback (opt-in): a new hostname whose issuance fails gets a self-signed certificate
   * from Key Vault on its listener meanwhile; never one that has a certificate of its own.
   */
  selfSignedFallback: boolean;
  /**
   * The ACME profile (draft-aaron-acme-profiles) of a request that names none; undefined = send none
   * (the CA's default). Checked against the directory's meta.profiles when used (src/domain/acmeProfiles.ts).
   */
  acmeProfile?: string;
  /**
   * External Account Binding for the account's creation (RFC 8555 section 7.3.4): the CA's key id and
   * the Key Vault secret holding its HMAC key (never an app setting). Both or neither.
   */
  acmeEab?: { keyId: string; hmacKeySecretName: string };
  /** Issuer common name of the topmost certificate of the alternate chain to store (Link rel="alternate"); the default chain when none matches. */
  preferredChain?: string;
  /**
   * AcmeRateLimits: the CA's limits the app counts before each order (src/domain/rateLimits.ts):
   * Let's Encrypt's by default, None for a CA without limits, or Let's Encrypt's with some replaced.
   */
  acmeRateLimits: RateLimits;
}

export const ChallengeTypes = ['http-01', 'dns-01'] as const;
export type ChallengeType = (typeof ChallengeTypes)[number];

export const CertificateKeyTypes = ['RSA-2048', 'RSA-3072', 'RSA-4096', 'EC-P256', 'EC-P384'] as const;
export type CertificateKeyType = (typeof CertificateKeyTypes)[number];

export type Environment = Record<string, string | undefined>;

function configError(setting: string, reason: string): CertbotError {
  return new CertbotError('ConfigurationInvalid', `Setting ${setting} ${reason}.`);
}

function required(env: Environment, name: string): string {
  const value = env[name]?.trim();
  if (!value) throw configError(name, 'is missing');
  return value;
}

function optional(env: Environment, name: string, fallback: string): string {
  const value = env[name]?.trim();
  return value ? value : fallback;
}

function httpsUrl(name: string, value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw configError(name, `is not an absolute URL (got "${value}")`);
  }
  if (url.protocol !== 'https:') throw configError(name, `must be an https:// URL (got "${value}")`);
  return url;
}

function guid(name: string, value: string): string {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value)) {
    throw configError(name, `must be a GUID like 00000000-0000-0000-0000-000000000000 (got "${value}")`);
  }
  return value.toLowerCase();
}

function integer(name: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw configError(name, `must be a whole number from ${min} to ${max} (got "${value}")`);
  }
  return n;
}

function boolean(name: string, value: string): boolean {
  const lower = value.toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  throw configError(name, `must be true or false (got "${value}")`);
}

function email(name: string, value: string): string {
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value)) throw configError(name, `is not an email address (got "${value}")`);
  return value;
}

function keyType(name: string, value: string): CertificateKeyType {
  const match = CertificateKeyTypes.find((t) => t.toLowerCase() === value.toLowerCase());
  if (!match) throw configError(name, `must be one of ${CertificateKeyTypes.join(', ')} (got "${value}")`);
  return match;
}

function dnsServers(name: string, value: string): string[] {
  const servers = value.split(/[,\s]+/).filter(Boolean);
  for (const server of servers) {
    if (!/^(\[[0-9a-f:]+\]|[0-9.]+|[0-9a-f:]+)(:\d{1,5})?$/i.test(server)) {
      throw configError(name, `must list IP addresses, optionally with :port (got "${server}")`);
    }
  }
  return servers;
}

export function challengeType(name: string, value: string): ChallengeType {
  const match = ChallengeTypes.find((t) => t === value.toLowerCase());
  if (!match) throw configError(name, `must be one of ${ChallengeTypes.join(', ')} (got "${value}")`);
  return match;
}

/** A profile name as a directory lists it: printable ASCII without spaces, at most 64 characters (Let's Encrypt's are lower-case words). */
export const PROFILE_NAME = /^[\x21-\x7e]{1,64}$/;

function profileName(name: string, value: string): string | undefined {
  if (!value) return undefined;
  if (!PROFILE_NAME.test(value)) throw configError(name, `must be a profile name the CA lists in its directory (meta.profiles), like tlsserver: 1 to 64 printable characters without spaces (got "${value}")`);
  return value;
}

/** Key Vault secret names (Learn, "About keys, secrets, and certificates": 1-127 alphanumerics and dashes). */
const SECRET_NAME = /^[0-9a-zA-Z-]{1,127}$/;

/** AcmeEabKeyId with AcmeEabHmacKeySecretName, both or neither; the HMAC key itself stays in Key Vault. */
function externalAccountBinding(env: Environment): CertbotConfig['acmeEab'] {
  const keyId = optional(env, 'AcmeEabKeyId', '');
  const secretName = optional(env, 'AcmeEabHmacKeySecretName', '');
  if (!keyId && !secretName) return undefined;
  if (!keyId) throw configError('AcmeEabKeyId', 'is missing while AcmeEabHmacKeySecretName is set: set both (the key id and the Key Vault secret holding the HMAC key the CA gave) or neither');
  if (!secretName) throw configError('AcmeEabHmacKeySecretName', 'is missing while AcmeEabKeyId is set: store the HMAC key the CA gave in Key Vault as a secret and set its name here (the key is never an app setting)');
  if (!SECRET_NAME.test(secretName)) throw configError('AcmeEabHmacKeySecretName', `must be a Key Vault secret name (1 to 127 letters, digits and dashes; got "${secretName}")`);
  if (keyId.length > 256 || /\s/.test(keyId)) throw configError('AcmeEabKeyId', 'must be the key id the CA gave, without spaces, at most 256 characters');
  return { keyId, hmacKeySecretName: secretName };
}

const DNS_ZONE_ID = /^\/subscriptions\/[0-9a-f-]{36}\/resourceGroups\/[-\w.()]{1,90}\/providers\/Microsoft\.Network\/dnszones\/[a-z0-9.-]{1,253}$/i;

/** Comma-separated resource ids of Azure DNS zones, `/subscriptions/{s}/resourceGroups/{g}/providers/Microsoft.Network/dnszones/{zone}`. */
function dnsZoneIds(name: string, value: string): string[] {
  const ids = value.split(/[,\s]+/).filter(Boolean);
  for (const id of ids) {
    if (!DNS_ZONE_ID.test(id)) throw configError(name, `must list Azure DNS zone resource ids like /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.Network/dnszones/<zone> (got "${id}")`);
  }
  return ids;
}

/** Comma-separated pauses in seconds, each 0..3600, at most 10 (e.g. "0,60,300"). */
function secondsList(name: string, value: string): number[] {
  const items = value.split(',').map((item) => item.trim());
  if (items.length > 10) throw configError(name, `may list at most 10 pauses (got ${items.length})`);
  return items.map((item) => integer(name, item, 0, 3600));
}

/** https, except a receiver on this machine (local tools, the sandbox). */
function webhookUrl(name: string, value: string): URL | undefined {
  if (!value) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw configError(name, 'is not an absolute URL');
  }
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) throw configError(name, 'must be an https:// URL');
  return url;
}

/** Comma-separated events from failure, overdue, issued, renewed (case-insensitive), e.g. "failure,overdue,renewed". */
function noticeKinds(name: string, value: string): NoticeKind[] {
  const kinds: NoticeKind[] = [];
  for (const item of value.split(',').map((entry) => entry.trim().toLowerCase())) {
    const kind = NoticeKinds.find((k) => k === item);
    if (!kind) throw configError(name, `must list events from ${NoticeKinds.join(', ')}, separated by commas (got "${item}")`);
    if (!kinds.includes(kind)) kinds.push(kind);
  }
  return kinds;
}

/** The default state container's name, beside the challenge container in the same account. */
export const DEFAULT_STATE_CONTAINER = 'appgw-certbot-state';

/** A container URL's path segments (`/<container>`, or path-style `/<account>/<container>` as Azurite and the sandbox serve it). */
const pathSegments = (url: URL): string[] => url.pathname.split('/').filter(Boolean);

/** Same container: scheme, host and port, and path without a trailing slash (Storage names are lower case; compared case-insensitively). */
const sameContainer = (a: URL, b: URL): boolean => `${a.origin}/${pathSegments(a).join('/')}`.toLowerCase() === `${b.origin}/${pathSegments(b).join('/')}`.toLowerCase();

/**
 * The state container: the setting, or the challenge container's account with the container
 * `appgw-certbot-state` (the last path segment of BlobContainerUrl replaced, so both
 * https://<account>.blob.core.windows.net/<container> and path-style https://host:port/<account>/<container>
 * work). It must not be the challenge container, which allows anonymous blob reads.
 */
function stateContainerUrl(name: string, value: string, challenge: URL): URL {
  if (!value) {
    const segments = pathSegments(challenge);
    if (segments.length === 0) throw configError(name, `is not set, and BlobContainerUrl names no container to put ${DEFAULT_STATE_CONTAINER} beside (got "${challenge.href}"); set it to a private container's URL`);
    const url = new URL(challenge.href);
    url.pathname = `/${[...segments.slice(0, -1), DEFAULT_STATE_CONTAINER].join('/')}`;
    url.search = '';
    url.hash = '';
    return url;
  }
  const url = httpsUrl(name, value);
  if (pathSegments(url).length === 0) throw configError(name, `must name a container, like https://<account>.blob.core.windows.net/${DEFAULT_STATE_CONTAINER} (got "${value}")`);
  if (sameContainer(url, challenge)) throw configError(name, `must be a private container other than BlobContainerUrl's, which allows anonymous blob reads (got "${value}")`);
  return url;
}

function rateLimits(name: string, value: string): RateLimits {
  const parsed = parseRateLimits(value);
  if ('invalid' in parsed) throw configError(name, parsed.invalid);
  return parsed;
}

/** The directory URL must end where the CA serves it; the contract's example has a trailing slash. */
function acmeDirectory(name: string, value: string): URL {
  const url = httpsUrl(name, value);
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/directory';
  return url;
}

/** The fields that have a value (so that an unset optional setting is absent, not undefined). */
function optionalFields<T extends object>(fields: T): Partial<T> {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as Partial<T>;
}

export function loadConfig(env: Environment = process.env): CertbotConfig {
  const blobContainerUrl = httpsUrl('BlobContainerUrl', required(env, 'BlobContainerUrl'));
  return {
    acmeEndpoint: acmeDirectory('AcmeEndpoint', required(env, 'AcmeEndpoint')),
    acmeAccountEmail: email('AcmeAccountEmail', required(env, 'AcmeAccountEmail')),
    tenantId: guid('TenantId', required(env, 'TenantId')),
    subscriptionId: guid('SubscriptionId', required(env, 'SubscriptionId')),
    applicationGatewayResourceGroup: required(env, 'ApplicationGatewayResourceGroup'),
    applicationGatewayName: required(env, 'ApplicationGatewayName'),
    applicationGatewayHttpSettingsName: required(env, 'ApplicationGatewayHttpSettingsName'),
    applicationGatewayBackendName: required(env, 'ApplicationGatewayBackendName'),
    blobContainerUrl,
    stateContainerUrl: stateContainerUrl('StateContainerUrl', optional(env, 'StateContainerUrl', ''), blobContainerUrl),
    keyVaultBaseUrl: httpsUrl('KeyVaultBaseUrl', required(env, 'KeyVaultBaseUrl')),
    armEndpoint: httpsUrl('ArmEndpoint', optional(env, 'ArmEndpoint', 'https://management.azure.com')),
    dnsServers: dnsServers('DnsServers', optional(env, 'DnsServers', '')),
    certificateKeyType: keyType('CertificateKeyType', optional(env, 'CertificateKeyType', 'RSA-2048')),
    acmeAccountKeySecretName: optional(env, 'AcmeAccountKeySecretName', 'acme-account-key'),
    keyVaultChallengeResourceVerification: boolean(
      'KeyVaultChallengeResourceVerification',
      optional(env, 'KeyVaultChallengeResourceVerification', 'true'),
    ),
    http01ValidationPort: integer('Http01ValidationPort', optional(env, 'Http01ValidationPort', '80'), 1, 65535),
    verifyServedCertificate: boolean('VerifyServedCertificate', optional(env, 'VerifyServedCertificate', 'true')),
    selfSignedFallback: boolean('SelfSignedFallback', optional(env, 'SelfSignedFallback', 'false')),
    gatewayHttpsPort: integer('GatewayHttpsPort', optional(env, 'GatewayHttpsPort', '443'), 1, 65535),
    servedCertificateRecheckSeconds: secondsList('ServedCertificateRecheckSeconds', optional(env, 'ServedCertificateRecheckSeconds', '0,60,300')),
    maxHostnamesPerRequest: integer('MaxHostnamesPerRequest', optional(env, 'MaxHostnamesPerRequest', '100'), 1, 1000),
    // Read raw: set empty (any name) differs from not set (no name).
    allowedHostnames: parseAllowList(env.AllowedHostnames),
    maxParallelIssuances: integer('MaxParallelIssuances', optional(env, 'MaxParallelIssuances', '10'), 1, 100),
    renewBeforeDays: integer('RenewBeforeDays', optional(env, 'RenewBeforeDays', '30'), 1, 365),
    failureWebhookUrl: webhookUrl('FailureWebhookUrl', optional(env, 'FailureWebhookUrl', '')),
    notificationEvents: noticeKinds('NotificationEvents', optional(env, 'NotificationEvents', DEFAULT_NOTICE_KINDS.join(','))),
    renewalJitterMinutes: integer('RenewalJitterMinutes', optional(env, 'RenewalJitterMinutes', '30'), 0, 720),
    historyRetentionDays: integer('HistoryRetentionDays', optional(env, 'HistoryRetentionDays', '30'), 0, 3650),
    gatewayBusyPollSeconds: integer('ApplicationGatewayBusyPollSeconds', optional(env, 'ApplicationGatewayBusyPollSeconds', '15'), 1, 600),
    acmeChallengeType: challengeType('AcmeChallengeType', optional(env, 'AcmeChallengeType', 'http-01')),
    dnsZoneResourceIds: dnsZoneIds('DnsZoneResourceIds', optional(env, 'DnsZoneResourceIds', '')),
    dnsAuthoritativePort: integer('DnsAuthoritativePort', optional(env, 'DnsAuthoritativePort', '53'), 1, 65535),
    ...optionalFields({
      acmeProfile: profileName('AcmeProfile', optional(env, 'AcmeProfile', '')),
      acmeEab: externalAccountBinding(env),
      preferredChain: optional(env, 'PreferredChain', '') || undefined,
    }),
    acmeRateLimits: rateLimits('AcmeRateLimits', optional(env, 'AcmeRateLimits', 'LetsEncrypt')),
  };
}

/** How callers of the HTTP API prove who they are (setting ApiAuthentication). */
export const ApiAuthenticationModes = ['FunctionKey', 'AppServiceAuthentication'] as const;
export type ApiAuthenticationMode = (typeof ApiAuthenticationModes)[number];

export interface ApiAuthenticationConfig {
  /** FunctionKey: the host checks keys and every key holder may write (the default). AppServiceAuthentication: Entra ID through App Service Authentication, writers need `writerRole`. */
  mode: ApiAuthenticationMode;
  /** The Entra app role a caller needs to issue, import, renew or remove (AppServiceAuthentication only). */
  writerRole: string;
}

/**
 * Read apart from loadConfig: HTTP registrations need it when the app loads, where a missing
 * gateway setting must not stop the app from starting. AppServiceAuthentication makes the routes
 * anonymous to the host and trusts X-MS-CLIENT-PRINCIPAL, so it holds only where App Service
 * Authentication is on in front: App Service then sets WEBSITE_AUTH_ENABLED=True (the variable
 * Microsoft.Identity.Web reads, compared case-insensitively: AzureAD/microsoft-identity-web,
 * src/Microsoft.Identity.Web/AppServicesAuth/AppServicesAuthenticationInformation.cs). Anywhere
 * else (func start, a container, a plan or slot without Easy Auth) nothing would strip a forged
 * principal header, so the setting is refused whether or not WEBSITE_INSTANCE_ID says "Azure".
 */
export function loadApiAuthentication(env: Environment = process.env): ApiAuthenticationConfig {
  const value = optional(env, 'ApiAuthentication', 'FunctionKey');
  const mode = ApiAuthenticationModes.find((m) => m.toLowerCase() === value.toLowerCase());
  if (!mode) throw configError('ApiAuthentication', `must be one of ${ApiAuthenticationModes.join(', ')} (got "${value}")`);
  const writerRole = optional(env, 'ApiWriterRole', 'Certificates.Write');
  if (!/^[\w.-]{1,120}$/.test(writerRole)) throw configError('ApiWriterRole', `must be an app role value (letters, digits, '.', '-', '_'; got "${writerRole}")`);
  if (mode === 'AppServiceAuthentication' && env.WEBSITE_AUTH_ENABLED?.trim().toLowerCase() !== 'true') {
    throw configError(
      'ApiAuthentication',
      'is AppServiceAuthentication but WEBSITE_AUTH_ENABLED is not True (App Service sets it while App Service Authentication is on in front of the app): enable App Service Authentication (infra: appServiceAuthenticationClientId) or set ApiAuthentication to FunctionKey',
    );
  }
  return { mode, writerRole };
}

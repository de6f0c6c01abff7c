import fs from 'node:fs';
import path from 'node:path';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { startAdminServer } from './admin';
import { ArmEmulator, OutOfBandEdit, seedGateway, SeedOptions, startArmEmulator } from './emulators/arm';
import { DnsZones, DnsZoneSpec, startDnsZones } from './emulators/dnsZones';
import { GatewayDataPlane, startGatewayDataPlane } from './emulators/gatewayDataPlane';
import type { GatewayResource } from './emulators/gatewayModel';
import type { LandingZone } from './emulators/landingZones';
import { gatewayLinkedAccess } from '../src/domain/gatewayLinks';
import { ManagedIdentity, mintUserToken, startTokenServer, TokenServer } from './identity';
import { EASY_AUTH_ENV, EasyAuthSettings } from './host/easyAuth';
import { KeyVaultEmulator, startKeyVaultEmulator, ThrottleOptions } from './keyvault';
import { Counters, FaultInjector } from './faults';
import { HostProcess, spawnHost } from './hostProcess';
import { newKey } from './host/server';
import { AcmeProxy, startAcmeProxy } from './services/acmeProxy';
import type { SandboxRateLimits } from './services/acmeRateLimits';
import { CaaLookup, CaaRecord, dnsCaaLookup } from './services/caaCheck';
import { AZURITE_ACCOUNT, AzuriteBlob, startAzurite } from './services/azurite';
import { StorageGate, startStorageGate } from './services/storageGate';
import { armAuthorizer, keyVaultAuthorizer, Rbac, SandboxScopes, secretIdScope } from './rbac';
import { PebbleCa, startPebble } from './services/pebble';
import { LETS_ENCRYPT_PROFILES, ProfileSpecs } from './services/acmeProfiles';
import { SecondCa, startSecondCa } from './services/secondCa';
import { createSandboxCa, SandboxCa } from './tls/ca';
import { DEFAULT_STATE_CONTAINER } from '../src/domain/config';

/**
 * The local Azure: Pebble + challtestsrv, Azurite, and emulators of the managed-identity endpoint,
 * Key Vault, ARM and the gateway's data plane, wired together, plus the local durable host running
 * the app with the same typed settings as production (only endpoints, the credential endpoint and
 * the trusted CA differ).
 */
export const SANDBOX_TENANT = '72f988bf-0000-4000-8000-000000000001';
export const SANDBOX_SUBSCRIPTION = '00000000-0000-4000-8000-0000000000aa';
const RESOURCE_GROUP = 'rg-appgw-sandbox';
/** The app's own resource group (main.bicep's target): Key Vault, the challenge storage account, the identity. */
const APP_RESOURCE_GROUP = 'rg-appgw-certbot-sandbox';
/**
 * The azd environment the sandbox's app resources stand for: main.bicep tags the group it creates
 * `azd-env-name: <environment>`, and the preprovision hook names it `rg-<environment>` by default.
 */
export const SANDBOX_ENVIRONMENT_NAME = 'appgw-certbot-sandbox';
const VAULT_NAME = 'kv-sandbox';
const LOCATION = 'westeurope';
const GATEWAY = 'appgw-sandbox';
const BACKEND_POOL = 'app-backend-pool';
const HTTP_SETTINGS = 'app-http-settings';
const CHALLENGE_CONTAINER = 'acme-challenge';
/** Resource group of the seeded Azure DNS zones (sandbox/emulators/dnsZones.ts). */
export const DNS_RESOURCE_GROUP = 'rg-dns';
/** The example domains the tests use, each an Azure DNS zone in DNS_RESOURCE_GROUP unless `dnsZones` says otherwise. */
export const DEFAULT_DNS_ZONES = ['contoso.example', 'fabrikam.example', 'litware.example'];
/**
 * The app's private state container (claims, locks, the gateway writer's inbox), in the same account
 * as infra creates it (challengeStorage.bicep). The app finds it by the default of StateContainerUrl
 * (src/domain/config.ts: BlobContainerUrl's account, this name), which the sandbox leaves unset so
 * that the default is what runs here.
 */
export const STATE_CONTAINER = DEFAULT_STATE_CONTAINER;

export interface SandboxOptions {
  /** Where state (durable host instances, CA files, endpoints.json) goes. */
  stateDir: string;
  /** Port for the app (7071 like `func start`; 0 = random). */
  hostPort?: number;
  /** Start the durable host with the app (default true). */
  withHost?: boolean;
  hostClock?: 'real' | 'virtual';
  /** Durable timers fire this much late, as on the Azure Storage backend polling an idle queue (default 0). */
  hostTimerLatencyMs?: number;
  /** The app entry the host loads, relative to the project (default: the tsc build's; the deployment package's is dist-package/dist/index.js). */
  appEntry?: string;
  /** Pebble passes every challenge unfetched (only for names its DNS client cannot resolve; see services/pebble.ts). */
  pebbleAlwaysValid?: boolean;
  echoHostOutput?: boolean;
  certificateValidityPeriodSeconds?: number;
  /** Profiles the CA's directory advertises (default Let's Encrypt's: services/acmeProfiles.ts); false: none. */
  acmeProfiles?: ProfileSpecs | false;
  /** Alternate issuance chains of the CA, each under its own root (PEBBLE_ALTERNATE_ROOTS; default 0). */
  acmeAlternateRoots?: number;
  /**
   * A second CA (its own Pebble and ACME proxy, the sandbox's DNS) whose newAccount requires
   * External Account Binding, as ZeroSSL's or Google's (services/secondCa.ts): `sandbox.secondCa`.
   */
  secondCa?: boolean | { alternateRoots?: number; profiles?: ProfileSpecs };
  /** How long a gateway PUT runs on the ARM emulator (default 45000 ms; see emulators/arm.ts). */
  armOperationDelayMs?: number;
  /** Retry-After (seconds) of a gateway PUT's answer and first polls (default 10, the service's). */
  armRetryAfterSeconds?: number;
  /** SKU of the seeded gateway (default Standard_v2). */
  gatewaySku?: 'Standard_v2' | 'WAF_v2';
  /** OWASP CRS version of a WAF_v2 gateway's inline WAF configuration (default '3.2'); 3.1 or older lowers its limits to 40. */
  wafRuleSetVersion?: string;
  /**
   * Where the gateway's subnet, public IPs, identity and WAF policies live (default 'single-group'):
   * 'hub-and-spoke' (network in a hub group of a second subscription, identity in its own group,
   * IPv4 + IPv6 frontends) or 'waf-policy' (that, with a WAF_v2 gateway using WAF policies from a
   * third group). See sandbox/emulators/landingZones.ts.
   */
  landingZone?: LandingZone;
  /** Extra app settings (override); undefined takes a default setting away. */
  settings?: Record<string, string | undefined>;
  /** Run the app's timers on their schedules (npm start); tests run them on demand instead. */
  scheduledTimers?: boolean;
  /** Key Vault's soft delete, recover and purge durations times this (default 1: 5 s, 5 s, 3 s; sandbox/keyvault/lifecycle.ts). */
  keyVaultDelayScale?: number;
  /** Key Vault throttling (default: on at the documented limits; sandbox/keyvault/throttle.ts): options scale or arm it, false turns it off. */
  keyVaultThrottle?: ThrottleOptions | false;
  /** Enforce infra/roles.json's role assignments in Key Vault, ARM and Storage (default true; see sandbox/rbac/). */
  enforceRbac?: boolean;
  /** The challenge account's allowBlobPublicAccess (default true, as infra sets it); see services/storageGate.ts. */
  allowBlobPublicAccess?: boolean;
  /**
   * Azure DNS zones ARM serves (default: DEFAULT_DNS_ZONES in DNS_RESOURCE_GROUP of the sandbox's
   * subscription); their resource ids go to the app as `DnsZoneResourceIds`. See emulators/dnsZones.ts.
   */
  dnsZones?: { name: string; subscriptionId?: string; resourceGroup?: string }[];
  /** How long an Azure DNS record set write takes to reach the DNS server (default 60000 ms, Learn's bound; emulators/dnsZones.ts). */
  dnsPropagationDelayMs?: number;
  /**
   * App Service Authentication (Entra ID) in front of the app, as infra's authsettingsV2 sets it
   * (sandbox/host/easyAuth.ts), and the app told so (ApiAuthentication=AppServiceAuthentication,
   * WEBSITE_AUTH_ENABLED=True). Callers need `sandbox.identity.userToken(...)` bearer tokens.
   */
  appServiceAuthentication?: boolean;
  /**
   * Let's Encrypt's rate limits in the ACME proxy (services/acmeRateLimits.ts): default its documented
   * values; a test may scale them down (and tell the app the same through the AcmeRateLimits setting); false: none.
   */
  acmeRateLimits?: SandboxRateLimits | false;
  /** What the sandbox CA's CAA check sees for a name (default: the DNS answer, `viaDns`); lets a test show the CA a CAA record the app's resolver does not. */
  acmeCaaLookup?: (name: string, viaDns: CaaLookup) => Promise<CaaRecord[]>;
}

/** Entra ID as the API's callers meet it: the API's app registration and tokens for its users. */
export interface SandboxIdentity {
  /** The API's app registration (client id); tokens carry it, or api://<it>, as their audience. */
  apiClientId: string;
  /** A signed access token for the API, for a user (upn) or an app, with the app roles given. */
  userToken(options: { oid?: string; upn?: string; name?: string; roles?: string[]; audience?: string; lifetimeSeconds?: number; issuer?: string }): string;
}

export interface SandboxEndpoints {
  apiBaseUrl: string;
  functionKey: string;
  masterKey: string;
  gatewayHttpUrl: string;
  gatewayHttpsUrl: string;
  gatewayPublicIp: string;
  acmeDirectoryUrl: string;
  acmeRootCaPem: string;
  sandboxCaPem: string;
  dnsServer: string;
  challtestsrvUrl: string;
  keyVaultUrl: string;
  armUrl: string;
  blobContainerUrl: string;
  /** The private state container (no anonymous access): claims, locks, the gateway writer's inbox. */
  stateContainerUrl: string;
  adminUrl: string;
}

export interface Sandbox {
  endpoints: SandboxEndpoints;
  settings: Record<string, string>;
  ca: SandboxCa;
  acmeRootPem: string;
  counters: Counters;
  faults: FaultInjector;
  pebble: PebbleCa;
  /** The ACME proxy in front of Pebble: its `renewalInfo` is the CA's ARI state (RFC 9773). */
  acme: AcmeProxy;
  /** The EAB-only second CA (option secondCa): `directoryUrl`, `eab.keyId`, `storeEabKey(secretName)`. */
  secondCa?: SecondCa;
  azurite: AzuriteBlob;
  /** The Storage front the app and the gateway use: role checks and allowBlobPublicAccess in front of Azurite. */
  storage: StorageGate;
  /**
   * Role assignments from infra/roles.json as Key Vault, ARM and Storage enforce them: take one action
   * out of a role (`withoutAction('gatewayOperator', 'Microsoft.Network/applicationGateways/write')`),
   * remove one assignment (`removeAssignment('challengeWriter')`), `restore()`; `grants()` lists what
   * can be taken away, `denials()` what was refused.
   */
  rbac: Rbac;
  /** The app's managed identity (AZURE_CLIENT_ID, and the token endpoint's default identity). */
  appIdentity: ManagedIdentity;
  /** Entra ID for the API's callers (App Service Authentication, option appServiceAuthentication). */
  identity: SandboxIdentity;
  keyVault: KeyVaultEmulator;
  arm: ArmEmulator;
  /**
   * The Azure DNS stand-in ARM serves: `zones` (ids, names, name servers), `recordSets(type?)` (every
   * record set held but the apex NS and SOA), `setPropagationDelayMs(ms)`, `settled()` (every accepted
   * write has reached challtestsrv), `propagationErrors()`.
   */
  dnsZones: DnsZones;
  dataPlane: GatewayDataPlane;
  host?: HostProcess;
  /**
   * Kill the durable host (SIGKILL by default) and start it again on the same state; `settings`
   * changes app settings first (undefined removes one), as an operator's edit restarts the app.
   */
  restartHost(signal?: NodeJS.Signals, settings?: Record<string, string | undefined>): Promise<HostProcess>;
  stop(): Promise<void>;
}

/** The admin body of an out-of-band edit, checked. */
function outOfBandEdit(body: unknown): OutOfBandEdit {
  const { tags, addProbe, delayMs } = (body ?? {}) as { tags?: unknown; addProbe?: unknown; delayMs?: unknown };
  if (tags !== undefined && (typeof tags !== 'object' || tags === null || Object.values(tags).some((v) => typeof v !== 'string'))) {
    throw new Error('tags must be an object of strings');
  }
  if (addProbe !== undefined && typeof addProbe !== 'string') throw new Error('addProbe must be a probe name');
  if (delayMs !== undefined && (!Number.isInteger(delayMs) || (delayMs as number) < 0)) throw new Error('delayMs must be a non-negative integer');
  return { tags: tags as Record<string, string> | undefined, addProbe, delayMs: delayMs as number | undefined };
}

export async function startSandbox(options: SandboxOptions): Promise<Sandbox> {
  fs.mkdirSync(options.stateDir, { recursive: true });
  const stoppers: (() => Promise<void>)[] = [];
  const stopAll = async (): Promise<void> => {
    for (const stop of stoppers.reverse()) await stop().catch(() => undefined);
  };
  try {
    const ca = createSandboxCa();
    const caPath = path.join(options.stateDir, 'sandbox-ca.pem');
    fs.writeFileSync(caPath, ca.certPem);
    const counters = new Counters();
    const faults = new FaultInjector();

    // Role assignments need the gateway's resource ids, known once ARM runs; the emulators ask lazily.
    const late: { rbac?: Rbac; keyVault?: ReturnType<typeof keyVaultAuthorizer>; arm?: ReturnType<typeof armAuthorizer> } = {};
    const appIdentity: ManagedIdentity = { clientId: randomUUID(), objectId: randomUUID() };
    const tokens: TokenServer = await startTokenServer({ tenantId: SANDBOX_TENANT, identities: [appIdentity] });
    stoppers.push(tokens.stop);
    const azurite = await startAzurite(ca, CHALLENGE_CONTAINER, [STATE_CONTAINER]);
    stoppers.push(azurite.stop);
    const subscriptionId = `/subscriptions/${SANDBOX_SUBSCRIPTION}`;
    const appGroupId = `${subscriptionId}/resourceGroups/${APP_RESOURCE_GROUP}`;
    const accountId = (name: string): string => `${appGroupId}/providers/Microsoft.Storage/storageAccounts/${name}`;
    const vaultIdentity = { id: `${appGroupId}/providers/Microsoft.KeyVault/vaults/${VAULT_NAME}`, location: LOCATION };
    const storage = await startStorageGate({
      ca,
      upstreamBlobEndpoint: azurite.blobEndpoint,
      accountId,
      blobExists: (container, blob) => azurite.serviceClient.getContainerClient(container).getBlobClient(blob).exists(),
      // The container's ACL as Azurite holds it (Get Container ACL with the account key).
      publicAccessOf: async (container) => {
        try {
          return (await azurite.serviceClient.getContainerClient(container).getAccessPolicy()).blobPublicAccess ?? 'none';
        } catch (error) {
          if ((error as { statusCode?: number }).statusCode === 404) return 'missing';
          throw error;
        }
      },
      rbac: () => late.rbac,
      allowBlobPublicAccess: options.allowBlobPublicAccess,
      faults,
      counters,
    });
    stoppers.push(storage.stop);
    const challengeContainerUrl = storage.containerUrl(CHALLENGE_CONTAINER);
    const stateContainerUrl = storage.containerUrl(STATE_CONTAINER);
    const keyVault = await startKeyVaultEmulator({
      ca,
      tenantId: SANDBOX_TENANT,
      faults,
      counters,
      lifecycleDelayScale: options.keyVaultDelayScale,
      throttle: options.keyVaultThrottle,
      authorize: (operation, request, authorization) => late.keyVault?.(operation, request, authorization),
    });
    stoppers.push(keyVault.stop);
    // Azure DNS publishes to challtestsrv, which starts with Pebble after ARM and the data plane.
    const lateDns: { dns?: PebbleCa['dns'] } = {};
    const zoneSpecs: DnsZoneSpec[] = (options.dnsZones ?? DEFAULT_DNS_ZONES.map((name): NonNullable<SandboxOptions['dnsZones']>[number] => ({ name }))).map((zone) => ({
      name: zone.name,
      subscriptionId: zone.subscriptionId ?? SANDBOX_SUBSCRIPTION,
      resourceGroup: zone.resourceGroup ?? DNS_RESOURCE_GROUP,
    }));
    const dnsZones = startDnsZones({ zones: zoneSpecs, propagationDelayMs: options.dnsPropagationDelayMs, publisher: () => lateDns.dns });
    stoppers.push(async () => dnsZones.stop());
    const dnsGroups = zoneSpecs
      .map((zone) => ({ subscriptionId: zone.subscriptionId, name: zone.resourceGroup, location: LOCATION }))
      .filter((group, i, all) => all.findIndex((other) => other.subscriptionId.toLowerCase() === group.subscriptionId.toLowerCase() && other.name.toLowerCase() === group.name.toLowerCase()) === i);
    const arm = await startArmEmulator({
      ca,
      ...gatewaySeed(options, challengeContainerUrl),
      operationDelayMs: options.armOperationDelayMs,
      retryAfterSeconds: options.armRetryAfterSeconds,
      resourceGroups: [{ subscriptionId: SANDBOX_SUBSCRIPTION, name: APP_RESOURCE_GROUP, location: LOCATION, tags: { 'azd-env-name': SANDBOX_ENVIRONMENT_NAME } }, ...dnsGroups],
      faults,
      counters,
      authorize: (request) => late.arm?.(request),
      providers: [dnsZones.serve],
    });
    stoppers.push(arm.stop);
    const roles = new Rbac({
      scopes: sandboxScopes(arm.getGateway(), subscriptionId, appGroupId, accountId(AZURITE_ACCOUNT), vaultIdentity.id, dnsZones.zones.map((zone) => zone.id)),
      principals: [
        { key: 'app', ...appIdentity },
        { key: 'gateway', ...gatewayIdentityOf(arm.getGateway()) },
      ],
      enforce: options.enforceRbac ?? true,
    });
    late.rbac = roles;
    late.keyVault = keyVaultAuthorizer(roles, vaultIdentity);
    late.arm = armAuthorizer(roles, { operationResourceGroup: roles.scopes.gatewayResourceGroup });
    const dataPlane = await startGatewayDataPlane({
      getGateway: arm.getGateway,
      onApplied: arm.onApplied,
      // The gateway reads each certificate with its own identity (Key Vault Secrets User in infra).
      resolveSecret: async (secretId) => {
        const action = 'Microsoft.KeyVault/vaults/secrets/getSecret/action';
        const scope = secretIdScope(vaultIdentity.id, secretId) ?? vaultIdentity.id;
        const gateway = roles.principal('gateway');
        if (!roles.check(gateway.objectId, action, 'dataAction', scope).allowed) {
          // Learn, application-gateway-key-vault-common-errors: the identity cannot get the secret.
          const code = 'UserAssignedIdentityDoesNotHaveGetPermissionOnKeyVault';
          roles.recordDenial({ service: 'gateway', objectId: gateway.objectId, operation: action, kind: 'dataAction', scope, code });
          return { refused: code };
        }
        return keyVault.resolveSecret(secretId);
      },
      backendCa: ca.certPem,
      faults,
      counters,
    });
    stoppers.push(dataPlane.stop);
    const pebble = await startPebble({
      ca,
      httpPort: dataPlane.httpPort,
      certificateValidityPeriodSeconds: options.certificateValidityPeriodSeconds,
      alwaysValid: options.pebbleAlwaysValid,
      alternateRoots: options.acmeAlternateRoots,
    });
    stoppers.push(pebble.stop);
    lateDns.dns = pebble.dns;
    const acme: AcmeProxy = await startAcmeProxy({
      ca,
      upstreamDirectoryUrl: pebble.directoryUrl,
      faults,
      counters,
      dnsServer: pebble.dnsServer,
      managementUrl: pebble.managementUrl,
      rateLimits: options.acmeRateLimits,
      ...(options.acmeCaaLookup ? { caaLookup: (name: string) => options.acmeCaaLookup!(name, dnsCaaLookup(pebble.dnsServer)) } : {}),
      profiles: options.acmeProfiles === false ? undefined : { specs: options.acmeProfiles ?? LETS_ENCRYPT_PROFILES, managementUrl: pebble.managementUrl },
    });
    stoppers.push(acme.stop);
    const secondCa = options.secondCa
      ? await startSecondCa({
          ca,
          httpPort: dataPlane.httpPort,
          dns: pebble,
          keyVault,
          certificateValidityPeriodSeconds: options.certificateValidityPeriodSeconds,
          ...(typeof options.secondCa === 'object' ? options.secondCa : {}),
        })
      : undefined;
    if (secondCa) stoppers.push(secondCa.stop);
    // POST /acme/renewal-window {hostname, start, end}: the CA asks for an earlier (or later) renewal.
    // POST /arm/gateway/out-of-band {tags?, addProbe?, delayMs?}: a person edits the gateway in the portal.
    // POST /gateway/keyvault-poll: the gateway's four-hourly Key Vault poll, now.
    // POST /rbac/without-action {role, action}, /rbac/remove-assignment {name, scope?}, /rbac/restore, /rbac/denials:
    //   take one permission away (sandbox/rbac/), put everything back, list what was refused.
    // POST /storage/public-access {allow}: the challenge account's allowBlobPublicAccess.
    const admin = await startAdminServer(faults, counters, async (method, route, body) => {
      if (method !== 'POST') return undefined;
      if (route === '/acme/renewal-window') {
        const { hostname, start, end } = (body ?? {}) as { hostname?: unknown; start?: unknown; end?: unknown };
        const window = { start: new Date(String(start)), end: new Date(String(end)) };
        if (typeof hostname !== 'string' || Number.isNaN(window.start.getTime()) || Number.isNaN(window.end.getTime())) {
          throw new Error('hostname, start and end (ISO dates) are required');
        }
        return { certificateIds: acme.renewalInfo.suggestWindow(hostname, window) };
      }
      if (route === '/arm/gateway/out-of-band') return arm.outOfBandEdit(outOfBandEdit(body));
      if (route === '/gateway/keyvault-poll') {
        await dataPlane.pollKeyVault();
        return { listeners: dataPlane.listenerStates() };
      }
      const { role, action, name, allow } = (body ?? {}) as { role?: unknown; action?: unknown; name?: unknown; allow?: unknown };
      if (route === '/rbac/without-action') {
        if (typeof role !== 'string' || typeof action !== 'string') throw new Error('role and action are required');
        roles.withoutAction(role, action);
        return { role: roles.definition(role) };
      }
      if (route === '/rbac/remove-assignment') {
        if (typeof name !== 'string') throw new Error('name is required');
        const { scope } = (body ?? {}) as { scope?: unknown };
        if (scope !== undefined && typeof scope !== 'string') throw new Error('scope must be a resource id');
        roles.removeAssignment(name, scope);
        return { assignments: roles.assignments().map((a) => a.name) };
      }
      if (route === '/rbac/restore') {
        roles.restore();
        return { restored: true };
      }
      if (route === '/rbac/denials') return { denials: roles.denials() };
      if (route === '/storage/public-access') {
        if (typeof allow !== 'boolean') throw new Error('allow must be a boolean');
        storage.setAllowBlobPublicAccess(allow);
        return { allowBlobPublicAccess: allow };
      }
      return undefined;
    });
    stoppers.push(admin.stop);
    const rootPath = path.join(options.stateDir, 'acme-root.pem');
    fs.writeFileSync(rootPath, pebble.rootPem);

    const settings: Record<string, string> = {
      AcmeEndpoint: acme.directoryUrl,
      AcmeAccountEmail: 'sandbox@example.com',
      TenantId: SANDBOX_TENANT,
      SubscriptionId: SANDBOX_SUBSCRIPTION,
      ApplicationGatewayResourceGroup: RESOURCE_GROUP,
      ApplicationGatewayName: GATEWAY,
      ApplicationGatewayHttpSettingsName: HTTP_SETTINGS,
      ApplicationGatewayBackendName: BACKEND_POOL,
      BlobContainerUrl: challengeContainerUrl,
      KeyVaultBaseUrl: keyVault.url,
      ArmEndpoint: arm.url,
      DnsServers: pebble.dnsServer,
      // The Azure DNS zones the app may write _acme-challenge TXT record sets in (emulators/dnsZones.ts).
      DnsZoneResourceIds: dnsZones.zones.map((zone) => zone.id).join(','),
      // The zones' name servers resolve (challtestsrv's default answer) to 127.0.0.1: ask them on challtestsrv's DNS port.
      DnsAuthoritativePort: pebble.dnsServer.slice(pebble.dnsServer.lastIndexOf(':') + 1),
      Http01ValidationPort: String(dataPlane.httpPort),
      GatewayHttpsPort: String(dataPlane.httpsPort),
      KeyVaultChallengeResourceVerification: 'false',
      RenewalSchedule: '0 0 3 * * *',
      RenewalJitterMinutes: '0',
      HistoryPurgeSchedule: '0 30 3 * * *',
      // Set empty: any name (the tests' hostnames are many); tests of the allow-list set their own.
      AllowedHostnames: '',
      ...(options.appServiceAuthentication ? { ApiAuthentication: 'AppServiceAuthentication' } : {}),
    };
    for (const [name, value] of Object.entries(options.settings ?? {})) {
      if (value === undefined) delete settings[name];
      else settings[name] = value;
    }
    // The API's app registration and the key its tokens are signed with (Entra's, on Azure).
    const apiClientId = randomUUID();
    const signingKeys = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
    const easyAuth: EasyAuthSettings = {
      tenantId: SANDBOX_TENANT,
      clientId: apiClientId,
      issuer: `https://login.microsoftonline.com/${SANDBOX_TENANT}/v2.0`,
      allowedAudiences: [`api://${apiClientId}`, apiClientId],
      publicKeyPem: signingKeys.publicKey,
      // As infra/modules/app.bicep's authsettingsV2: the dashboard page, its files (app.js, app.css) and the OpenAPI document.
      excludedPaths: ['/api/dashboard', '/api/dashboard/*', '/api/openapi.json'],
    };
    const identity: SandboxIdentity = {
      apiClientId,
      userToken: (user) =>
        mintUserToken({
          tenantId: SANDBOX_TENANT,
          audience: user.audience ?? apiClientId,
          signingKeyPem: signingKeys.privateKey,
          oid: user.oid ?? randomUUID(),
          upn: user.upn,
          name: user.name,
          roles: user.roles,
          issuer: user.issuer,
          lifetimeSeconds: user.lifetimeSeconds,
        }),
    };
    const hostEnv: Record<string, string> = {
      ...settings,
      IDENTITY_ENDPOINT: tokens.endpoint,
      IDENTITY_HEADER: tokens.header,
      // As infra sets it: the user-assigned identity DefaultAzureCredential asks tokens for.
      AZURE_CLIENT_ID: appIdentity.clientId,
      // The emulators' TLS certificates come from the sandbox CA; Node reads this at start only.
      NODE_EXTRA_CA_CERTS: caPath,
      // App Service sets WEBSITE_AUTH_ENABLED=True while App Service Authentication is on.
      ...(options.appServiceAuthentication ? { WEBSITE_AUTH_ENABLED: 'True', [EASY_AUTH_ENV]: JSON.stringify(easyAuth) } : {}),
    };

    const hostOptions = {
      app: options.appEntry ?? 'dist/src/functions/index.js',
      stateDir: path.join(options.stateDir, 'durable'),
      clock: options.hostClock ?? 'real',
      timerLatencyMs: options.hostTimerLatencyMs,
      env: hostEnv,
      port: options.hostPort ?? 0,
      echo: options.echoHostOutput,
      functionKey: newKey(),
      masterKey: newKey(),
      timers: options.scheduledTimers ? ('schedule' as const) : ('manual' as const),
    };
    let host = options.withHost === false ? undefined : await spawnHost(hostOptions);
    stoppers.push(async () => {
      await host?.kill();
    });

    const endpoints: SandboxEndpoints = {
      apiBaseUrl: host ? `${host.url}/api` : '',
      functionKey: host?.functionKey ?? '',
      masterKey: host?.masterKey ?? '',
      gatewayHttpUrl: dataPlane.httpUrl,
      gatewayHttpsUrl: dataPlane.httpsUrl,
      gatewayPublicIp: '127.0.0.1',
      acmeDirectoryUrl: acme.directoryUrl,
      acmeRootCaPem: rootPath,
      sandboxCaPem: caPath,
      dnsServer: pebble.dnsServer,
      challtestsrvUrl: pebble.challtestsrvUrl,
      keyVaultUrl: keyVault.url,
      armUrl: arm.url,
      blobContainerUrl: challengeContainerUrl,
      stateContainerUrl,
      adminUrl: admin.url,
    };
    fs.writeFileSync(path.join(options.stateDir, 'endpoints.json'), `${JSON.stringify(endpoints, null, 2)}\n`);

    const sandbox: Sandbox = {
      endpoints,
      settings,
      ca,
      acmeRootPem: pebble.rootPem,
      counters,
      faults,
      pebble,
      acme,
      ...(secondCa ? { secondCa } : {}),
      azurite,
      storage,
      rbac: roles,
      appIdentity,
      identity,
      keyVault,
      arm,
      dnsZones,
      dataPlane,
      host,
      restartHost: async (signal = 'SIGKILL', changed = {}) => {
        await host?.kill(signal);
        for (const [name, value] of Object.entries(changed)) {
          if (value === undefined) {
            delete settings[name];
            delete hostOptions.env[name];
          } else {
            settings[name] = value;
            hostOptions.env[name] = value;
          }
        }
        host = await spawnHost({ ...hostOptions, port: host?.port ?? hostOptions.port });
        sandbox.host = host;
        return host;
      },
      stop: stopAll,
    };
    return sandbox;
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** How the sandbox seeds its gateway (the ARM emulator's options). */
function gatewaySeed(options: Pick<SandboxOptions, 'gatewaySku' | 'wafRuleSetVersion' | 'landingZone'>, challengeContainerUrl: string): SeedOptions {
  return {
    subscriptionId: SANDBOX_SUBSCRIPTION,
    resourceGroup: RESOURCE_GROUP,
    gatewayName: GATEWAY,
    location: LOCATION,
    publicIp: '127.0.0.1',
    backendPoolName: BACKEND_POOL,
    httpSettingsName: HTTP_SETTINGS,
    challengeContainerUrl,
    gatewaySku: options.gatewaySku,
    // A WAF_v2 gateway without a WAF policy gets the inline configuration (CRS 3.2 unless asked otherwise).
    wafRuleSetVersion: options.wafRuleSetVersion ?? (options.gatewaySku === 'WAF_v2' && options.landingZone !== 'waf-policy' ? '3.2' : undefined),
    landingZone: options.landingZone,
  };
}

/**
 * The resources a PUT of the gateway the sandbox seeds links (each with an onLinkedResource
 * assignment), without starting anything: for tests that generate one case per assignment.
 */
export function seededLinkedResources(options: Pick<SandboxOptions, 'gatewaySku' | 'wafRuleSetVersion' | 'landingZone'> = {}): string[] {
  // The challenge container's URL only shapes a backend pool, not what the gateway links.
  return linkedResourcesOf(seedGateway(gatewaySeed(options, 'https://127.0.0.1/account/container')).gateway);
}

/** What a PUT of this gateway links (gatewayLinkedAccess), each resource once. */
function linkedResourcesOf(gateway: GatewayResource): string[] {
  const linked = gatewayLinkedAccess(gateway).map((check) => check.scope);
  return linked.filter((scope, i) => linked.findIndex((other) => other.toLowerCase() === scope.toLowerCase()) === i);
}

/** The gateway's user-assigned identity as the seeded gateway names it: its principal (object) id and client id. */
function gatewayIdentityOf(gateway: GatewayResource): { objectId: string; clientId?: string } {
  const [identity] = Object.values(gateway.identity?.userAssignedIdentities ?? {}) as { principalId?: string; clientId?: string }[];
  if (!identity?.principalId) throw new Error('the seeded gateway has no user-assigned identity');
  return { objectId: identity.principalId, clientId: identity.clientId };
}

/**
 * The sandbox's resource ids for the scopes infra/roles.json names; the gateway's linked resources
 * are what a PUT of the seeded gateway links (gatewayLinkedAccess, the list the deployment assigns
 * the gateway linker on), each once.
 */
export function sandboxScopes(gateway: GatewayResource, subscription: string, appGroup: string, challengeAccount: string, vault: string, dnsZones: string[] = []): SandboxScopes {
  const gatewayLinkedResources = linkedResourcesOf(gateway);
  if (gatewayLinkedResources.length === 0) throw new Error('the seeded gateway links no subnet, public IP or identity');
  return {
    subscription,
    appResourceGroup: appGroup,
    gatewayResourceGroup: gateway.id.replace(/\/providers\/.*$/i, ''),
    hostStorage: `${appGroup}/providers/Microsoft.Storage/storageAccounts/stsandboxhost`,
    challengeAccount,
    challengeContainer: `${challengeAccount}/blobServices/default/containers/${CHALLENGE_CONTAINER}`,
    stateContainer: `${challengeAccount}/blobServices/default/containers/${STATE_CONTAINER}`,
    vault,
    insights: `${appGroup}/providers/Microsoft.Insights/components/appi-sandbox`,
    scheduler: `${appGroup}/providers/Microsoft.DurableTask/schedulers/dts-sandbox`,
    gateway: gateway.id,
    gatewayLinkedResources,
    dnsZones,
  };
}

import { randomUUID } from 'node:crypto';
import { Counters, delay, FaultInjector } from '../faults';
import { SandboxCa } from '../tls/ca';
import { ArmError, REQUIRED_COLLECTIONS, validateGateway } from './armValidation';
import { ArmResourceGroup, armResources } from './armResources';
import { checkLimits } from './gatewayLimits';
import { CHILD_COLLECTIONS, Child, GatewayResource } from './gatewayModel';
import { EmulatorReply, EmulatorRequest, startHttpsEmulator } from './httpsServer';
import { LandingZone, landingZoneLayout, SeededPublicIp } from './landingZones';
import { verifyBearer } from '../identity';
import { gatewayLinkedAccess } from '../../src/domain/gatewayLinks';

/**
 * Azure Resource Manager emulator for the Microsoft.Network calls the app makes
 * (azure-rest-api-specs network: applicationGateway.json, publicIpAddress.json), as strict as the
 * Network resource provider where public sources show how it answers:
 *
 * - PUT applicationGateways is a long-running operation lasting `operationDelayMs` (default 45 s:
 *   an update takes 2-5 minutes on Azure, MicrosoftDocs/SupportArticles-docs
 *   troubleshoot-application-gateway-key-vault-certificate.md; 45 s keeps a local run bearable). The
 *   update answers 200 with the new configuration in provisioningState "Updating" and the headers
 *   `Azure-AsyncOperation` (…/providers/Microsoft.Network/locations/{loc}/operations/{guid}, the
 *   guid also in x-ms-request-id), `Azure-AsyncNotification: Enabled` and `Retry-After: 10`
 *   (Azure/azure-powershell session record ApplicationGatewayTests/TestKeyVaultIntegrationTest.json,
 *   PUT applicationGateways, 2020; azure-cli recordings/test_network_ag_listener.yaml shows the same
 *   200 without Retry-After in 2025: the sources disagree and the header is kept, `retryAfterSeconds`).
 *   Polling the operation answers {"status":"InProgress"} with Retry-After growing as the service's
 *   did in that session record (10, 10, 20, 20, 40, 40, then 100 s; scaled to `retryAfterSeconds`),
 *   then {"status":"Succeeded"} without Retry-After.
 * - GET shows the latest accepted configuration (provisioningState "Updating" while it runs); the
 *   data plane runs the previous one until the operation completes.
 * - A newer accepted PUT cancels the running one: it ends {"status":"Canceled"} with error code
 *   "Canceled", message "Operation was canceled." and the detail CanceledAndSupersededDueToAnotherOperation
 *   "Operation PutApplicationGatewayOperation (a) was canceled and superseded by operation
 *   PutApplicationGatewayOperation (b)." (Azure/azure-cli#21156, Azure/application-gateway-kubernetes-ingress#187).
 * - Every accepted PUT gives the resource a new weak etag W/"guid", and so does its completion
 *   (the etag of a Network RP resource in the PUT answer differs from the one after the operation:
 *   azure-sdk-for-js arm-network recording_virtualnetworks_create_test.json).
 * - If-Match on PUT is compared with the etag GET shows now (`*` matches): a mismatch answers 412
 *   PreconditionFailedEtagMismatch and applies nothing. The code is the Network RP's (seen on a
 *   Microsoft.Network PUT with a mangled If-Match; kubernetes-sigs/cloud-provider-azure names the
 *   same 412 for load balancers and security groups); the wording is Compute's
 *   (cloud-provider-azure pkg/retry/etagmismatch_error.go), the Network RP's is unverified. The Network
 *   RP has been reported to ignore If-Match on some resources (azure-rest-api-specs#6789): honouring it
 *   is the stricter reading.
 * - Limits, child names and configuration rules are refused with 400 before anything starts
 *   (gatewayLimits.ts, armValidation.ts).
 * - 429 RetryableError, "A retryable error occurred." (Azure/terraform-provider-azapi#691) and other
 *   faults are armed through the FaultInjector; the body is the ARM error envelope.
 * - GET publicIPAddresses with properties.ipAddress and publicIPAddressVersion, for every public IP
 *   the seeded gateway's frontends name, in whatever subscription and resource group the landing
 *   zone puts them (landingZones.ts); paths compare case-insensitively (ARM resource ids are
 *   case-insensitive: Learn, "Resource naming and case sensitivity"). Any other public IP or gateway
 *   answers 404 ResourceNotFound "The Resource '{type}/{name}' under resource group '{rg}' was not
 *   found. For more details please go to https://aka.ms/ARMResourceNotFoundFix" (ARM's wording, as
 *   azure-cli prints it in public issue reports).
 * - Resource groups, the deleted-vault list and the operations catalog the azd hooks read
 *   (armResources.ts): every group the seeded landing zone uses (the gateway's and those of what it
 *   links) and `resourceGroups` exist; a gateway or public IP in any other group answers 404
 *   ResourceGroupNotFound "Resource group '{rg}' could not be found." (ARM checks the group before
 *   the resource provider: Get-AzResource by the id of a resource in a missing group prints that
 *   answer, Azure/azure-powershell#14556).
 * - Authorization (role assignments, linked access checks, the operation URL's rights) is checked
 *   after authentication and api-version by `authorize` (sandbox/rbac/arm.ts); out-of-band edits skip it.
 */
export interface ArmOptions {
  ca: SandboxCa;
  subscriptionId: string;
  resourceGroup: string;
  gatewayName: string;
  location: string;
  publicIp: string;
  backendPoolName: string;
  httpSettingsName: string;
  /** https://host:port/<account>/<container> of the challenge container. */
  challengeContainerUrl: string;
  /** How long a gateway PUT runs before it applies (default 45000 ms). */
  operationDelayMs?: number;
  /** Retry-After (seconds) of a PUT's answer and of the first polls of its operation (default 10, the service's). */
  retryAfterSeconds?: number;
  /** The seeded gateway's SKU (default Standard_v2). */
  gatewaySku?: 'Standard_v2' | 'WAF_v2';
  /** OWASP CRS version of the seeded WAF_v2 gateway's inline WAF configuration (default '3.2'). */
  wafRuleSetVersion?: string;
  /** Where the gateway's subnet, public IPs, identity and WAF policies live (default 'single-group'; landingZones.ts). */
  landingZone?: LandingZone;
  /** Resource groups that exist besides those the landing zone uses (the app's own; armResources.ts). */
  resourceGroups?: ArmResourceGroup[];
  faults?: FaultInjector;
  counters?: Counters;
  /** Role-based access (sandbox/rbac/arm.ts): ARM's 403 for a caller without the request's action or a linked one, else undefined. */
  authorize?(request: EmulatorRequest): EmulatorReply | undefined;
  /** Further resource providers ARM serves (Azure DNS: dnsZones.ts): a reply, or undefined for requests they do not serve. */
  providers?: ArmProvider[];
}

export type ArmProvider = (request: EmulatorRequest, context: { groupExists(subscriptionId: string, name: string): boolean }) => EmulatorReply | undefined;

/** An edit a person makes in the portal: read the gateway, change it, save the whole of it. */
export interface OutOfBandEdit {
  /** Tags merged into the gateway's tags. */
  tags?: Record<string, string>;
  /** Name of an HTTP health probe to add. */
  addProbe?: string;
  /** Time between reading the gateway and saving it (default 0): another writer may act in between. */
  delayMs?: number;
}

export type OperationStatus = 'InProgress' | 'Succeeded' | 'Canceled' | 'Failed';

interface ArmErrorBody {
  code: string;
  message: string;
  details?: ArmErrorBody[];
}

export interface ArmEmulator {
  url: string;
  gatewayId: string;
  stop(): Promise<void>;
  /** The configuration the gateway runs now (as applied by the last completed PUT). */
  getGateway(): GatewayResource;
  /** What GET answers now: the latest accepted configuration, "Updating" while its operation runs. */
  readGateway(): GatewayResource;
  onApplied(listener: (gateway: GatewayResource) => void): void;
  /** Test hook: change the running configuration directly (e.g. drop the challenge path rule). */
  mutate(change: (gateway: GatewayResource) => void): void;
  /**
   * A person editing the gateway in the portal while the app works: reads what GET shows, applies
   * the edit and PUTs the whole gateway through the same path as a client PUT (a long-running
   * operation that cancels a running one, a new etag, counted as a PUT). Rejects with the
   * service's code when the PUT is refused.
   */
  outOfBandEdit(edit: OutOfBandEdit): Promise<{ operationId: string }>;
  /** The state of an asynchronous operation (tests). */
  operationStatus(operationId: string): OperationStatus | undefined;
}

interface Operation {
  id: string;
  status: OperationStatus;
  error?: ArmErrorBody;
  polls: number;
  timer?: NodeJS.Timeout;
}

export const DEFAULT_OPERATION_DELAY_MS = 45_000;
/** The service's Retry-After on an application gateway PUT (TestKeyVaultIntegrationTest.json, see above). */
export const DEFAULT_RETRY_AFTER_SECONDS = 10;
/** Retry-After of successive InProgress polls, in units of the first (the service's 10, 10, 20, 20, 40, 40, 100 s). */
const POLL_LADDER = [1, 1, 2, 2, 4, 4, 10];
const DEFAULT_API_VERSION = '2024-05-01';
/** The text httpsServer gives a fault armed without a message. */
const SANDBOX_FAULT_MESSAGE = 'Fault injected by the sandbox.';
/** The service's wording for codes a fault may be armed with. */
const SERVICE_WORDING: Record<string, string> = {
  // Azure/terraform-provider-azapi#691 (2024); an older answer read "occured" (hashicorp/terraform#7986).
  RetryableError: 'A retryable error occurred.',
};

const armError = (status: number, code: string, message: string, headers?: Record<string, string>): EmulatorReply => ({
  status,
  headers,
  body: { error: { code, message, details: [] } },
});

const etag = (): string => `W/"${randomUUID()}"`;
const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/** Frontend names: the IPv4 one the seeded listener uses, then one per further public IP (dual stack). */
const frontendName = (ip: SeededPublicIp, index: number): string => (index === 0 ? 'appGwPublicFrontendIp' : `appGwPublicFrontendIp${ip.version}`);

/** What seeding the gateway reads of the options. */
export type SeedOptions = Pick<
  ArmOptions,
  'subscriptionId' | 'resourceGroup' | 'gatewayName' | 'location' | 'publicIp' | 'backendPoolName' | 'httpSettingsName' | 'challengeContainerUrl' | 'gatewaySku' | 'wafRuleSetVersion' | 'landingZone'
>;

export function seedGateway(options: SeedOptions): { gateway: GatewayResource; publicIps: SeededPublicIp[] } {
  const rg = `/subscriptions/${options.subscriptionId}/resourceGroups/${options.resourceGroup}`;
  const id = `${rg}/providers/Microsoft.Network/applicationGateways/${options.gatewayName}`;
  const zone = options.landingZone ?? 'single-group';
  const layout = landingZoneLayout(zone, {
    subscriptionId: options.subscriptionId,
    resourceGroup: options.resourceGroup,
    gatewayName: options.gatewayName,
    publicIp: options.publicIp,
    sku: options.gatewaySku ?? (zone === 'waf-policy' ? 'WAF_v2' : 'Standard_v2'),
  });
  const blob = new URL(options.challengeContainerUrl);
  const child = (collection: string, name: string): string => `${id}/${collection}/${name}`;
  const sku = layout.sku;
  if (options.wafRuleSetVersion !== undefined && sku !== 'WAF_v2') throw new Error('wafRuleSetVersion needs gatewaySku WAF_v2');
  // A WAF_v2 gateway has a WAF policy or an inline configuration (armValidation.ts); the policy's rule set lives in the policy.
  if (options.wafRuleSetVersion !== undefined && layout.gatewayWafPolicyId) throw new Error('wafRuleSetVersion is the inline WAF configuration; the waf-policy landing zone uses a WAF policy');
  const inlineWaf = sku === 'WAF_v2' && !layout.gatewayWafPolicyId;
  const gateway: GatewayResource = {
    id,
    name: options.gatewayName,
    type: 'Microsoft.Network/applicationGateways',
    location: options.location,
    identity: { type: 'UserAssigned', userAssignedIdentities: { [layout.identityId]: { principalId: randomUUID(), clientId: randomUUID() } } },
    properties: {
      sku: { name: sku, tier: sku, capacity: 1 },
      // Inline WAF settings (ApplicationGatewayWebApplicationFirewallConfiguration in applicationGateway.json).
      ...(inlineWaf
        ? { webApplicationFirewallConfiguration: { enabled: true, firewallMode: 'Prevention', ruleSetType: 'OWASP', ruleSetVersion: options.wafRuleSetVersion ?? '3.2' } }
        : {}),
      // The gateway's WAF policy (ApplicationGatewayPropertiesFormat.firewallPolicy, a SubResource).
      ...(layout.gatewayWafPolicyId ? { firewallPolicy: { id: layout.gatewayWafPolicyId } } : {}),
      gatewayIPConfigurations: [{ name: 'appGatewayIpConfig', properties: { subnet: { id: layout.subnetId } } }],
      frontendIPConfigurations: layout.publicIps.map((ip, index) => ({ name: frontendName(ip, index), properties: { publicIPAddress: { id: ip.id } } })),
      frontendPorts: [
        { name: 'port_80', properties: { port: 80 } },
        { name: 'port_443', properties: { port: 443 } },
      ],
      backendAddressPools: [
        { name: options.backendPoolName, properties: { backendAddresses: [{ ipAddress: '127.0.0.1' }] } },
        { name: 'acme-challenge-pool', properties: { backendAddresses: [{ ipAddress: blob.hostname }] } },
      ],
      backendHttpSettingsCollection: [
        { name: options.httpSettingsName, properties: { port: 80, protocol: 'Http' } },
        {
          name: 'acme-challenge-settings',
          properties: {
            port: Number(blob.port || 443),
            protocol: 'Https',
            // The gateway appends only the part the wildcard matched (notes: azure-wire.md).
            path: `${blob.pathname.replace(/\/$/, '')}/.well-known/acme-challenge/`,
            pickHostNameFromBackendAddress: true,
            probe: { id: child('probes', 'acme-challenge-probe') },
          },
        },
      ],
      probes: [{ name: 'acme-challenge-probe', properties: { protocol: 'Https', path: '/', match: { statusCodes: ['200-499'] } } }],
      httpListeners: [
        {
          name: 'http-listener',
          properties: {
            frontendIPConfiguration: { id: child('frontendIPConfigurations', 'appGwPublicFrontendIp') },
            frontendPort: { id: child('frontendPorts', 'port_80') },
            protocol: 'Http',
            // A per-site WAF policy (ApplicationGatewayHttpListenerPropertiesFormat.firewallPolicy).
            ...(layout.listenerWafPolicyId ? { firewallPolicy: { id: layout.listenerWafPolicyId } } : {}),
          },
        },
      ],
      sslCertificates: [],
      urlPathMaps: [
        {
          name: 'http-path-map',
          properties: {
            defaultBackendAddressPool: { id: child('backendAddressPools', options.backendPoolName) },
            defaultBackendHttpSettings: { id: child('backendHttpSettingsCollection', options.httpSettingsName) },
            pathRules: [
              {
                name: 'acme-challenge',
                properties: {
                  paths: ['/.well-known/acme-challenge/*'],
                  backendAddressPool: { id: child('backendAddressPools', 'acme-challenge-pool') },
                  backendHttpSettings: { id: child('backendHttpSettingsCollection', 'acme-challenge-settings') },
                },
              },
            ],
          },
        },
      ],
      requestRoutingRules: [
        {
          name: 'http-rule',
          properties: {
            ruleType: 'PathBasedRouting',
            priority: 100,
            httpListener: { id: child('httpListeners', 'http-listener') },
            urlPathMap: { id: child('urlPathMaps', 'http-path-map') },
          },
        },
      ],
    },
  };
  return { gateway: normalise(gateway, 'Succeeded'), publicIps: layout.publicIps };
}

/** Children of every collection, each with an object `properties`. */
function childrenOf(gateway: GatewayResource, collection: (typeof CHILD_COLLECTIONS)[number]): Child[] {
  const items = gateway.properties[collection];
  return Array.isArray(items) ? (items as Child[]).filter((item) => item && typeof item === 'object') : [];
}

/** Fills what the service fills: child ids, types, etags and provisioning states; a new etag. */
function normalise(gateway: GatewayResource, state: string): GatewayResource {
  const copy = clone(gateway);
  copy.etag = etag();
  copy.properties.provisioningState = state;
  copy.properties.operationalState = 'Running';
  for (const collection of CHILD_COLLECTIONS) {
    for (const item of childrenOf(copy, collection)) {
      item.properties ??= {};
      item.id = `${copy.id}/${collection}/${item.name}`;
      item.etag = copy.etag;
      item.type = `Microsoft.Network/applicationGateways/${collection}`;
      item.properties.provisioningState = state;
      if (collection === 'urlPathMaps') {
        for (const rule of (item.properties.pathRules as Child[] | undefined) ?? []) {
          rule.properties ??= {};
          rule.id = `${item.id}/pathRules/${rule.name}`;
          rule.properties.provisioningState = state;
        }
      }
    }
  }
  return copy;
}

/** If-Match: `*` or one of a comma-separated list of entity tags equal to the current etag. */
function ifMatchHolds(header: string, current: string | undefined): boolean {
  const tags = header.split(',').map((tag) => tag.trim()).filter(Boolean);
  return tags.includes('*') || (current !== undefined && tags.includes(current));
}

export async function startArmEmulator(options: ArmOptions): Promise<ArmEmulator> {
  const seeded = seedGateway(options);
  const operationDelayMs = options.operationDelayMs ?? DEFAULT_OPERATION_DELAY_MS;
  const retryAfterSeconds = options.retryAfterSeconds ?? DEFAULT_RETRY_AFTER_SECONDS;
  let applied = seeded.gateway;
  let current = seeded.gateway;
  let running: Operation | undefined;
  const operations = new Map<string, Operation>();
  const listeners: ((gateway: GatewayResource) => void)[] = [];
  const count = (operation: string): void => options.counters?.increment('arm', operation);
  // publicIpAddress.json: a v2 gateway's public IPs are Standard and Static (Learn, Application Gateway
  // frontend IP configuration), IPv4 or IPv6 (publicIPAddressVersion).
  const publicIps = new Map(
    seeded.publicIps.map((ip) => [
      ip.id.toLowerCase(),
      {
        id: ip.id,
        name: ip.name,
        type: 'Microsoft.Network/publicIPAddresses',
        location: options.location,
        sku: { name: 'Standard', tier: 'Regional' },
        properties: { provisioningState: 'Succeeded', ipAddress: ip.ipAddress, publicIPAddressVersion: ip.version, publicIPAllocationMethod: 'Static' },
      },
    ]),
  );
  const gatewayPath = seeded.gateway.id.toLowerCase();
  // The groups the landing zone uses: the gateway's and those of every resource it links.
  const zoneGroups = [seeded.gateway.id, ...gatewayLinkedAccess(seeded.gateway).map((check) => check.scope)]
    .map((id) => /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)/i.exec(id))
    .filter((match): match is RegExpExecArray => !!match)
    .map((match): ArmResourceGroup => ({ subscriptionId: match[1], name: match[2], location: options.location }));
  const resources = armResources(
    [...zoneGroups, ...(options.resourceGroups ?? [])].filter(
      (group, i, all) => all.findIndex((other) => other.subscriptionId.toLowerCase() === group.subscriptionId.toLowerCase() && other.name.toLowerCase() === group.name.toLowerCase()) === i,
    ),
  );
  const operationsPath = `/subscriptions/${options.subscriptionId}/providers/microsoft.network/locations/${options.location}/operations/`.toLowerCase();
  let base = '';

  const apply = (gateway: GatewayResource): void => {
    applied = gateway;
    for (const listener of listeners) listener(applied);
  };

  const cancel = (operation: Operation, supersededBy: string): void => {
    clearTimeout(operation.timer);
    operation.status = 'Canceled';
    // The service's codes and wording (Azure/azure-cli#21156, application-gateway-kubernetes-ingress#187).
    operation.error = {
      code: 'Canceled',
      message: 'Operation was canceled.',
      details: [
        {
          code: 'CanceledAndSupersededDueToAnotherOperation',
          message: `Operation PutApplicationGatewayOperation (${operation.id}) was canceled and superseded by operation PutApplicationGatewayOperation (${supersededBy}).`,
        },
      ],
    };
    count('applicationGateways.put.canceled');
  };

  /** The one path every gateway PUT takes (client requests and out-of-band edits alike). */
  function putGateway(body: unknown, ifMatch: string | undefined, apiVersion: string): EmulatorReply {
    const resource = body as Partial<GatewayResource> | undefined;
    if (!resource || typeof resource !== 'object' || !resource.properties || typeof resource.properties !== 'object') {
      return armError(400, 'InvalidRequestContent', 'The request content was invalid and could not be deserialized: properties are required.');
    }
    if (ifMatch !== undefined && !ifMatchHolds(ifMatch, current.etag)) {
      return armError(412, 'PreconditionFailedEtagMismatch', `Etag provided in if-match header ${ifMatch} does not match etag ${current.etag} of resource.`);
    }
    const properties = clone(resource.properties) as GatewayResource['properties'];
    for (const collection of REQUIRED_COLLECTIONS) if (!Array.isArray(properties[collection])) properties[collection] = [];
    delete properties.provisioningState;
    delete properties.operationalState;
    // A PUT replaces the resource: tags and identity are what the body says.
    const candidate: GatewayResource = { id: current.id, name: current.name, type: current.type, location: current.location, tags: resource.tags, identity: resource.identity, properties };
    for (const collection of CHILD_COLLECTIONS) {
      for (const item of childrenOf(candidate, collection)) item.id = `${candidate.id}/${collection}/${item.name}`;
    }
    const invalid: ArmError | undefined = checkLimits(candidate) ?? validateGateway(candidate, current);
    if (invalid) return armError(400, invalid.code, invalid.message);

    const operation: Operation = { id: randomUUID(), status: 'InProgress', polls: 0 };
    operations.set(operation.id, operation);
    count('applicationGateways.put.accepted');
    if (running) cancel(running, operation.id);
    running = operation;
    current = normalise(candidate, 'Updating');
    operation.timer = setTimeout(() => {
      running = undefined;
      operation.status = 'Succeeded';
      current = normalise(candidate, 'Succeeded');
      count('applicationGateways.put.succeeded');
      apply(current);
    }, operationDelayMs);
    operation.timer.unref();
    return {
      status: 200,
      headers: {
        'azure-asyncoperation': `${base}/subscriptions/${options.subscriptionId}/providers/Microsoft.Network/locations/${options.location}/operations/${operation.id}?api-version=${apiVersion}`,
        'azure-asyncnotification': 'Enabled',
        'retry-after': String(retryAfterSeconds),
        'x-ms-request-id': operation.id,
      },
      body: current,
    };
  }

  function operationStatus(operation: Operation): EmulatorReply {
    if (operation.status !== 'InProgress') {
      return { status: 200, body: { status: operation.status, ...(operation.error ? { error: operation.error } : {}) } };
    }
    const step = POLL_LADDER[Math.min(operation.polls, POLL_LADDER.length - 1)];
    operation.polls += 1;
    return { status: 200, headers: { 'retry-after': String(step * retryAfterSeconds) }, body: { status: 'InProgress' } };
  }

  const server = await startHttpsEmulator(
    {
      ca: options.ca,
      service: 'arm',
      faults: options.faults,
      counters: options.counters,
      operation: (request) => {
        const path = request.url.pathname.toLowerCase();
        if (path === gatewayPath) return `applicationGateways.${request.method.toLowerCase()}`;
        if (publicIps.has(path)) return `publicIPAddresses.${request.method.toLowerCase()}`;
        if (path.includes('/operations/')) return 'operations.get';
        // Azure DNS (dnsZones.ts): record sets are /dnszones/{zone}/{type}/{name}.
        if (/\/providers\/microsoft\.network\/dnszones(\/|$)/.test(path)) {
          return `${/\/dnszones\/[^/]+\/[^/]+\/[^/]+$/.test(path) ? 'dnsRecordSets' : 'dnsZones'}.${request.method.toLowerCase()}`;
        }
        return 'other';
      },
      faultBody: (code, message) => ({
        error: { code, message: message === SANDBOX_FAULT_MESSAGE ? (SERVICE_WORDING[code] ?? message) : message, details: [] },
      }),
    },
    (request: EmulatorRequest) => {
      if (!verifyBearer(request.headers.authorization, 'https://management.azure.com')) {
        return armError(401, 'AuthenticationFailed', 'Authentication failed. The Authorization header is missing or its token is not valid for https://management.azure.com.');
      }
      const apiVersion = request.url.searchParams.get('api-version');
      if (!apiVersion) return armError(400, 'MissingApiVersionParameter', 'The api-version query parameter (?api-version=) is required for all requests.');
      const forbidden = options.authorize?.(request);
      if (forbidden) return forbidden;
      const path = request.url.pathname.toLowerCase();
      if (path === gatewayPath) {
        if (request.method === 'GET') return { status: 200, headers: current.etag ? { etag: current.etag } : {}, body: current };
        if (request.method === 'PUT') {
          const ifMatch = request.headers['if-match'];
          return putGateway(request.body, Array.isArray(ifMatch) ? ifMatch.join(',') : ifMatch, apiVersion);
        }
      }
      const publicIp = publicIps.get(path);
      if (publicIp && request.method === 'GET') return { status: 200, body: publicIp };
      if (path.startsWith(operationsPath) && request.method === 'GET') {
        const operation = operations.get(path.slice(operationsPath.length));
        if (!operation) return armError(404, 'NotFound', 'Operation not found.');
        return operationStatus(operation);
      }
      const served = resources.serve(request);
      if (served) return served;
      for (const provider of options.providers ?? []) {
        const reply = provider(request, { groupExists: resources.groupExists });
        if (reply) return reply;
      }
      const missing = /^\/subscriptions\/([^/]+)\/resourcegroups\/([^/]+)\/providers\/(microsoft\.network\/(?:applicationgateways|publicipaddresses)\/[^/]+)$/i.exec(request.url.pathname.replace(/\/+$/, ''));
      if (missing && !resources.groupExists(missing[1], missing[2])) {
        return armError(404, 'ResourceGroupNotFound', `Resource group '${missing[2]}' could not be found.`);
      }
      if (missing) {
        return armError(404, 'ResourceNotFound', `The Resource '${missing[3]}' under resource group '${missing[2]}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`);
      }
      return armError(404, 'NotFound', `No route ${request.method} ${request.url.pathname}`);
    },
  );
  base = server.url;

  return {
    url: server.url,
    gatewayId: seeded.gateway.id,
    stop: async () => {
      clearTimeout(running?.timer);
      await server.stop();
    },
    getGateway: () => applied,
    readGateway: () => current,
    onApplied: (listener) => listeners.push(listener),
    mutate: (change) => {
      const copy = clone(applied);
      change(copy);
      const changed = normalise(copy, 'Succeeded');
      if (!running) current = changed;
      apply(changed);
    },
    outOfBandEdit: async (edit) => {
      // The portal reads the gateway as GET shows it and sends the whole of it back.
      const read = clone(current);
      if (edit.delayMs) await delay(edit.delayMs);
      if (edit.tags) read.tags = { ...(read.tags ?? {}), ...edit.tags };
      if (edit.addProbe) {
        read.properties.probes = [
          ...(read.properties.probes ?? []),
          { name: edit.addProbe, properties: { protocol: 'Http', host: '127.0.0.1', path: '/', interval: 30, timeout: 30, unhealthyThreshold: 3 } },
        ];
      }
      count('applicationGateways.put');
      const reply = putGateway(read, undefined, DEFAULT_API_VERSION);
      if (reply.status !== 200) {
        const error = (reply.body as { error: ArmErrorBody }).error;
        throw Object.assign(new Error(`${error.code}: ${error.message}`), { code: error.code, statusCode: reply.status });
      }
      return { operationId: reply.headers?.['x-ms-request-id'] ?? '' };
    },
    operationStatus: (operationId) => operations.get(operationId.toLowerCase())?.status,
  };
}

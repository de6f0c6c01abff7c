import { randomBytes, randomUUID } from 'node:crypto';
import { Counters, FaultInjector } from '../faults';
import { SandboxCa } from '../tls/ca';
import { validateGateway } from './armValidation';
import { CHILD_COLLECTIONS, Child, GatewayResource } from './gatewayModel';
import { EmulatorReply, EmulatorRequest, startHttpsEmulator } from './httpsServer';
import { verifyBearer } from '../identity';

/**
 * Azure Resource Manager emulator for the Microsoft.Network calls the app makes
 * (azure-rest-api-specs network: applicationGateway.json, publicIpAddress.json):
 * - GET / PUT applicationGateways with the long-running operation protocol: PUT answers 201/200
 *   with provisioningState "Updating" and an Azure-AsyncOperation URL that reports InProgress,
 *   then Succeeded (ARM async operations: https://learn.microsoft.com/azure/azure-resource-manager/
 *   management/async-operations); the new configuration applies when the operation completes;
 * - a PUT while another runs gets 409 AnotherOperationInProgress (not retried by the SDK);
 * - GET publicIPAddresses with properties.ipAddress.
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
  operationDelayMs?: number;
  faults?: FaultInjector;
  counters?: Counters;
}

export interface ArmEmulator {
  url: string;
  gatewayId: string;
  stop(): Promise<void>;
  /** The configuration the gateway runs now (as applied by the last completed PUT). */
  getGateway(): GatewayResource;
  onApplied(listener: (gateway: GatewayResource) => void): void;
  /** Test hook: change the running configuration directly (e.g. drop the challenge path rule). */
  mutate(change: (gateway: GatewayResource) => void): void;
}

interface Operation {
  status: 'InProgress' | 'Succeeded' | 'Failed';
  error?: { code: string; message: string };
}

const armError = (status: number, code: string, message: string, headers?: Record<string, string>): EmulatorReply => ({
  status,
  headers,
  body: { error: { code, message, details: [] } },
});

const etag = (): string => `W/"${randomUUID()}"`;

export function seedGateway(options: ArmOptions): { gateway: GatewayResource; publicIpId: string } {
  const rg = `/subscriptions/${options.subscriptionId}/resourceGroups/${options.resourceGroup}`;
  const id = `${rg}/providers/Microsoft.Network/applicationGateways/${options.gatewayName}`;
  const publicIpId = `${rg}/providers/Microsoft.Network/publicIPAddresses/${options.gatewayName}-pip`;
  const identityId = `${rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${options.gatewayName}-identity`;
  const blob = new URL(options.challengeContainerUrl);
  const child = (collection: string, name: string): string => `${id}/${collection}/${name}`;
  const gateway: GatewayResource = {
    id,
    name: options.gatewayName,
    type: 'Microsoft.Network/applicationGateways',
    location: options.location,
    identity: { type: 'UserAssigned', userAssignedIdentities: { [identityId]: { principalId: randomUUID(), clientId: randomUUID() } } },
    properties: {
      sku: { name: 'Standard_v2', tier: 'Standard_v2', capacity: 1 },
      gatewayIPConfigurations: [{ name: 'appGatewayIpConfig', properties: { subnet: { id: `${rg}/providers/Microsoft.Network/virtualNetworks/vnet/subnets/appgw` } } }],
      frontendIPConfigurations: [{ name: 'appGwPublicFrontendIp', properties: { publicIPAddress: { id: publicIpId } } }],
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
  return { gateway: normalise(gateway, 'Succeeded'), publicIpId };
}

/** Fills what the service fills: child ids, types, etags and provisioning states. */
function normalise(gateway: GatewayResource, state: string): GatewayResource {
  const copy: GatewayResource = JSON.parse(JSON.stringify(gateway));
  copy.etag = etag();
  copy.properties.provisioningState = state;
  copy.properties.operationalState = 'Running';
  for (const collection of CHILD_COLLECTIONS) {
    for (const item of (copy.properties[collection] as Child[] | undefined) ?? []) {
      item.id = `${copy.id}/${collection}/${item.name}`;
      item.etag = copy.etag;
      item.type = `Microsoft.Network/applicationGateways/${collection}`;
      item.properties.provisioningState = state;
      if (collection === 'urlPathMaps') {
        for (const rule of (item.properties.pathRules as Child[] | undefined) ?? []) {
          rule.id = `${item.id}/pathRules/${rule.name}`;
          rule.properties.provisioningState = state;
        }
      }
    }
  }
  return copy;
}

export async function startArmEmulator(options: ArmOptions): Promise<ArmEmulator> {
  const seeded = seedGateway(options);
  let applied = seeded.gateway;
  let updating: GatewayResource | undefined;
  const operations = new Map<string, Operation>();
  const listeners: ((gateway: GatewayResource) => void)[] = [];
  const publicIp = {
    id: seeded.publicIpId,
    name: `${options.gatewayName}-pip`,
    type: 'Microsoft.Network/publicIPAddresses',
    location: options.location,
    sku: { name: 'Standard', tier: 'Regional' },
    properties: { provisioningState: 'Succeeded', ipAddress: options.publicIp, publicIPAddressVersion: 'IPv4', publicIPAllocationMethod: 'Static' },
  };
  const gatewayPath = seeded.gateway.id.toLowerCase();
  const publicIpPath = seeded.publicIpId.toLowerCase();
  let base = '';

  const apply = (gateway: GatewayResource): void => {
    applied = gateway;
    for (const listener of listeners) listener(applied);
  };

  function putGateway(request: EmulatorRequest): EmulatorReply {
    if (updating) {
      return armError(409, 'AnotherOperationInProgress', `Another operation on this or dependent resource is in progress. To retrieve status of the operation use uri: ${base}${request.url.pathname}.`);
    }
    const body = request.body as Partial<GatewayResource> | undefined;
    if (!body?.properties) return armError(400, 'InvalidRequestContent', 'The request content was invalid and could not be deserialized: properties are required.');
    const candidate: GatewayResource = { ...applied, ...body, id: applied.id, name: applied.name, type: applied.type, properties: { ...body.properties } as GatewayResource['properties'] };
    for (const collection of CHILD_COLLECTIONS) {
      for (const item of (candidate.properties[collection] as Child[] | undefined) ?? []) item.id = `${candidate.id}/${collection}/${item.name}`;
    }
    const invalid = validateGateway(candidate);
    if (invalid) return armError(400, invalid.code, invalid.message);

    const operationId = randomBytes(16).toString('hex');
    operations.set(operationId, { status: 'InProgress' });
    updating = normalise(candidate, 'Updating');
    const next = normalise(candidate, 'Succeeded');
    setTimeout(() => {
      updating = undefined;
      apply(next);
      operations.set(operationId, { status: 'Succeeded' });
    }, options.operationDelayMs ?? 300);
    const apiVersion = request.url.searchParams.get('api-version') ?? '2024-05-01';
    return {
      status: 200,
      headers: {
        'azure-asyncoperation': `${base}/subscriptions/${options.subscriptionId}/providers/Microsoft.Network/locations/${options.location}/operations/${operationId}?api-version=${apiVersion}`,
      },
      body: updating,
    };
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
        if (path === publicIpPath) return `publicIPAddresses.${request.method.toLowerCase()}`;
        if (path.includes('/operations/')) return 'operations.get';
        return 'other';
      },
      faultBody: (code, message) => ({ error: { code, message, details: [] } }),
    },
    (request) => {
      if (!verifyBearer(request.headers.authorization, 'https://management.azure.com')) {
        return armError(401, 'AuthenticationFailed', 'Authentication failed. The Authorization header is missing or its token is not valid for https://management.azure.com.');
      }
      if (!request.url.searchParams.get('api-version')) return armError(400, 'MissingApiVersionParameter', "The api-version query parameter (?api-version=) is required for all requests.");
      const path = request.url.pathname.toLowerCase();
      if (path === gatewayPath) {
        if (request.method === 'GET') return { status: 200, body: updating ?? applied };
        if (request.method === 'PUT') return putGateway(request);
      }
      if (path === publicIpPath && request.method === 'GET') return { status: 200, body: publicIp };
      const operation = /\/providers\/microsoft\.network\/locations\/[^/]+\/operations\/([0-9a-f]+)$/.exec(path);
      if (operation && request.method === 'GET') {
        const state = operations.get(operation[1]);
        if (!state) return armError(404, 'NotFound', 'Operation not found.');
        return { status: 200, body: { status: state.status, ...(state.error ? { error: state.error } : {}) } };
      }
      if (/\/providers\/microsoft\.network\/(applicationgateways|publicipaddresses)\//.test(path)) {
        return armError(404, 'ResourceNotFound', `The Resource '${request.url.pathname.split('/providers/')[1]}' under resource group '${options.resourceGroup}' was not found.`);
      }
      return armError(404, 'NotFound', `No route ${request.method} ${request.url.pathname}`);
    },
  );
  base = server.url;

  return {
    url: server.url,
    gatewayId: seeded.gateway.id,
    stop: server.stop,
    getGateway: () => applied,
    onApplied: (listener) => listeners.push(listener),
    mutate: (change) => {
      const copy: GatewayResource = JSON.parse(JSON.stringify(applied));
      change(copy);
      apply(normalise(copy, 'Succeeded'));
    },
  };
}

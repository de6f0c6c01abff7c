import { ApplicationGateway, NetworkManagementClient } from '@azure/arm-network';
import { createDefaultHttpClient, createPipelineRequest } from '@azure/core-rest-pipeline';
import { CertbotConfig } from '../domain/config';
import { CertbotError } from '../domain/errors';
import { parseRetryAfter } from '../domain/retryAfter';
import { GatewayTargets, HttpsBinding, HttpsRemoval, planHttpsBindings, httpsFrontend } from '../domain/gatewayPlan';
import { parseResourceId } from '../domain/gatewayLinks';
import { appCredential } from './credential';
import { fromAzureError } from './restErrors';

/**
 * Application Gateway adapter over @azure/arm-network. REST: Microsoft.Network applicationGateways
 * Get / CreateOrUpdate (long-running, Azure-AsyncOperation) and publicIPAddresses Get.
 */
const gatewayCodes = {
  forbidden: 'ApplicationGatewayPermissionDenied',
  notFound: 'ApplicationGatewayNotFound',
  other: 'ApplicationGatewayUpdateFailed',
} as const;

/** A conflict with another operation on the gateway clears by itself too (fromAzureError covers throttling and outages). */
const CONFLICT = 409;

export class GatewayAdapter {
  private readonly client: NetworkManagementClient;
  /** One client per subscription the gateway's public IPs live in (a hub-and-spoke landing zone keeps them in a connectivity subscription). */
  private readonly clients = new Map<string, NetworkManagementClient>();

  constructor(private readonly config: CertbotConfig) {
    this.client = this.clientFor(config.subscriptionId);
  }

  /** A client for resources of `subscriptionId`: the same credential, endpoint and pipeline options as the gateway's. */
  private clientFor(subscriptionId: string): NetworkManagementClient {
    const key = subscriptionId.toLowerCase();
    let client = this.clients.get(key);
    if (!client) {
      client = new NetworkManagementClient(appCredential(), subscriptionId, { endpoint: this.config.armEndpoint.origin });
      this.clients.set(key, client);
    }
    return client;
  }

  private get targets(): GatewayTargets {
    return {
      backendPoolName: this.config.applicationGatewayBackendName,
      httpSettingsName: this.config.applicationGatewayHttpSettingsName,
    };
  }

  async read(): Promise<ApplicationGateway> {
    try {
      return await this.client.applicationGateways.get(
        this.config.applicationGatewayResourceGroup,
        this.config.applicationGatewayName,
      );
    } catch (error) {
      throw this.translate(error);
    }
  }

  /**
   * The address of the public frontend the app binds its HTTPS listeners on (httpsFrontend), read
   * in its own subscription and resource group: what the hostname must resolve to. A dual-stack
   * gateway's other frontend is not bound, so it is not offered to the DNS pre-check.
   */
  async publicIps(): Promise<string[]> {
    const gateway = await this.read();
    const frontend = httpsFrontend(gateway);
    const ids = frontend ? [frontend.publicIPAddress.id] : [];
    if (ids.length === 0) {
      throw new CertbotError('ApplicationGatewayMisconfigured', 'The gateway has no public frontend IP configuration.');
    }
    const ips: string[] = [];
    for (const id of ids) {
      const { subscriptionId, resourceGroup, name } = parsePublicIpId(id);
      try {
        const address = await this.clientFor(subscriptionId).publicIPAddresses.get(resourceGroup, name);
        if (address.ipAddress) ips.push(address.ipAddress);
      } catch (error) {
        throw fromAzureError('Azure Resource Manager', error, {
          forbidden: 'ApplicationGatewayPermissionDenied',
          other: 'ApplicationGatewayMisconfigured',
        });
      }
    }
    if (ips.length === 0) {
      throw new CertbotError('ApplicationGatewayMisconfigured', 'The gateway public IP has no address allocated yet.');
    }
    return ips;
  }

  /** The HTTPS listeners, rules and SSL certificates the bindings need, on the gateway as read (undefined: nothing to write). */
  plan(current: ApplicationGateway, bindings: HttpsBinding[], removals: HttpsRemoval[] = []): ApplicationGateway | undefined {
    return planHttpsBindings(current, bindings, this.targets, removals);
  }

  /**
   * Starts the PUT of `desired`, only if the gateway still has the ETag it was read with (If-Match:
   * another writer's change in between answers 412 instead of being undone; azure-cli#28615), and
   * returns the long-running operation to follow instead of waiting minutes inside an activity.
   * https://learn.microsoft.com/azure/azure-resource-manager/management/async-operations
   */
  async beginWrite(desired: ApplicationGateway, etag: string): Promise<BeginWrite> {
    let operationUrl: string | undefined;
    let retryAfter: number | undefined;
    try {
      const poller = this.client.applicationGateways.createOrUpdate(this.config.applicationGatewayResourceGroup, this.config.applicationGatewayName, desired, {
        requestOptions: { headers: { 'If-Match': etag } },
        onResponse: (response) => {
          operationUrl ??= header(response, 'azure-asyncoperation') ?? header(response, 'location');
          retryAfter ??= parseRetryAfter(header(response, 'retry-after'));
        },
      });
      // The PUT is sent at once; the operation is then followed by the orchestration's durable timers.
      await poller.submitted();
    } catch (error) {
      const status = (error as { statusCode?: number }).statusCode;
      if (status === 412) return { kind: 'changed' };
      throw this.translate(error);
    }
    if (!operationUrl) throw new CertbotError('ApplicationGatewayUpdateFailed', 'Azure accepted the gateway update without an operation to follow.');
    return { kind: 'started', operationUrl, retryAfterSeconds: retryAfter };
  }

  /** The state of a long-running gateway operation (Azure-AsyncOperation: InProgress, Succeeded, Failed, Canceled). */
  async operation(operationUrl: string): Promise<OperationState> {
    const url = new URL(operationUrl);
    if (url.origin !== this.config.armEndpoint.origin) {
      throw new CertbotError('ApplicationGatewayUpdateFailed', `The gateway operation is at ${url.origin}, not the configured ArmEndpoint.`);
    }
    try {
      // Through the client's own pipeline: its bearer token, retries and logging policies.
      const response = await this.client.pipeline.sendRequest(httpClient, createPipelineRequest({ url: url.href, method: 'GET' }));
      if (response.status >= 400) throw Object.assign(new Error(`HTTP ${response.status}: ${response.bodyAsText?.slice(0, 300) ?? ''}`), { statusCode: response.status, response });
      const body = JSON.parse(response.bodyAsText ?? '{}') as { status?: string; error?: { code?: string; message?: string } };
      const status = body.status ?? 'InProgress';
      const state: OperationState = { status, retryAfterSeconds: parseRetryAfter(response.headers.get('retry-after')) };
      if (body.error) state.error = `${body.error.code ?? 'Error'}: ${(body.error.message ?? '').slice(0, 500)}`;
      return state;
    } catch (error) {
      throw this.translate(error);
    }
  }

  private translate(error: unknown): CertbotError {
    const translated = fromAzureError('Azure Resource Manager', error, gatewayCodes);
    const status = (error as { statusCode?: number }).statusCode;
    if (status === CONFLICT && !translated.transient) {
      return new CertbotError(translated.code, translated.detail, translated.retryAfterSeconds, true);
    }
    return translated;
  }
}

export type BeginWrite = { kind: 'started'; operationUrl: string; retryAfterSeconds?: number } | { kind: 'changed' };

export interface OperationState {
  status: string;
  retryAfterSeconds?: number;
  error?: string;
}

const httpClient = createDefaultHttpClient();

/** A response header, whether the SDK hands over HttpHeaders or a plain object of raw headers. */
function header(response: { headers?: unknown; rawHeaders?: Record<string, string> }, name: string): string | undefined {
  const headers = response.headers as { get?: (name: string) => string | undefined } | Record<string, string> | undefined;
  if (headers && typeof headers.get === 'function') return headers.get(name) ?? undefined;
  return (headers as Record<string, string> | undefined)?.[name] ?? response.rawHeaders?.[name];
}

/** A frontend's public IP: its subscription, which need not be the gateway's, its resource group and name. */
export function parsePublicIpId(id: string): { subscriptionId: string; resourceGroup: string; name: string } {
  const parsed = parseResourceId(id);
  if (!parsed || parsed.type.toLowerCase() !== 'microsoft.network/publicipaddresses') {
    throw new CertbotError('ApplicationGatewayMisconfigured', `Unexpected public IP resource id: ${id}`);
  }
  return { subscriptionId: parsed.subscriptionId, resourceGroup: parsed.resourceGroup, name: parsed.name };
}

import { ApplicationGateway, NetworkManagementClient } from '@azure/arm-network';
import { CertbotConfig } from '../domain/config';
import { CertbotError } from '../domain/errors';
import { GatewayTargets, HttpsBinding, HttpsRemoval, planHttpsBindings, publicFrontendIpIds } from '../domain/gatewayPlan';
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

/** Conflicts and throttling clear up by themselves: the orchestrator waits and tries again. */
const TRANSIENT_STATUS = new Set([409, 429, 500, 502, 503, 504]);

export class GatewayAdapter {
  private readonly client: NetworkManagementClient;

  constructor(private readonly config: CertbotConfig) {
    this.client = new NetworkManagementClient(appCredential(), config.subscriptionId, {
      endpoint: config.armEndpoint.origin,
    });
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

  /** Every public IP address of the gateway's frontends. */
  async publicIps(): Promise<string[]> {
    const gateway = await this.read();
    const ids = publicFrontendIpIds(gateway);
    if (ids.length === 0) {
      throw new CertbotError('ApplicationGatewayMisconfigured', 'The gateway has no public frontend IP configuration.');
    }
    const ips: string[] = [];
    for (const id of ids) {
      const { resourceGroup, name } = parsePublicIpId(id);
      try {
        const address = await this.client.publicIPAddresses.get(resourceGroup, name);
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

  /**
   * Reads the gateway, plans the HTTPS listeners, rules and SSL certificates for the bindings and
   * writes them in one PUT; nothing is written when the gateway already matches.
   * Returns whether a write happened.
   */
  async applyBindings(bindings: HttpsBinding[], removals: HttpsRemoval[] = []): Promise<boolean> {
    const current = await this.read();
    const desired = planHttpsBindings(current, bindings, this.targets, removals);
    if (!desired) return false;
    try {
      await this.client.applicationGateways.createOrUpdate(
        this.config.applicationGatewayResourceGroup,
        this.config.applicationGatewayName,
        desired,
        { updateIntervalInMs: 1000 },
      ).pollUntilDone();
      return true;
    } catch (error) {
      throw this.translate(error);
    }
  }

  private translate(error: unknown): CertbotError {
    const translated = fromAzureError('Azure Resource Manager', error, gatewayCodes);
    const status = (error as { statusCode?: number }).statusCode;
    if (status !== undefined && TRANSIENT_STATUS.has(status)) {
      return new CertbotError(translated.code, translated.detail, translated.retryAfterSeconds, true);
    }
    return translated;
  }
}

function parsePublicIpId(id: string): { resourceGroup: string; name: string } {
  const match = /\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Network\/publicIPAddresses\/([^/]+)$/i.exec(id);
  if (!match) throw new CertbotError('ApplicationGatewayMisconfigured', `Unexpected public IP resource id: ${id}`);
  return { resourceGroup: match[1], name: match[2] };
}

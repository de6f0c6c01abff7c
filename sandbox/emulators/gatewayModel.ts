/**
 * Application Gateway resources as they travel on the wire (ARM JSON, `properties` envelopes),
 * Microsoft.Network/applicationGateways in azure-rest-api-specs (applicationGateway.json).
 */
export interface SubResource {
  id: string;
}

export interface Child<P = Record<string, unknown>> {
  id?: string;
  name: string;
  etag?: string;
  type?: string;
  properties: P;
}

export interface GatewayResource {
  id: string;
  name: string;
  type: string;
  location: string;
  etag?: string;
  identity?: { type: string; userAssignedIdentities?: Record<string, object> };
  tags?: Record<string, string>;
  properties: {
    provisioningState?: string;
    operationalState?: string;
    sku: { name: string; tier: string; capacity?: number };
    /** Inline WAF settings of a WAF_v2 gateway (ApplicationGatewayWebApplicationFirewallConfiguration). */
    webApplicationFirewallConfiguration?: { enabled: boolean; firewallMode: string; ruleSetType: string; ruleSetVersion: string };
    /** The gateway's WAF policy (a WAF_v2 gateway has this or the inline configuration). */
    firewallPolicy?: SubResource;
    gatewayIPConfigurations?: Child[];
    frontendIPConfigurations: Child<{ publicIPAddress?: SubResource; privateIPAddress?: string }>[];
    frontendPorts: Child<{ port: number }>[];
    backendAddressPools: Child<{ backendAddresses?: { fqdn?: string; ipAddress?: string }[] }>[];
    backendHttpSettingsCollection: Child<{ port: number; protocol: string; path?: string; pickHostNameFromBackendAddress?: boolean; probe?: SubResource; hostName?: string }>[];
    probes?: Child<{
      protocol: string;
      path: string;
      host?: string;
      pickHostNameFromBackendHttpSettings?: boolean;
      interval?: number;
      timeout?: number;
      unhealthyThreshold?: number;
      match?: { statusCodes?: string[] };
    }>[];
    httpListeners: Child<{
      frontendIPConfiguration?: SubResource;
      frontendPort?: SubResource;
      protocol: string;
      hostName?: string;
      hostNames?: string[];
      requireServerNameIndication?: boolean;
      sslCertificate?: SubResource;
      /** A per-site WAF policy. */
      firewallPolicy?: SubResource;
    }>[];
    sslCertificates?: Child<{ keyVaultSecretId?: string; data?: string; password?: string; publicCertData?: string }>[];
    urlPathMaps?: Child<{
      defaultBackendAddressPool?: SubResource;
      defaultBackendHttpSettings?: SubResource;
      pathRules: Child<{ paths: string[]; backendAddressPool?: SubResource; backendHttpSettings?: SubResource; firewallPolicy?: SubResource }>[];
    }>[];
    requestRoutingRules: Child<{
      ruleType: string;
      priority?: number;
      httpListener?: SubResource;
      backendAddressPool?: SubResource;
      backendHttpSettings?: SubResource;
      urlPathMap?: SubResource;
    }>[];
    [key: string]: unknown;
  };
}

/**
 * Collections holding child resources, whose ids are `{gatewayId}/{collection}/{name}`
 * (ApplicationGatewayPropertiesFormat in applicationGateway.json).
 */
export const CHILD_COLLECTIONS = [
  'gatewayIPConfigurations',
  'authenticationCertificates',
  'trustedRootCertificates',
  'trustedClientCertificates',
  'sslCertificates',
  'frontendIPConfigurations',
  'frontendPorts',
  'probes',
  'backendAddressPools',
  'backendHttpSettingsCollection',
  'backendSettingsCollection',
  'httpListeners',
  'listeners',
  'sslProfiles',
  'urlPathMaps',
  'requestRoutingRules',
  'routingRules',
  'rewriteRuleSets',
  'redirectConfigurations',
  'privateLinkConfigurations',
  'loadDistributionPolicies',
] as const;

export const childById = <P>(collection: Child<P>[] | undefined, id: string | undefined): Child<P> | undefined =>
  id ? collection?.find((c) => c.id?.toLowerCase() === id.toLowerCase()) : undefined;

/**
 * Takes every HTTPS binding off a gateway (its HTTPS listeners, the rules using them, and all SSL
 * certificates), as an operator freeing it in the portal would. For tests and the bench, through
 * `arm.mutate`; the gateway's HTTP listener and challenge path rule stay.
 */
export function removeHttpsBindings(gateway: GatewayResource): void {
  const https = new Set(gateway.properties.httpListeners.filter((l) => l.properties.protocol === 'Https').map((l) => l.name));
  gateway.properties.requestRoutingRules = gateway.properties.requestRoutingRules.filter((r) => !https.has(r.properties.httpListener?.id.split('/').pop() ?? ''));
  gateway.properties.httpListeners = gateway.properties.httpListeners.filter((l) => !https.has(l.name));
  gateway.properties.sslCertificates = [];
}

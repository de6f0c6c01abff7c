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
      redirectConfiguration?: SubResource;
    }>[];
    /** ApplicationGatewayRedirectConfigurationPropertiesFormat: a redirect to a listener or a URL. */
    redirectConfigurations?: Child<{ redirectType?: string; targetListener?: SubResource; targetUrl?: string }>[];
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

type HttpListener = GatewayResource['properties']['httpListeners'][number];

/** A listener's host names, hostName or hostNames (the two are exclusive), as configured. */
export const listenerHostNames = (listener: HttpListener): string[] =>
  [listener.properties.hostName, ...(listener.properties.hostNames ?? [])].filter((h): h is string => typeof h === 'string' && h !== '');

/**
 * Whether a request's host name (SNI or Host) matches a listener host name, as Learn describes
 * wildcard host names ("Application Gateway multiple site hosting", "Wildcard host names in
 * listener", ms.date 04/25/2023): case-insensitive; `*` "can match with multiple characters in the
 * allowed range" and `?` "with a single character in the allowed range", the range being
 * alphanumerics, `-` and `.`. `*` spans dots: Learn's own example is that `*.contoso.com` "can match
 * with ecom.contoso.com, b2b.contoso.com and customer1.b2b.contoso.com". Where Learn is unclear the
 * stricter reading (fewer names served) is taken, unverified: `*` matches at least one character
 * (not none), and `?` does not match a dot. A name outside the allowed range matches no wildcard.
 */
export function hostNameMatches(pattern: string, hostname: string): boolean {
  const p = pattern.toLowerCase();
  const name = hostname.toLowerCase();
  if (!/[*?]/.test(p)) return p === name;
  if (!/^[a-z0-9.-]+$/.test(name)) return false;
  const source = [...p].map((c) => (c === '*' ? '[a-z0-9.-]+' : c === '?' ? '[a-z0-9-]' : (/[a-z0-9]/.test(c) ? c : `\\${c}`))).join('');
  return new RegExp(`^${source}$`).test(name);
}

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

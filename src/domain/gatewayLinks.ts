/**
 * What a PUT of an Application Gateway links to, and the action Azure Resource Manager checks on
 * each ("linked access check"): the PUT re-submits the whole gateway, so every reference in the
 * body is checked on every write, whether it changed or not. Pure: used by the deployment plan
 * (scripts/deploy/, which grants exactly these) and by the sandbox's ARM emulator (which refuses
 * a PUT missing one with LinkedAuthorizationFailed), so both read the same list.
 *
 * Sources: Learn, "Application Gateway infrastructure configuration", Permissions (subnet
 * `subnets/join/action`, public IP `publicIPAddresses/join/action`, WAF policy
 * `ApplicationGatewayWebApplicationFirewallPolicies/join/action`); Learn, "Managed identities for
 * App Service" (assigning a user-assigned identity needs `userAssignedIdentities/assign/action`
 * over it); the service's LinkedAuthorizationFailed answers quoted in sandbox/rbac/arm.ts. WAF
 * policies attach to the gateway, a listener or a path rule (Learn, WAF policy overview). Private
 * frontends and Private Link configurations name a subnet: the same subnet join (inferred from the
 * subnet rule; no page lists them, so we take the stricter reading).
 */
export const SUBNET_JOIN = 'Microsoft.Network/virtualNetworks/subnets/join/action';
export const PUBLIC_IP_JOIN = 'Microsoft.Network/publicIPAddresses/join/action';
export const WAF_POLICY_JOIN = 'Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies/join/action';
export const IDENTITY_ASSIGN = 'Microsoft.ManagedIdentity/userAssignedIdentities/assign/action';

export interface LinkedAccess {
  action: string;
  /** Resource id of the linked resource, as the gateway names it. */
  scope: string;
}

interface Reference {
  id?: string;
}
type Child = { properties?: Record<string, unknown> };

/** Every linked resource of a gateway body (ARM shape: `identity`, `properties`), with the action checked on it; each once. */
export function gatewayLinkedAccess(body: unknown): LinkedAccess[] {
  const gateway = (body ?? {}) as { identity?: { userAssignedIdentities?: Record<string, unknown> }; properties?: Record<string, unknown> };
  const properties = gateway.properties ?? {};
  const checks: LinkedAccess[] = [];
  const add = (action: string, reference: unknown): void => {
    const id = (reference as Reference | undefined)?.id;
    if (typeof id === 'string' && id && !checks.some((c) => c.action === action && c.scope.toLowerCase() === id.toLowerCase())) checks.push({ action, scope: id });
  };
  const children = (list: unknown): Child[] => (Array.isArray(list) ? (list as Child[]) : []);
  for (const config of children(properties.gatewayIPConfigurations)) add(SUBNET_JOIN, config.properties?.subnet);
  for (const frontend of children(properties.frontendIPConfigurations)) {
    add(PUBLIC_IP_JOIN, frontend.properties?.publicIPAddress);
    add(SUBNET_JOIN, frontend.properties?.subnet);
  }
  for (const link of children(properties.privateLinkConfigurations)) {
    for (const config of children(link.properties?.ipConfigurations)) add(SUBNET_JOIN, config.properties?.subnet);
  }
  add(WAF_POLICY_JOIN, properties.firewallPolicy);
  for (const listener of children(properties.httpListeners)) add(WAF_POLICY_JOIN, listener.properties?.firewallPolicy);
  for (const map of children(properties.urlPathMaps)) {
    for (const rule of children(map.properties?.pathRules)) add(WAF_POLICY_JOIN, rule.properties?.firewallPolicy);
  }
  for (const id of Object.keys(gateway.identity?.userAssignedIdentities ?? {})) add(IDENTITY_ASSIGN, { id });
  return checks;
}

/** The parts of an Azure resource id (`/subscriptions/{s}/resourceGroups/{g}/providers/{ns}/{type}/{name}[/{child}/{name}]`). */
export interface ParsedResourceId {
  subscriptionId: string;
  resourceGroup: string;
  /** `Microsoft.Network/virtualNetworks/subnets` for a subnet. */
  type: string;
  /** `vnet/subnet` for a subnet: the name Bicep's `existing` takes. */
  name: string;
}

export function parseResourceId(id: string): ParsedResourceId | undefined {
  const match = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/([^/]+)\/(.+)$/i.exec(id);
  if (!match) return undefined;
  const segments = match[4].split('/');
  if (segments.length % 2 !== 0 || segments.some((s) => !s)) return undefined;
  return {
    subscriptionId: match[1],
    resourceGroup: match[2],
    type: [match[3], ...segments.filter((_, i) => i % 2 === 0)].join('/'),
    name: segments.filter((_, i) => i % 2 === 1).join('/'),
  };
}

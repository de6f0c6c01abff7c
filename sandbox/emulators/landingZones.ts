/**
 * Where the seeded gateway's neighbours live: the layouts the app must work in (issue #19, "Deploy
 * for real"). Each layout names the gateway subnet, the public IPs of its frontends, its
 * user-assigned identity and its WAF policies by resource id; the ARM emulator seeds the gateway
 * with them and serves the public IPs, the sandbox assigns the gateway linker role on each.
 *
 * - `single-group`: gateway, VNet, public IP and identity in one resource group (the default, the
 *   layout of the first sandbox).
 * - `hub-and-spoke`: the Cloud Adoption Framework's hub-spoke topology ("Hub-spoke network topology
 *   in Azure", Learn: shared network resources in a hub, often its own connectivity subscription):
 *   the VNet with the gateway subnet and the public IPs in a hub resource group of a second
 *   subscription; the gateway's identity in an identities resource group; and a dual-stack gateway,
 *   IPv4 and IPv6 public frontends (Learn, "Configure Application Gateway with a frontend public IPv6
 *   address": v2 SKUs, one IPv4 and one IPv6 public frontend, the IPv6 one a Standard public IP of
 *   version IPv6).
 * - `waf-policy`: `hub-and-spoke` with a WAF_v2 gateway whose WAF is a policy (properties.firewallPolicy)
 *   in a third resource group, and a second, per-site policy on the HTTP listener (Learn, "Azure Web
 *   Application Firewall policy overview": policies attach to the gateway, a listener or a path rule;
 *   associations only on WAF_v2).
 */
export type LandingZone = 'single-group' | 'hub-and-spoke' | 'waf-policy';

export const LANDING_ZONES: readonly LandingZone[] = ['single-group', 'hub-and-spoke', 'waf-policy'];

/** The hub (connectivity) subscription of the hub-and-spoke layouts. */
export const HUB_SUBSCRIPTION = '00000000-0000-4000-8000-0000000000bb';
const HUB_RESOURCE_GROUP = 'rg-hub-network';
const IDENTITY_RESOURCE_GROUP = 'rg-identities';
const WAF_RESOURCE_GROUP = 'rg-waf-policies';
/** An IPv6 documentation address (RFC 3849): the sandbox's DNS never answers it, as no AAAA record is set. */
export const SANDBOX_PUBLIC_IPV6 = '2001:db8::a';

export interface SeededPublicIp {
  id: string;
  name: string;
  version: 'IPv4' | 'IPv6';
  ipAddress: string;
}

export interface LandingZoneLayout {
  sku: 'Standard_v2' | 'WAF_v2';
  subnetId: string;
  /** The first is the IPv4 frontend the app's HTTPS listeners use; an IPv6 one follows in the dual-stack layouts. */
  publicIps: SeededPublicIp[];
  identityId: string;
  /** properties.firewallPolicy of the gateway. */
  gatewayWafPolicyId?: string;
  /** properties.firewallPolicy of the HTTP listener (per-site). */
  listenerWafPolicyId?: string;
}

export interface LayoutInput {
  subscriptionId: string;
  resourceGroup: string;
  gatewayName: string;
  /** The IPv4 address of the gateway's public frontend. */
  publicIp: string;
  /** The SKU asked for (single-group and hub-and-spoke; waf-policy is WAF_v2). */
  sku: 'Standard_v2' | 'WAF_v2';
}

const group = (subscription: string, resourceGroup: string): string => `/subscriptions/${subscription}/resourceGroups/${resourceGroup}`;

export function landingZoneLayout(zone: LandingZone, input: LayoutInput): LandingZoneLayout {
  const own = group(input.subscriptionId, input.resourceGroup);
  const ipv4Name = `${input.gatewayName}-pip`;
  if (zone === 'single-group') {
    return {
      sku: input.sku,
      subnetId: `${own}/providers/Microsoft.Network/virtualNetworks/vnet/subnets/appgw`,
      publicIps: [{ id: `${own}/providers/Microsoft.Network/publicIPAddresses/${ipv4Name}`, name: ipv4Name, version: 'IPv4', ipAddress: input.publicIp }],
      identityId: `${own}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${input.gatewayName}-identity`,
    };
  }
  if (zone === 'waf-policy' && input.sku !== 'WAF_v2') throw new Error('the waf-policy landing zone seeds a WAF_v2 gateway');
  const hub = group(HUB_SUBSCRIPTION, HUB_RESOURCE_GROUP);
  const ipv6Name = `${input.gatewayName}-pip-v6`;
  const layout: LandingZoneLayout = {
    sku: input.sku,
    subnetId: `${hub}/providers/Microsoft.Network/virtualNetworks/vnet-hub/subnets/snet-appgw`,
    publicIps: [
      { id: `${hub}/providers/Microsoft.Network/publicIPAddresses/${ipv4Name}`, name: ipv4Name, version: 'IPv4', ipAddress: input.publicIp },
      { id: `${hub}/providers/Microsoft.Network/publicIPAddresses/${ipv6Name}`, name: ipv6Name, version: 'IPv6', ipAddress: SANDBOX_PUBLIC_IPV6 },
    ],
    identityId: `${group(input.subscriptionId, IDENTITY_RESOURCE_GROUP)}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${input.gatewayName}-identity`,
  };
  if (zone === 'hub-and-spoke') return layout;
  const policies = `${group(input.subscriptionId, WAF_RESOURCE_GROUP)}/providers/Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies`;
  return { ...layout, gatewayWafPolicyId: `${policies}/waf-${input.gatewayName}`, listenerWafPolicyId: `${policies}/waf-${input.gatewayName}-http-listener` };
}

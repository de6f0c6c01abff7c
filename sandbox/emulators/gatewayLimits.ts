/**
 * The limits of an Application Gateway v2 that the service refuses a PUT for (400, nothing
 * applied), in one table. Source: Microsoft Learn, "Application Gateway limits" (the include
 * shared by https://learn.microsoft.com/azure/application-gateway/application-gateway-faq and
 * https://learn.microsoft.com/azure/azure-resource-manager/management/azure-subscription-service-limits#application-gateway-limits,
 * MicrosoftDocs/azure-docs includes/application-gateway-limits.md, 06/19/2024):
 *
 * | resource                          | limit | WAF with CRS 3.1 or older (footnote 1) |
 * | --------------------------------- | ----- | -------------------------------------- |
 * | Frontend ports                    | 100¹  | 40                                     |
 * | Backend address pools             | 100   | 100                                    |
 * | HTTP listeners                    | 200¹  | 40 (and so at most 40 active)          |
 * |   of which active (used by a rule)| 100   | 40                                     |
 * | HTTP load-balancing rules         | 400¹  | 40                                     |
 * | Backend HTTP settings             | 100¹  | 40                                     |
 * | SSL certificates                  | 100¹  | 40                                     |
 * | Redirect configurations           | 100¹  | 40                                     |
 * | Host names per listener           | 5     | 5                                      |
 * | Path-based rules per URL map      | 100   | 100                                    |
 *
 * Footnote 1: "applies to standard Application Gateway SKUs and WAF-enabled SKUs running CRS 3.2
 * or DRS. For WAF-enabled SKUs running CRS 3.1 or lower, the supported number is 40." Older
 * revisions of the page said "we recommend" 40 (MicrosoftDocs/azure-docs#35796); the current one
 * says the supported number is 40: the stricter reading is implemented, and for every resource
 * the footnote marks (the listener total included, not only the active ones). The WAF variant is
 * applied to a WAF_v2 SKU whose inline webApplicationFirewallConfiguration runs OWASP 3.1 or
 * older, enabled or not (the footnote speaks of the SKU); a WAF policy's rule set is not read.
 * "Number of sites" (100¹, one per listener) is bounded by the listener limits.
 *
 * Child resource names: 1 to 80 characters, beginning with a word character, ending with a word
 * character or '_', containing word characters, '.', '-' and '_' (the service's InvalidResourceName
 * wording, quoted for a Microsoft.Network child in rh-mobb/documentation#204; AGIC shortens its
 * gateway child names to 80 for this reason, application-gateway-kubernetes-ingress#1116
 * internaltypes.go). Word characters are taken as ASCII (.NET would also accept other letters:
 * stricter, unverified for Unicode names).
 *
 * The service's error codes and messages for exceeded limits could not be found in any public
 * source: the codes below follow the Network RP's naming and are unverified.
 */
import { ArmError } from './armValidation';
import { GatewayResource } from './gatewayModel';

export interface GatewayLimits {
  frontendPorts: number;
  backendAddressPools: number;
  httpListeners: number;
  activeHttpListeners: number;
  requestRoutingRules: number;
  backendHttpSettingsCollection: number;
  sslCertificates: number;
  redirectConfigurations: number;
  hostNamesPerListener: number;
  pathRulesPerUrlPathMap: number;
  childNameLength: number;
}

export const V2_LIMITS: GatewayLimits = {
  frontendPorts: 100,
  backendAddressPools: 100,
  httpListeners: 200,
  activeHttpListeners: 100,
  requestRoutingRules: 400,
  backendHttpSettingsCollection: 100,
  sslCertificates: 100,
  redirectConfigurations: 100,
  hostNamesPerListener: 5,
  pathRulesPerUrlPathMap: 100,
  childNameLength: 80,
};

/** Footnote 1 of the Learn table: these drop to 40 on WAF with CRS 3.1 or older. */
export const OLD_CRS_WAF_LIMIT = 40;
const FOOTNOTED: (keyof GatewayLimits)[] = [
  'frontendPorts',
  'httpListeners',
  'activeHttpListeners',
  'requestRoutingRules',
  'backendHttpSettingsCollection',
  'sslCertificates',
  'redirectConfigurations',
];

/** OWASP CRS "3.1", "3.0", "2.2.9": the rule sets footnote 1 calls "CRS 3.1 or lower". */
export function isCrs31OrOlder(ruleSetType: string | undefined, ruleSetVersion: string | undefined): boolean {
  if ((ruleSetType ?? '').toUpperCase() !== 'OWASP' || !ruleSetVersion) return false;
  const [major, minor] = ruleSetVersion.split('.').map((part) => Number(part));
  if (!Number.isFinite(major)) return false;
  return major < 3 || (major === 3 && (Number.isFinite(minor) ? minor : 0) <= 1);
}

export function limitsFor(gateway: GatewayResource): GatewayLimits {
  const sku = gateway.properties.sku;
  const waf = gateway.properties.webApplicationFirewallConfiguration;
  const isWaf = /^WAF/i.test(sku.tier ?? '') || /^WAF/i.test(sku.name ?? '');
  if (isWaf && isCrs31OrOlder(waf?.ruleSetType, waf?.ruleSetVersion)) {
    const limits = { ...V2_LIMITS };
    for (const key of FOOTNOTED) limits[key] = OLD_CRS_WAF_LIMIT;
    return limits;
  }
  return { ...V2_LIMITS };
}

// Child names: the service's rule for Microsoft.Network names (see the header), ASCII word characters.
const CHILD_NAME = /^[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?$/;

interface NamedChild {
  name?: unknown;
  properties?: unknown;
}

/** Every child of the gateway: each array of named objects under properties, and path rules of URL maps. */
function children(gateway: GatewayResource): { collection: string; child: NamedChild }[] {
  const found: { collection: string; child: NamedChild }[] = [];
  for (const [collection, value] of Object.entries(gateway.properties)) {
    if (!Array.isArray(value)) continue;
    for (const item of value as unknown[]) {
      if (!item || typeof item !== 'object' || !('properties' in item || 'name' in item)) continue;
      const child = item as NamedChild;
      found.push({ collection, child });
      const nested = (child.properties as { pathRules?: unknown } | undefined)?.pathRules;
      if (Array.isArray(nested)) for (const rule of nested as NamedChild[]) found.push({ collection: `${collection}/pathRules`, child: rule });
    }
  }
  return found;
}

const exceeded = (code: string, what: string, count: number, limit: number, gatewayId: string, basis: string): ArmError => ({
  code,
  message: `Number of ${what} (${count}) of Application Gateway ${gatewayId} exceeds the limit of ${limit}${basis}.`,
});

/** The first limit the gateway exceeds, as the 400 the service answers; undefined when within them all. */
export function checkLimits(gateway: GatewayResource): ArmError | undefined {
  const props = gateway.properties;
  const limits = limitsFor(gateway);
  const waf = props.webApplicationFirewallConfiguration;
  const basis = limits.sslCertificates === OLD_CRS_WAF_LIMIT ? ` for a WAF_v2 gateway with ${waf?.ruleSetType} CRS ${waf?.ruleSetVersion}` : '';

  for (const { child } of children(gateway)) {
    const name = typeof child.name === 'string' ? child.name : '';
    if (name.length > limits.childNameLength || !CHILD_NAME.test(name)) {
      // Code and wording as the Network RP answers for names (rh-mobb/documentation#204).
      return {
        code: 'InvalidResourceName',
        message: `Resource name ${name} is invalid. The name can be up to ${limits.childNameLength} characters long. It must begin with a word character, and it must end with a word character or with '_'. The name may contain word characters or '.', '-', '_'.`,
      };
    }
  }

  const count = (value: unknown): number => (Array.isArray(value) ? value.length : 0);
  const totals: [keyof GatewayLimits, string, string, number][] = [
    ['sslCertificates', 'ApplicationGatewaySslCertificateLimitExceeded', 'SSL certificates', count(props.sslCertificates)],
    ['httpListeners', 'ApplicationGatewayHttpListenerLimitExceeded', 'HTTP listeners', count(props.httpListeners)],
    ['requestRoutingRules', 'ApplicationGatewayRequestRoutingRuleLimitExceeded', 'request routing rules', count(props.requestRoutingRules)],
    ['frontendPorts', 'ApplicationGatewayFrontendPortLimitExceeded', 'frontend ports', count(props.frontendPorts)],
    ['backendAddressPools', 'ApplicationGatewayBackendAddressPoolLimitExceeded', 'backend address pools', count(props.backendAddressPools)],
    ['backendHttpSettingsCollection', 'ApplicationGatewayBackendHttpSettingsLimitExceeded', 'backend HTTP settings', count(props.backendHttpSettingsCollection)],
    ['redirectConfigurations', 'ApplicationGatewayRedirectConfigurationLimitExceeded', 'redirect configurations', count(props.redirectConfigurations)],
  ];
  for (const [key, code, what, n] of totals) {
    if (n > limits[key]) return exceeded(code, what, n, limits[key], gateway.id, basis);
  }

  // Active listeners: those a request routing rule uses (Learn: "Active listeners = total number of listeners - listeners not active").
  const used = new Set(props.requestRoutingRules.map((rule) => rule.properties.httpListener?.id?.toLowerCase()).filter((id): id is string => !!id));
  const active = props.httpListeners.filter((listener) => used.has(`${gateway.id}/httpListeners/${listener.name}`.toLowerCase())).length;
  if (active > limits.activeHttpListeners) {
    return exceeded('ApplicationGatewayActiveHttpListenerLimitExceeded', 'active HTTP listeners (listeners used by a request routing rule)', active, limits.activeHttpListeners, gateway.id, basis);
  }

  for (const listener of props.httpListeners) {
    const hostNames = listener.properties.hostNames ?? [];
    if (hostNames.length > limits.hostNamesPerListener) {
      return {
        code: 'ApplicationGatewayHttpListenerHostNamesLimitExceeded',
        message: `Http Listener ${gateway.id}/httpListeners/${listener.name} has ${hostNames.length} host names; at most ${limits.hostNamesPerListener} are allowed per listener.`,
      };
    }
  }
  for (const map of props.urlPathMaps ?? []) {
    const rules = map.properties.pathRules?.length ?? 0;
    if (rules > limits.pathRulesPerUrlPathMap) {
      return {
        code: 'ApplicationGatewayPathRuleLimitExceeded',
        message: `Url Path Map ${gateway.id}/urlPathMaps/${map.name} has ${rules} path rules; at most ${limits.pathRulesPerUrlPathMap} are allowed per URL path map.`,
      };
    }
  }
  return undefined;
}

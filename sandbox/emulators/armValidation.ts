import { CHILD_COLLECTIONS, Child, GatewayResource, childById, listenerHostNames } from './gatewayModel';

/**
 * What Azure validates on an Application Gateway PUT before accepting it (400, nothing applied).
 * Rules from the service documentation (https://learn.microsoft.com/azure/application-gateway/
 * configuration-listeners, multiple-site-overview, configuration-request-routing-rules): references
 * resolve, HTTPS listeners carry a certificate, v2 rules need a unique priority 1-20000, a listener
 * hostname is unique per frontend port, hostName and hostNames are exclusive, a listener serves one
 * rule, Key Vault certificates need a user-assigned identity. InvalidResourceReference,
 * ApplicationGatewayRequestRoutingRulePriorityCannotBeEmpty,
 * ApplicationGatewayHttpListenersUsingSameFrontendPortHostNameAndFrontendIpConfig,
 * ApplicationGatewayRequestRoutingRulesUsingSameHttpListener and ApplicationGatewaySkuNotSpecified
 * are the service's codes (quoted in public issue threads and support articles); the others follow
 * its naming, unverified. Limits and child names: gatewayLimits.ts.
 *
 * WAF policies (firewallPolicy on the gateway, a listener or a path rule):
 * - "WAF policy associations are only supported for the Application Gateway WAF_v2 sku" (Learn,
 *   "Azure Web Application Firewall policy overview", note). The code and wording of the refusal
 *   are not public: ApplicationGatewayFirewallPolicyNotSupportedForSku is in the service's style, unverified.
 * - A WAF_v2 gateway needs a WAF policy or an inline WAF configuration: 400
 *   ApplicationGatewayFirewallNotConfiguredForSelectedSku "Application Gateway {id} with the selected
 *   SKU tier WAF_v2 must have a valid WAF policy or configuration" (the service's answer quoted in
 *   Azure/azure-cli#24029 and hashicorp/terraform-provider-azurerm#19304). Only the gateway-level
 *   policy counts here: whether per-listener policies alone satisfy it is not documented (Learn says
 *   a policy "can be associated with any combination of application gateways, listeners, and
 *   path-based rules"), so the stricter reading is taken.
 * - "Once a Firewall Policy is associated to a WAF, there must always be a policy associated to that
 *   WAF. You may overwrite that policy, but disassociating a policy from the WAF entirely isn't
 *   supported" (Learn, "Create Web Application Firewall policies for Application Gateway"): 400
 *   ApplicationGatewayFirewallPolicyCannotBeRemoved "Firewall policy {id} cannot be removed from
 *   Application Gateway, changing from one firewall policy to another is permitted." (the service's
 *   answer quoted in pagopa-archive/io-infrastructure-live-new#267). A change of SKU to Standard_v2
 *   drops the policy (MicrosoftDocs/azure-docs#121005) and is refused here by the first rule instead.
 * Whether the referenced policies exist is not checked (the emulator holds no policies).
 *
 * Listener host names (Learn, "Application Gateway multiple site hosting", sections "Wildcard host
 * names in listener", "Allowed characters in the host names field", "Conditions for using wildcard
 * characters and multiple host names in a listener", ms.date 04/25/2023; the limit of 5 names per
 * listener is checked with the other limits in gatewayLimits.ts):
 * - hostNames "is available only for Standard_v2 and WAF_v2 SKU" (Learn; azure-cli#11743: "valid only
 *   for Application Gateway Standard_v2 and WAF_v2 SKUs. The validations in NRP are in place for
 *   the SKU verification"). The Basic SKU is not named, so it is refused too (the literal reading).
 * - hostName "takes one string as input, where you can mention only one non-wildcard domain name":
 *   `*` or `?` in hostName is refused.
 * - Allowed characters: A-Z, a-z, 0-9, `-`, `.` "as a delimiter", and in hostNames `*` and `?`.
 *   Applied to hostName as well, and an empty component (leading, trailing or doubled dot) is
 *   refused as no delimited name: both stricter readings, unverified.
 * - `*` "can be mentioned only once in a component" (`*.contoso-*.com` is valid); "up to two
 *   asterisks" in a host name (`*.contoso.*.*.com` is invalid); "a maximum of 4 wildcard
 *   characters" (`????.contoso.*` is invalid); `*?`, `?*` and `**` are invalid.
 * - A host name is unique per frontend IP configuration and port across listeners, hostNames
 *   entries included ("AppGw currently doesn't support to have listeners which share same host
 *   name inside the HostNames attribute", the product group in
 *   Azure/application-gateway-kubernetes-ingress#912). Compared as text, case-insensitively:
 *   `*.contoso.com` and `shop.contoso.com` may coexist (Learn's own rule-priority example). The
 *   same name twice in one listener is refused as well (the service's answer is unverified).
 * - One basic listener (no host name) per frontend IP configuration and port ("Same ports cannot be
 *   used between multiple basic listener configurations", Microsoft's answer in
 *   MicrosoftDocs/azure-docs#63542); code and wording as the service answered for listeners sharing a
 *   port in Azure/application-gateway-kubernetes-ingress#692 (2019).
 * - "You cannot create a redirection rule with a target listener, which uses wildcard or multiple
 *   host names" (Learn, the same page as of 07/20/2020; the 2023 revision no longer says so: the
 *   sources disagree and the stricter one is implemented).
 * The service's codes and wording for these host name refusals could not be found in any public
 * source: the codes below follow its naming, and the messages quote Learn's rule; both unverified.
 */
export interface ArmError {
  code: string;
  message: string;
}

/** The arrays a PUT may omit (an omitted collection is an empty one). */
export const REQUIRED_COLLECTIONS = ['frontendIPConfigurations', 'frontendPorts', 'backendAddressPools', 'backendHttpSettingsCollection', 'httpListeners', 'requestRoutingRules'] as const;

function references(value: unknown, found: string[] = []): string[] {
  if (Array.isArray(value)) value.forEach((v) => references(v, found));
  else if (value && typeof value === 'object') {
    // A nested child (a path rule) has an id of its own: only what it refers to counts.
    if ('name' in value && 'properties' in value) return references((value as { properties: unknown }).properties, found);
    for (const [key, inner] of Object.entries(value)) {
      if (key === 'id' && typeof inner === 'string') found.push(inner);
      else references(inner, found);
    }
  }
  return found;
}

/** Every WAF policy the gateway names: its own, its listeners' and its path rules'. */
export function wafPolicyReferences(gateway: GatewayResource): { at: string; id: string }[] {
  const props = gateway.properties;
  const found: { at: string; id: string }[] = [];
  const add = (at: string, reference: unknown): void => {
    const id = (reference as { id?: unknown } | undefined)?.id;
    if (typeof id === 'string' && id) found.push({ at, id });
  };
  add(gateway.id, props.firewallPolicy);
  for (const listener of props.httpListeners) add(`${gateway.id}/httpListeners/${listener.name}`, listener.properties.firewallPolicy);
  for (const map of props.urlPathMaps ?? []) {
    for (const rule of map.properties.pathRules ?? []) add(`${gateway.id}/urlPathMaps/${map.name}/pathRules/${rule.name}`, rule.properties?.firewallPolicy);
  }
  return found;
}

function validateWaf(gateway: GatewayResource, previous: GatewayResource | undefined): ArmError | undefined {
  const props = gateway.properties;
  const isWafV2 = props.sku.name.toLowerCase() === 'waf_v2';
  const policies = wafPolicyReferences(gateway);
  if (!isWafV2 && policies.length > 0) {
    return {
      code: 'ApplicationGatewayFirewallPolicyNotSupportedForSku',
      message: `Firewall policy ${policies[0].id} referenced by ${policies[0].at} can only be associated with an Application Gateway of SKU tier WAF_v2; ${gateway.id} has ${props.sku.name}.`,
    };
  }
  const gatewayPolicy = (props.firewallPolicy as { id?: string } | undefined)?.id;
  if (isWafV2 && !gatewayPolicy && !props.webApplicationFirewallConfiguration) {
    return { code: 'ApplicationGatewayFirewallNotConfiguredForSelectedSku', message: `Application Gateway ${gateway.id} with the selected SKU tier WAF_v2 must have a valid WAF policy or configuration` };
  }
  const previousPolicy = (previous?.properties.firewallPolicy as { id?: string } | undefined)?.id;
  if (previousPolicy && !gatewayPolicy) {
    return { code: 'ApplicationGatewayFirewallPolicyCannotBeRemoved', message: `Firewall policy ${previousPolicy} cannot be removed from Application Gateway, changing from one firewall policy to another is permitted.` };
  }
  return undefined;
}

const HOST_NAME_CHARACTERS = /^[A-Za-z0-9.*?-]+$/;

/** Why one listener host name is refused (Learn's conditions, see the header); undefined when valid. */
function hostNameProblem(listenerId: string, hostname: string, field: 'hostName' | 'hostNames'): ArmError | undefined {
  const invalid = (rule: string): ArmError => ({
    code: 'ApplicationGatewayHttpListenerHostNameInvalid',
    message: `Host name '${hostname}' in ${field} of Http Listener ${listenerId} is invalid: ${rule}.`,
  });
  const wildcard = (rule: string): ArmError => ({
    code: 'ApplicationGatewayHttpListenerHostNameInvalidWildcard',
    message: `Host name '${hostname}' in ${field} of Http Listener ${listenerId} is invalid: ${rule}.`,
  });
  if (field === 'hostName' && /[*?]/.test(hostname)) {
    return {
      code: 'ApplicationGatewayHttpListenerHostNameCannotHaveWildcard',
      message: `Host name '${hostname}' of Http Listener ${listenerId} has a wildcard character: hostName takes one non-wildcard domain name; use hostNames for wildcard host names.`,
    };
  }
  if (!HOST_NAME_CHARACTERS.test(hostname)) return invalid('only alphanumeric characters, hyphen, period and the wildcard characters * and ? are allowed');
  if (hostname.split('.').some((component) => component === '')) return invalid('a period is a delimiter between non-empty components');
  if (/\*\*|\*\?|\?\*/.test(hostname)) return wildcard('using asterisk and question mark together in a component (*?, ?* or **) is invalid');
  if (hostname.split('.').some((component) => (component.match(/\*/g) ?? []).length > 1)) return wildcard('an asterisk can be mentioned only once in a component');
  const asterisks = (hostname.match(/\*/g) ?? []).length;
  if (asterisks > 2) return wildcard(`there can only be up to two asterisks in a host name (${asterisks} found)`);
  const wildcards = (hostname.match(/[*?]/g) ?? []).length;
  if (wildcards > 4) return wildcard(`there can only be a maximum of 4 wildcard characters in a host name (${wildcards} found)`);
  return undefined;
}

/** `previous`: the gateway as it is before this PUT (a policy once associated cannot be removed). */
export function validateGateway(gateway: GatewayResource, previous?: GatewayResource): ArmError | undefined {
  const props = gateway.properties;
  const gatewayId = gateway.id.toLowerCase();
  if (!props.sku?.name) {
    // The code is documented (MicrosoftDocs/SupportArticles-docs error-codes/applicationgatewayskunotspecified.md); the wording is unverified.
    return { code: 'ApplicationGatewaySkuNotSpecified', message: `Application Gateway ${gateway.id} must have a SKU specified.` };
  }
  const waf = validateWaf(gateway, previous);
  if (waf) return waf;
  const known = new Set<string>();
  for (const collection of CHILD_COLLECTIONS) {
    for (const child of (props[collection] as Child[] | undefined) ?? []) known.add(`${gatewayId}/${collection.toLowerCase()}/${child.name.toLowerCase()}`);
  }
  for (const collection of CHILD_COLLECTIONS) {
    for (const child of (props[collection] as Child[] | undefined) ?? []) {
      for (const ref of references(child.properties)) {
        const lower = ref.toLowerCase();
        if (lower.startsWith(`${gatewayId}/`) && !known.has(lower)) {
          return { code: 'InvalidResourceReference', message: `Resource ${ref} referenced by resource ${gateway.id}/${collection}/${child.name} was not found. Please make sure that the referenced resource exists, and that both resources are in the same region.` };
        }
      }
    }
  }

  const portOf = new Map(props.frontendPorts.map((p) => [`${gatewayId}/frontendports/${p.name.toLowerCase()}`, p.properties.port]));
  const supportsHostNames = /^(standard|waf)_v2$/i.test(props.sku.name);
  const seenHostnames = new Map<string, string>();
  const basicListeners = new Map<string, string>();
  for (const listener of props.httpListeners) {
    const p = listener.properties;
    const listenerId = `${gateway.id}/httpListeners/${listener.name}`;
    if (p.hostName && p.hostNames?.length) {
      return { code: 'ApplicationGatewayHttpListenerHostNameAndHostNamesBothSpecified', message: `Listener ${listener.name} cannot specify both hostName and hostNames.` };
    }
    if (p.protocol.toLowerCase() === 'https' && !p.sslCertificate) {
      return { code: 'ApplicationGatewayHttpsListenerMustReferenceSslCertificate', message: `Https listener ${listener.name} must reference an SSL certificate.` };
    }
    if (p.hostNames?.length && !supportsHostNames) {
      return {
        code: 'ApplicationGatewayHttpListenerHostNamesNotSupportedForSku',
        message: `Http Listener ${listenerId} uses hostNames, which is available only for the Standard_v2 and WAF_v2 SKUs; Application Gateway ${gateway.id} has ${props.sku.name}.`,
      };
    }
    const named: [string, 'hostName' | 'hostNames'][] = [...(p.hostName ? [[p.hostName, 'hostName'] as [string, 'hostName']] : []), ...(p.hostNames ?? []).map((h): [string, 'hostNames'] => [h, 'hostNames'])];
    for (const [hostname, field] of named) {
      const problem = hostNameProblem(listenerId, hostname, field);
      if (problem) return problem;
    }
    const own = new Set<string>();
    for (const hostname of p.hostNames ?? []) {
      if (own.has(hostname.toLowerCase())) {
        return { code: 'ApplicationGatewayHttpListenerHostNamesDuplicate', message: `Host name '${hostname}' appears more than once in hostNames of Http Listener ${listenerId}.` };
      }
      own.add(hostname.toLowerCase());
    }
    const port = portOf.get(p.frontendPort?.id.toLowerCase() ?? '');
    if (listenerHostNames(listener).length === 0) {
      const key = `${p.frontendIPConfiguration?.id.toLowerCase()}|${port}`;
      if (basicListeners.has(key)) {
        // Code and wording as the service answered two listeners on one port (AGIC#692), quoted for a basic pair here: unverified for this case.
        return { code: 'ApplicationGatewayHttpListenersUsingSameFrontendPort', message: `Two Http Listeners of Application Gateway ${gateway.id} are using the same Frontend Port ${p.frontendPort?.id}.` };
      }
      basicListeners.set(key, listener.name);
    }
    for (const hostname of listenerHostNames(listener)) {
      const key = `${p.frontendIPConfiguration?.id.toLowerCase()}|${port}|${hostname.toLowerCase()}`;
      const other = seenHostnames.get(key);
      if (other) {
        // Code and wording as the service answers (quoted in Azure/application-gateway-kubernetes-ingress#912).
        return {
          code: 'ApplicationGatewayHttpListenersUsingSameFrontendPortHostNameAndFrontendIpConfig',
          message: `Two Http Listeners of Application Gateway ${other} and ${listener.name} are using the same Frontend Port ${p.frontendPort?.id}, HostName ${hostname} and FrontendIpConfiguration ${p.frontendIPConfiguration?.id}.`,
        };
      }
      seenHostnames.set(key, listener.name);
    }
  }

  for (const redirect of props.redirectConfigurations ?? []) {
    const target = childById(props.httpListeners, redirect.properties.targetListener?.id);
    const names = target ? listenerHostNames(target) : [];
    if (target && (names.length > 1 || names.some((h) => /[*?]/.test(h)))) {
      return {
        code: 'ApplicationGatewayRedirectConfigurationTargetListenerHasWildcardOrMultipleHostNames',
        message: `Redirect configuration ${gateway.id}/redirectConfigurations/${redirect.name} cannot target Http Listener ${target.id}, which uses wildcard or multiple host names.`,
      };
    }
  }

  const isV2 = /_v2$/i.test(props.sku.name);
  const priorities = new Map<number, string>();
  const listenerRules = new Map<string, string>();
  for (const rule of props.requestRoutingRules) {
    const listenerId = rule.properties.httpListener?.id?.toLowerCase();
    if (listenerId && listenerRules.has(listenerId)) {
      // Code and wording as the service answers (quoted in aztfm/terraform-azurerm-application-gateway#9).
      return {
        code: 'ApplicationGatewayRequestRoutingRulesUsingSameHttpListener',
        message: `Two Request Routing Rules of Application Gateway ${gateway.id} are using the same Http Listener ${rule.properties.httpListener?.id}.`,
      };
    }
    if (listenerId) listenerRules.set(listenerId, rule.name);
    const priority = rule.properties.priority;
    if (isV2 && priority === undefined) {
      return { code: 'ApplicationGatewayRequestRoutingRulePriorityCannotBeEmpty', message: `Priority for the request routing rule ${rule.name} cannot be empty. All request routing rules should have a priority defined starting from api-version 2021-08-01.` };
    }
    if (priority === undefined) continue;
    if (!Number.isInteger(priority) || priority < 1 || priority > 20000) {
      return { code: 'ApplicationGatewayRequestRoutingRulePriorityOutOfRange', message: `Priority ${priority} of rule ${rule.name} must be between 1 and 20000.` };
    }
    const other = priorities.get(priority);
    if (other) {
      // The service's wording (Azure/application-gateway-kubernetes-ingress#1487); its code is unverified.
      return { code: 'ApplicationGatewayRequestRoutingRulePriorityAlreadyUsed', message: `Priority must be unique across all the request routing rules (${other} and ${rule.name} use ${priority}).` };
    }
    priorities.set(priority, rule.name);
  }

  const usesKeyVault = (props.sslCertificates ?? []).some((c) => c.properties.keyVaultSecretId);
  if (usesKeyVault && !gateway.identity?.userAssignedIdentities) {
    return { code: 'ApplicationGatewayKeyVaultSecretRequiresUserAssignedIdentity', message: 'SSL certificates referencing Key Vault need a user-assigned identity on the gateway.' };
  }
  return undefined;
}

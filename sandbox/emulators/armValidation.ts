import { CHILD_COLLECTIONS, Child, GatewayResource } from './gatewayModel';

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

export function validateGateway(gateway: GatewayResource): ArmError | undefined {
  const props = gateway.properties;
  const gatewayId = gateway.id.toLowerCase();
  if (!props.sku?.name) {
    // The code is documented (MicrosoftDocs/SupportArticles-docs error-codes/applicationgatewayskunotspecified.md); the wording is unverified.
    return { code: 'ApplicationGatewaySkuNotSpecified', message: `Application Gateway ${gateway.id} must have a SKU specified.` };
  }
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
  const seenHostnames = new Map<string, string>();
  for (const listener of props.httpListeners) {
    const p = listener.properties;
    if (p.hostName && p.hostNames?.length) {
      return { code: 'ApplicationGatewayHttpListenerHostNameAndHostNamesBothSpecified', message: `Listener ${listener.name} cannot specify both hostName and hostNames.` };
    }
    if (p.protocol.toLowerCase() === 'https' && !p.sslCertificate) {
      return { code: 'ApplicationGatewayHttpsListenerMustReferenceSslCertificate', message: `Https listener ${listener.name} must reference an SSL certificate.` };
    }
    const port = portOf.get(p.frontendPort?.id.toLowerCase() ?? '');
    for (const hostname of [p.hostName, ...(p.hostNames ?? [])].filter((h): h is string => !!h)) {
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

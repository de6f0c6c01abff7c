import type { ApplicationGateway, ApplicationGatewayHttpListener } from '@azure/arm-network';

/** One HTTPS site as a portal user adds it to the seeded gateway: a Key Vault certificate, a listener and a basic rule to the seeded backend. */
export interface HttpsSite {
  name: string;
  keyVaultSecretId: string;
  hostName?: string;
  hostNames?: string[];
  /** Left out: a rule without priority (which a v2 gateway refuses). */
  priority?: number;
  port?: string;
}

const child = (gateway: ApplicationGateway, collection: string, name: string) => ({ id: `${gateway.id}/${collection}/${name}` });

/**
 * The gateway with the site added (a copy). The certificate of that name is replaced; a listener of
 * that name already there is kept with its rule, so re-adding a site only changes its secret.
 */
export function withHttpsSite(gateway: ApplicationGateway, site: HttpsSite): ApplicationGateway {
  const { name, keyVaultSecretId, hostName, hostNames, priority, port = 'port_443' } = site;
  const copy: ApplicationGateway = JSON.parse(JSON.stringify(gateway));
  copy.sslCertificates = [...(copy.sslCertificates ?? []).filter((c) => c.name !== name), { name, keyVaultSecretId }];
  if ((copy.httpListeners ?? []).some((l) => l.name === `${name}-https`)) return copy;
  const listener: ApplicationGatewayHttpListener = {
    name: `${name}-https`,
    frontendIPConfiguration: child(copy, 'frontendIPConfigurations', 'appGwPublicFrontendIp'),
    frontendPort: child(copy, 'frontendPorts', port),
    protocol: 'Https',
    requireServerNameIndication: true,
    sslCertificate: child(copy, 'sslCertificates', name),
    ...(hostName !== undefined ? { hostName } : {}),
    ...(hostNames !== undefined ? { hostNames } : {}),
  };
  copy.httpListeners = [...(copy.httpListeners ?? []), listener];
  copy.requestRoutingRules = [
    ...(copy.requestRoutingRules ?? []),
    {
      name: `${name}-rule`,
      ruleType: 'Basic',
      ...(priority !== undefined ? { priority } : {}),
      httpListener: child(copy, 'httpListeners', `${name}-https`),
      backendAddressPool: child(copy, 'backendAddressPools', 'app-backend-pool'),
      backendHttpSettings: child(copy, 'backendHttpSettingsCollection', 'app-http-settings'),
    },
  ];
  return copy;
}

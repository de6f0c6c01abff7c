import type { ApplicationGateway } from '@azure/arm-network';
import { FIRST_RULE_PRIORITY, firstPriorityFor, nameConflict, HttpsBinding, httpsFrontend, planHttpsBindings, WILDCARD_RULE_PRIORITY } from '../../src/domain/gatewayPlan';

const gwId = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/applicationGateways/gw';
const targets = { backendPoolName: 'app-pool', httpSettingsName: 'app-settings' };

function gateway(): ApplicationGateway {
  return {
    id: gwId,
    name: 'gw',
    frontendIPConfigurations: [
      { name: 'private', privateIPAddress: '10.0.0.4' },
      { name: 'public', publicIPAddress: { id: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/publicIPAddresses/pip' } },
    ],
    frontendPorts: [
      { name: 'port_80', port: 80 },
      { name: 'port_443', port: 443 },
    ],
    backendAddressPools: [{ name: 'app-pool' }],
    backendHttpSettingsCollection: [{ name: 'app-settings' }],
    httpListeners: [{ name: 'http', frontendPort: { id: `${gwId}/frontendPorts/port_80` }, protocol: 'Http' }],
    requestRoutingRules: [{ name: 'http-rule', priority: 100, httpListener: { id: `${gwId}/httpListeners/http` } }],
  };
}

const binding = (hostname: string): HttpsBinding => ({
  hostname,
  name: hostname.replace(/\./g, '-'),
  keyVaultSecretId: `https://kv.vault.azure.net/secrets/${hostname.replace(/\./g, '-')}`,
});

describe('planning the gateway change', () => {
  it('adds an SSL certificate by versionless secret id, an SNI listener on 443 and a rule to the configured backend', () => {
    const planned = planHttpsBindings(gateway(), [binding('www.example.com')], targets);
    expect(planned?.sslCertificates).toEqual([
      { name: 'www-example-com', keyVaultSecretId: 'https://kv.vault.azure.net/secrets/www-example-com' },
    ]);
    expect(planned?.httpListeners?.[1]).toEqual({
      name: 'www-example-com-https',
      frontendIPConfiguration: { id: `${gwId}/frontendIPConfigurations/public` },
      frontendPort: { id: `${gwId}/frontendPorts/port_443` },
      protocol: 'Https',
      hostName: 'www.example.com',
      requireServerNameIndication: true,
      sslCertificate: { id: `${gwId}/sslCertificates/www-example-com` },
    });
    expect(planned?.requestRoutingRules?.[1]).toEqual({
      name: 'www-example-com-rule',
      ruleType: 'Basic',
      priority: FIRST_RULE_PRIORITY,
      httpListener: { id: `${gwId}/httpListeners/www-example-com-https` },
      backendAddressPool: { id: `${gwId}/backendAddressPools/app-pool` },
      backendHttpSettings: { id: `${gwId}/backendHttpSettingsCollection/app-settings` },
    });
  });

  it('puts a wildcard in the listener\'s hostNames, where the service allows wildcards, and finds it there on a rerun', () => {
    const planned = planHttpsBindings(gateway(), [binding('*.example.com')], targets);
    const listener = planned?.httpListeners?.[1];
    expect(listener).toMatchObject({ hostNames: ['*.example.com'], requireServerNameIndication: true, protocol: 'Https' });
    expect(listener).not.toHaveProperty('hostName');
    expect(planHttpsBindings(planned!, [binding('*.example.com')], targets)).toBeUndefined();
  });

  it('binds a certificate for several names to one multi-site listener with one rule, and refuses a name another listener holds', () => {
    const names = ['a.example.com', 'b.example.com', 'c.example.com', 'd.example.com', 'e.example.com'];
    const planned = planHttpsBindings(gateway(), [{ ...binding('a.example.com'), hostnames: names }], targets);
    const listener = planned?.httpListeners?.[1];
    expect(listener).toMatchObject({ name: 'a-example-com-https', hostNames: names });
    expect(listener).not.toHaveProperty('hostName');
    expect(planned?.requestRoutingRules?.filter((r) => r.httpListener?.id?.endsWith('/a-example-com-https'))).toHaveLength(1);
    expect(planned?.sslCertificates).toHaveLength(1);
    expect(planHttpsBindings(planned!, [{ ...binding('a.example.com'), hostnames: names }], targets)).toBeUndefined();

    const withC = planHttpsBindings(gateway(), [binding('c.example.com')], targets)!;
    expect(() => planHttpsBindings(withC, [{ ...binding('a.example.com'), hostnames: names }], targets)).toThrow(/c\.example\.com is already served by the gateway's listener c-example-com-https/);
  });

  it('orders rules so that exact names come before wildcards and narrower wildcards before broader ones, whatever the issue order', () => {
    const priorityOf = (gw: ApplicationGateway, listener: string): number | undefined =>
      gw.requestRoutingRules?.find((r) => r.httpListener?.id?.endsWith(`/${listener}`))?.priority;
    let gw = planHttpsBindings(gateway(), [binding('*.example.com')], targets)!;
    gw = planHttpsBindings(gw, [binding('*.shop.example.com')], targets)!;
    gw = planHttpsBindings(gw, [binding('www.example.com')], targets)!;
    const broad = priorityOf(gw, '*-example-com-https')!;
    const narrow = priorityOf(gw, '*-shop-example-com-https')!;
    const exact = priorityOf(gw, 'www-example-com-https')!;
    expect(exact).toBe(FIRST_RULE_PRIORITY);
    expect(exact).toBeLessThan(narrow);
    expect(narrow).toBeLessThan(broad);
    expect(broad).toBeGreaterThanOrEqual(WILDCARD_RULE_PRIORITY);
    expect(broad).toBeLessThanOrEqual(20000);
    // A certificate with a wildcard and its apex goes where its wildcard does.
    expect(firstPriorityFor(['*.example.com', 'example.com'])).toBe(firstPriorityFor(['*.example.com']));
  });

  it('names a conflict only where another listener of port 443 holds one of the names, and keeps a certificate\'s own listener in step with its names', () => {
    const withC = planHttpsBindings(gateway(), [binding('c.example.com')], targets)!;
    expect(nameConflict(withC, { hostname: 'a.example.com', hostnames: ['a.example.com', 'c.example.com'] })).toMatch(/^c\.example\.com is already served by the gateway's listener c-example-com-https \(the certificate of c\.example\.com: DELETE \/api\/certificates\/c\.example\.com/);
    expect(nameConflict(withC, binding('c.example.com'))).toBeUndefined();
    expect(nameConflict(withC, binding('a.example.com'))).toBeUndefined();

    // The group grows, then shrinks: its own listener follows; no second listener appears.
    const group = (names: string[]) => ({ ...binding('a.example.com'), hostnames: names });
    let gw = planHttpsBindings(gateway(), [group(['a.example.com', 'b.example.com'])], targets)!;
    gw = planHttpsBindings(gw, [group(['a.example.com', 'b.example.com', 'd.example.com'])], targets)!;
    expect(gw.httpListeners?.filter((l) => l.name === 'a-example-com-https')).toEqual([expect.objectContaining({ hostNames: ['a.example.com', 'b.example.com', 'd.example.com'] })]);
    gw = planHttpsBindings(gw, [binding('a.example.com')], targets)!;
    const single = gw.httpListeners?.find((l) => l.name === 'a-example-com-https');
    expect(single).toMatchObject({ hostName: 'a.example.com' });
    expect(single).not.toHaveProperty('hostNames');

    // A hand-made multi-site listener keeps the names its owner gave it.
    const handMade = gateway();
    handMade.httpListeners!.push({ name: 'mine', frontendPort: { id: `${gwId}/frontendPorts/port_443` }, protocol: 'Https', hostNames: ['x.example.com', 'y.example.com'] });
    const planned = planHttpsBindings(handMade, [binding('x.example.com')], targets)!;
    expect(planned.httpListeners?.find((l) => l.name === 'mine')).toMatchObject({ hostNames: ['x.example.com', 'y.example.com'], sslCertificate: { id: `${gwId}/sslCertificates/x-example-com` } });
  });

  it('writes nothing when the gateway already matches (a rerun)', () => {
    const once = planHttpsBindings(gateway(), [binding('www.example.com')], targets);
    expect(once).toBeDefined();
    expect(planHttpsBindings(once!, [binding('www.example.com')], targets)).toBeUndefined();
  });

  it('writes an unchanged gateway when a binding asks for a refresh (a renewed certificate)', () => {
    const once = planHttpsBindings(gateway(), [binding('www.example.com')], targets)!;
    expect(planHttpsBindings(once, [{ ...binding('www.example.com'), refresh: true }], targets)).toEqual(once);
  });

  it('removes a hostname: its HTTPS listener, the rules using it and its SSL certificate, nothing else', () => {
    const two = planHttpsBindings(gateway(), [binding('a.example.com'), binding('b.example.com')], targets)!;
    const planned = planHttpsBindings(two, [], targets, [{ hostname: 'a.example.com', name: 'a-example-com' }])!;
    expect(planned.httpListeners?.map((l) => l.name)).toEqual(['http', 'b-example-com-https']);
    expect(planned.requestRoutingRules?.map((r) => r.name)).toEqual(['http-rule', 'b-example-com-rule']);
    expect(planned.sslCertificates?.map((c) => c.name)).toEqual(['b-example-com']);
    expect(planHttpsBindings(planned, [], targets, [{ hostname: 'a.example.com', name: 'a-example-com' }])).toBeUndefined();
  });

  it('never removes a hand-made listener that serves the hostname with a certificate of its own', () => {
    const current = gateway();
    current.sslCertificates = [{ name: 'theirs' }];
    current.httpListeners!.push({
      name: 'hand-made',
      frontendPort: { id: `${gwId}/frontendPorts/port_443` },
      protocol: 'Https',
      hostNames: ['a.example.com', 'c.example.com'],
      sslCertificate: { id: `${gwId}/sslCertificates/theirs` },
    });
    expect(planHttpsBindings(current, [], targets, [{ hostname: 'a.example.com', name: 'a-example-com' }])).toBeUndefined();
    expect(current.httpListeners?.map((l) => l.name)).toContain('hand-made');
  });

  it('gives each new rule a distinct free priority and plans many hostnames in one change', () => {
    const planned = planHttpsBindings(gateway(), [binding('a.example.com'), binding('b.example.com')], targets);
    const priorities = planned?.requestRoutingRules?.map((r) => r.priority);
    expect(priorities).toEqual([100, FIRST_RULE_PRIORITY, FIRST_RULE_PRIORITY + 1]);
  });

  it('updates an existing listener for the hostname instead of adding a second one', () => {
    const current = gateway();
    current.httpListeners!.push({
      name: 'hand-made',
      frontendPort: { id: `${gwId}/frontendPorts/port_443` },
      protocol: 'Https',
      hostNames: ['WWW.example.com'],
      sslCertificate: { id: `${gwId}/sslCertificates/old` },
    });
    current.requestRoutingRules!.push({ name: 'hand-made-rule', priority: 200, httpListener: { id: `${gwId}/httpListeners/hand-made` } });
    const planned = planHttpsBindings(current, [binding('www.example.com')], targets);
    expect(planned?.httpListeners).toHaveLength(2);
    expect(planned?.httpListeners?.[1].sslCertificate).toEqual({ id: `${gwId}/sslCertificates/www-example-com` });
    expect(planned?.requestRoutingRules).toHaveLength(2);
  });

  it.each([
    ['backend pool', (g: ApplicationGateway) => (g.backendAddressPools = []), 'ApplicationGatewayBackendName'],
    ['HTTP settings', (g: ApplicationGateway) => (g.backendHttpSettingsCollection = []), 'ApplicationGatewayHttpSettingsName'],
    ['port 443', (g: ApplicationGateway) => (g.frontendPorts = [{ name: 'p80', port: 80 }]), 'frontend port 443'],
    ['public frontend', (g: ApplicationGateway) => (g.frontendIPConfigurations = []), 'public frontend IP'],
  ])('a gateway without the %s is misconfigured, naming what to fix', (_what, breakIt, named) => {
    const current = gateway();
    breakIt(current);
    expect(() => planHttpsBindings(current, [binding('www.example.com')], targets)).toThrow(
      expect.objectContaining({ code: 'ApplicationGatewayMisconfigured', detail: expect.stringContaining(named) }),
    );
  });

  it('does not touch the gateway it was given', () => {
    const current = gateway();
    const before = JSON.stringify(current);
    planHttpsBindings(current, [binding('www.example.com')], targets);
    expect(JSON.stringify(current)).toBe(before);
  });

  it('binds on one public frontend, the first public one: the frontend the DNS pre-check asks the hostname to resolve to', () => {
    expect(httpsFrontend(gateway())?.publicIPAddress.id).toBe('/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/publicIPAddresses/pip');
    // A dual-stack gateway listing its IPv6 frontend first (after a private one) binds there; the listener names that frontend.
    const dual = gateway();
    const pip = (name: string) => ({ id: `/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/publicIPAddresses/${name}` });
    dual.frontendIPConfigurations = [
      { name: 'private', privateIPAddress: '10.0.0.10', subnet: { id: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/s' } },
      { name: 'public-v6', publicIPAddress: pip('pip-v6') },
      { name: 'public-v4', publicIPAddress: pip('pip-v4') },
    ];
    expect(httpsFrontend(dual)?.name).toBe('public-v6');
    const planned = planHttpsBindings(dual, [binding('www.example.com')], targets);
    const listener = planned?.httpListeners?.find((l) => l.hostName === 'www.example.com');
    expect(listener?.frontendIPConfiguration?.id).toMatch(/\/frontendIPConfigurations\/public-v6$/);
  });
});

import type { ApplicationGateway } from '@azure/arm-network';
import { certificateNameFor, versionedSecretId } from '../../src/azure/keyVault';
import { ErrorMessages } from '../../src/domain/errors';
import { fitBindings, limitsOf, MAX_CHILD_NAME } from '../../src/domain/gatewayLimits';
import { HttpsBinding, listenerName, planHttpsBindings, ruleName } from '../../src/domain/gatewayPlan';
import { normaliseHostname } from '../../src/domain/hostname';
import { limitsFor } from '../../sandbox/emulators/gatewayLimits';
import type { GatewayResource } from '../../sandbox/emulators/gatewayModel';

/**
 * The gateway's room, counted before the CA is asked and again when the writer plans
 * (src/domain/gatewayLimits.ts). Limits: Microsoft Learn, "Application Gateway limits".
 */
const gwId = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/applicationGateways/gw';
const vault = new URL('https://kv.vault.azure.net/');

type Waf = ApplicationGateway['webApplicationFirewallConfiguration'];

/** A gateway with `certificates` hostnames already bound by this app, plus `idleListeners` listeners no rule uses. */
function gateway(options: { sku?: string; waf?: Waf; certificates?: number; idleListeners?: number } = {}): ApplicationGateway {
  const { sku = 'Standard_v2', waf, certificates = 0, idleListeners = 0 } = options;
  const bound = Array.from({ length: certificates }, (_, i) => `site${i}.example.com`);
  return {
    id: gwId,
    name: 'gw',
    sku: { name: sku as never, tier: sku as never },
    ...(waf ? { webApplicationFirewallConfiguration: waf } : {}),
    frontendIPConfigurations: [{ name: 'public', publicIPAddress: { id: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/publicIPAddresses/pip' } }],
    frontendPorts: [{ name: 'port_443', port: 443 }],
    backendAddressPools: [{ name: 'pool' }],
    backendHttpSettingsCollection: [{ name: 'settings' }],
    sslCertificates: bound.map((hostname) => ({ name: certificateNameFor(hostname), keyVaultSecretId: versionedSecretId(vault, certificateNameFor(hostname), 'v1') })),
    httpListeners: [
      ...bound.map((hostname) => ({
        name: `${certificateNameFor(hostname)}-https`,
        frontendPort: { id: `${gwId}/frontendPorts/port_443` },
        protocol: 'Https' as const,
        hostName: hostname,
        sslCertificate: { id: `${gwId}/sslCertificates/${certificateNameFor(hostname)}` },
      })),
      ...Array.from({ length: idleListeners }, (_, i) => ({ name: `idle-${i}`, frontendPort: { id: `${gwId}/frontendPorts/port_443` }, protocol: 'Http' as const })),
    ],
    requestRoutingRules: bound.map((hostname, i) => ({
      name: `${certificateNameFor(hostname)}-rule`,
      priority: 10000 + i,
      httpListener: { id: `${gwId}/httpListeners/${certificateNameFor(hostname)}-https` },
    })),
  };
}

const binding = (hostname: string, version = 'v2'): HttpsBinding => {
  const name = certificateNameFor(hostname);
  return { hostname, name, keyVaultSecretId: versionedSecretId(vault, name, version), refresh: true };
};

const waf = (ruleSetVersion: string, enabled = true): Waf => ({ enabled, firewallMode: 'Prevention', ruleSetType: 'OWASP', ruleSetVersion });

/** A hostname of the longest form DNS allows (253 characters). */
const longest = (last = 'd'): string => `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(60)}${last}`;

describe('the limits a gateway has', () => {
  it('a v2 gateway holds 100 SSL certificates, 200 listeners of which 100 active, and 400 rules', () => {
    expect(limitsOf(gateway())).toEqual({ sslCertificates: 100, listeners: 200, activeListeners: 100, routingRules: 400, basis: 'Standard_v2' });
    expect(limitsOf(gateway({ sku: 'WAF_v2', waf: waf('3.2') }))).toMatchObject({ sslCertificates: 100, listeners: 200, activeListeners: 100, routingRules: 400 });
  });

  it.each([['3.1'], ['3.0'], ['2.2.9']])('a WAF_v2 gateway on OWASP CRS %s has 40 of each, listeners in all included', (version) => {
    expect(limitsOf(gateway({ sku: 'WAF_v2', waf: waf(version) }))).toEqual({
      sslCertificates: 40,
      listeners: 40,
      activeListeners: 40,
      routingRules: 40,
      basis: `WAF_v2 with OWASP CRS ${version}`,
    });
  });

  it('a WAF_v2 gateway on CRS 3.1 has 40 even with its WAF disabled (the stricter reading)', () => {
    expect(limitsOf(gateway({ sku: 'WAF_v2', waf: waf('3.1', false) }))).toMatchObject({ sslCertificates: 40, listeners: 40, activeListeners: 40, routingRules: 40 });
  });

  it('a WAF_v2 gateway without an inline WAF configuration (a WAF policy) and a Standard_v2 gateway keep the standard limits', () => {
    expect(limitsOf(gateway({ sku: 'WAF_v2' })).sslCertificates).toBe(100);
    expect(limitsOf(gateway({ sku: 'Standard_v2', waf: waf('3.1') })).sslCertificates).toBe(100);
    expect(limitsOf(gateway({ sku: 'WAF_v2', waf: { ...waf('3.1')!, ruleSetType: 'Microsoft_DefaultRuleSet' } })).sslCertificates).toBe(100);
  });

  it('agrees with the sandbox ARM emulator on every variant', () => {
    const variants: { sku: string; waf?: Waf }[] = [
      { sku: 'Standard_v2' },
      { sku: 'Standard_v2', waf: waf('3.1') },
      { sku: 'WAF_v2' },
      { sku: 'WAF_v2', waf: waf('3.2') },
      { sku: 'WAF_v2', waf: waf('3.1') },
      { sku: 'WAF_v2', waf: waf('3.1', false) },
      { sku: 'WAF_v2', waf: waf('3.0') },
      { sku: 'WAF_v2', waf: waf('2.2.9') },
    ];
    for (const variant of variants) {
      const app = limitsOf(gateway(variant));
      const resource = {
        id: gwId,
        properties: { sku: { name: variant.sku, tier: variant.sku }, webApplicationFirewallConfiguration: variant.waf },
      } as unknown as GatewayResource;
      const sandbox = limitsFor(resource);
      expect({ variant, app: { ...app, basis: undefined } }).toEqual({
        variant,
        app: {
          sslCertificates: sandbox.sslCertificates,
          listeners: sandbox.httpListeners,
          activeListeners: sandbox.activeHttpListeners,
          routingRules: sandbox.requestRoutingRules,
          basis: undefined,
        },
      });
      expect(MAX_CHILD_NAME).toBe(sandbox.childNameLength);
    }
  });
});

describe('fitting bindings into the gateway', () => {
  it('the 101st certificate is refused, naming the limit, the count and what to do', () => {
    const full = gateway({ certificates: 100 });
    const { fitting, refused } = fitBindings(full, [binding('new.example.com')]);
    expect(fitting).toEqual([]);
    expect(refused).toEqual([
      {
        hostname: 'new.example.com',
        detail: expect.stringContaining("new.example.com needs one more of the gateway's SSL certificates, which already has 100 of at most 100 (Standard_v2)."),
      },
    ]);
    expect(refused[0].detail).toContain('DELETE /api/certificates/{hostname}');
    expect(refused[0].detail).toContain('use another gateway');
    expect(refused[0].detail).not.toContain('CRS');
  });

  it('a renewal of a hostname already on a full gateway adds nothing and fits', () => {
    const full = gateway({ certificates: 100 });
    expect(fitBindings(full, [binding('site7.example.com', 'v2')])).toEqual({ fitting: [binding('site7.example.com', 'v2')], refused: [] });
  });

  it('a batch binds what fits, in order, and reports the rest', () => {
    const almostFull = gateway({ certificates: 98 });
    const hostnames = ['a.example.com', 'b.example.com', 'c.example.com', 'd.example.com'];
    const { fitting, refused } = fitBindings(almostFull, hostnames.map((h) => binding(h)));
    expect(fitting.map((b) => b.hostname)).toEqual(['a.example.com', 'b.example.com']);
    expect(refused.map((r) => r.hostname)).toEqual(['c.example.com', 'd.example.com']);
    for (const r of refused) expect(r.detail).toContain('already has 100 of at most 100');
  });

  it('a removal in the same write makes room (the writer counts on the gateway with removals made)', () => {
    const full = gateway({ certificates: 100 });
    const removal = { hostname: 'site0.example.com', name: certificateNameFor('site0.example.com') };
    const afterRemoval = planHttpsBindings(full, [], { backendPoolName: 'pool', httpSettingsName: 'settings' }, [removal]);
    expect(afterRemoval?.sslCertificates).toHaveLength(99);
    expect(fitBindings(afterRemoval!, [binding('new.example.com')]).fitting).toHaveLength(1);
  });

  it('on WAF_v2 with CRS 3.1 idle listeners count against the 40 listeners in all, and the refusal suggests CRS 3.2', () => {
    const wafGateway = gateway({ sku: 'WAF_v2', waf: waf('3.1'), certificates: 10, idleListeners: 30 });
    const { fitting, refused } = fitBindings(wafGateway, [binding('new.example.com')]);
    expect(fitting).toEqual([]);
    expect(refused[0].detail).toContain("needs one more of the gateway's HTTP listeners, which already has 40 of at most 40 (WAF_v2 with OWASP CRS 3.1)");
    expect(refused[0].detail).toContain('move the WAF to OWASP CRS 3.2 or later');
    // The same gateway on the standard limits has room.
    expect(fitBindings(gateway({ certificates: 10, idleListeners: 30 }), [binding('new.example.com')]).fitting).toHaveLength(1);
  });

  it('on WAF_v2 with CRS 3.1 the 41st certificate is refused', () => {
    const wafGateway = gateway({ sku: 'WAF_v2', waf: waf('3.1', false), certificates: 40 });
    expect(fitBindings(wafGateway, [binding('new.example.com')]).refused[0].detail).toContain('SSL certificates, which already has 40 of at most 40');
  });

  it('refuses a binding whose child names would exceed 80 characters', () => {
    const tooLong: HttpsBinding = { hostname: 'x.example.com', name: 'n'.repeat(MAX_CHILD_NAME - 2), keyVaultSecretId: 'https://kv.vault.azure.net/secrets/n/v' };
    expect(fitBindings(gateway(), [tooLong]).refused).toEqual([
      { hostname: 'x.example.com', detail: `The gateway child name ${'n'.repeat(MAX_CHILD_NAME - 2)}-https is longer than 80 characters.` },
    ]);
  });

  it('the typed code says what to do', () => {
    expect(ErrorMessages.ApplicationGatewayCapacityExceeded).toMatch(/Remove certificates the gateway no longer needs, use another gateway/);
  });
});

describe('child names of the longest hostname', () => {
  it('a 253-character hostname gets child names within 80 characters, the same every time, distinct from its neighbour', () => {
    const hostname = longest();
    expect(hostname).toHaveLength(253);
    expect(normaliseHostname(hostname)).toEqual({ ok: true, hostname });
    const names = [certificateNameFor(hostname), listenerName(binding(hostname)), ruleName(binding(hostname))];
    for (const name of names) {
      expect(name.length).toBeLessThanOrEqual(MAX_CHILD_NAME);
      // The service's rule for child names (sandbox/emulators/gatewayLimits.ts, ASCII word characters).
      expect(name).toMatch(/^[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?$/);
    }
    expect(listenerName(binding(hostname))).toHaveLength(MAX_CHILD_NAME);
    expect(certificateNameFor(hostname)).toBe(certificateNameFor(longest()));
    expect(certificateNameFor(hostname)).not.toBe(certificateNameFor(longest('e')));
    expect(fitBindings(gateway(), [binding(hostname)])).toEqual({ fitting: [binding(hostname)], refused: [] });
  });
});

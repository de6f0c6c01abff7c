import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_DNS_ZONES, DNS_RESOURCE_GROUP, Sandbox, SANDBOX_SUBSCRIPTION, seededLinkedResources, startSandbox } from '../../sandbox';
import type { Grant } from '../../sandbox/rbac';
import roles from '../../infra/roles.json';
import { issueOne } from '../support/sandboxClient';
import { scaledGateway } from '../support/scaledGateway';

/**
 * Permissions as Azure enforces them, from infra/roles.json (what the Bicep assigns): with all of
 * them an issuance completes; without any one action of the custom roles, or any one role
 * assignment the sandbox enforces (a `forEach` entry's on each resource it loops over, one at a
 * time), an issuance fails with the typed code of the service that refused, and the failure names
 * the role to grant, and for a per-resource assignment the resource.
 *
 * Run in the 'waf-policy' landing zone (sandbox/emulators/landingZones.ts): a WAF_v2 gateway with a
 * gateway and a listener WAF policy, its network in a hub subscription and an IPv6 frontend, so
 * every action of the gateway linker and every linked resource's assignment is exercised.
 */
const LANDING_ZONE = 'waf-policy';
type Expectation = { code: string; names: string; resource?: string };

const definitions: Record<string, { roleName: string }> = { ...roles.builtInRoles, ...roles.customRoles };

/** The Azure DNS zones the sandbox seeds (their ids as the sandbox makes them): DNS-01 writes in them. */
const DNS_ZONE_IDS = DEFAULT_DNS_ZONES.map((zone) => `/subscriptions/${SANDBOX_SUBSCRIPTION}/resourceGroups/${DNS_RESOURCE_GROUP}/providers/Microsoft.Network/dnszones/${zone}`);
/** The resources each `forEach` of roles.json loops over in this sandbox. */
const FOR_EACH: Record<string, () => string[]> = {
  applicationGatewayLinkedResourceIds: () => seededLinkedResources({ landingZone: LANDING_ZONE }),
  dnsZoneResourceIds: () => DNS_ZONE_IDS,
};

/** A grant DNS-01 alone uses (the DNS challenge writer role, its actions or its assignment on a zone). */
const isDnsGrant = (grant: Grant): boolean => grant.role === 'dnsChallengeWriter';

/** What each missing grant must end in: its typed code, and the role the failure tells the operator to grant. */
function expectationFor(grant: Grant): Expectation {
  // DNS-01's TXT record sets: the failure names the role; taken off one zone, that zone.
  if (isDnsGrant(grant)) return { code: 'DnsZonePermissionDenied', names: definitions[grant.role].roleName, ...(grant.kind === 'assignment' && grant.scope ? { resource: grant.scope } : {}) };
  if (grant.kind === 'action') return { code: 'ApplicationGatewayPermissionDenied', names: definitions[grant.role].roleName };
  const role = definitions[grant.role].roleName;
  if (grant.scope) return { code: 'ApplicationGatewayPermissionDenied', names: role, resource: grant.scope };
  // The gateway's own identity: the app sees the gateway keep serving nothing new; the code's message names the role.
  if (grant.principal === 'gateway') return { code: 'CertificateNotServedByGateway', names: role };
  if (grant.scopeKind === 'vault') return { code: 'KeyVaultPermissionDenied', names: role };
  // The validation files, and the claims, locks and gateway writer's inbox: the failure names the container and its assignment.
  if (grant.scopeKind === 'challengeContainer') return { code: 'BlobStoragePermissionDenied', names: `${role}' on the challenge container (BlobContainerUrl) (assignment ${grant.name}` };
  if (grant.scopeKind === 'stateContainer') return { code: 'BlobStoragePermissionDenied', names: `${role}' on the state container (StateContainerUrl) (assignment ${grant.name}` };
  return { code: 'ApplicationGatewayPermissionDenied', names: role };
}

const label = (grant: Grant): string =>
  grant.kind === 'action' ? `action ${grant.action} of role ${grant.role}` : `assignment ${grant.name} (${grant.role} on ${grant.scope ?? grant.scopeKind})`;

describe('permissions from infra/roles.json, enforced', () => {
  let sandbox: Sandbox;
  let stateDir: string;
  let issued = 0;

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-rbac-'));
    // Azure DNS propagation scaled down (the DNS grants' cases issue by DNS-01).
    sandbox = await startSandbox(scaledGateway({ stateDir, landingZone: LANDING_ZONE, dnsPropagationDelayMs: 1000, settings: { ServedCertificateRecheckSeconds: '0,1' } }));
  }, 120_000);
  afterAll(async () => {
    await sandbox?.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });
  afterEach(() => sandbox.rbac.restore());

  const issue = (): ReturnType<typeof issueOne> => issueOne(sandbox, `rbac${issued++}.permissions.example`);
  /** DNS-01 in one zone (the one a zone's assignment was taken off; contoso.example otherwise). */
  const issueByDns01 = (grant: Grant): ReturnType<typeof issueOne> => {
    const zone = grant.kind === 'assignment' && grant.scope ? grant.scope.split('/').pop() : DEFAULT_DNS_ZONES[0];
    return issueOne(sandbox, `rbac${issued++}.${zone}`, 'dns-01');
  };


  it('issues and binds a certificate with exactly the roles the infra assigns, by HTTP-01 and by DNS-01', async () => {
    expect(await issue()).toMatchObject({ runtimeStatus: 'Completed' });
    expect(await issueOne(sandbox, `rbac${issued++}.${DEFAULT_DNS_ZONES[0]}`, 'dns-01')).toMatchObject({ runtimeStatus: 'Completed' });
    // Nothing was refused on the way (a refusal the app worked around would show here).
    expect(sandbox.rbac.denials()).toEqual([]);
  });

  it('lists every custom action and every enforced assignment to take away, one per linked resource', () => {
    const grants = sandbox.rbac.grants();
    const custom = Object.values(roles.customRoles).flatMap((role) => role.actions);
    expect(grants.filter((g) => g.kind === 'action')).toHaveLength(custom.length);
    // The cases below are these grants: generated before the sandbox starts, from the same file and the same seeded gateway.
    expect(grants).toEqual(grantsFromFile().map(([, grant]) => grant));
    expect(grants.filter((g) => g.kind === 'assignment' && g.name === 'onLinkedResource').map((g) => (g.kind === 'assignment' ? g.scope : ''))).toEqual(sandbox.rbac.scopes.gatewayLinkedResources);
    // Subnet, IPv4 and IPv6 public IPs, the gateway's and the listener's WAF policies, the identity.
    expect(sandbox.rbac.scopes.gatewayLinkedResources).toHaveLength(6);
  });

  // One case per grant, generated from the same file: a grant added to roles.json is tested here at once.
  it.each(grantsFromFile())('without the %s, an issuance fails with its typed code naming the role', async (_label, grant) => {
    if (grant.kind === 'action') sandbox.rbac.withoutAction(grant.role, grant.action);
    else sandbox.rbac.removeAssignment(grant.name, grant.scope);
    sandbox.rbac.clearDenials();
    // A fresh instance (as Azure scales out): nothing a process read before the change is cached.
    await sandbox.restartHost();
    const expected = expectationFor(grant);
    const outcome = isDnsGrant(grant) ? await issueByDns01(grant) : await issue();
    expect(outcome.code).toBe(expected.code);
    expect(['Failed', 'HTTP 502']).toContain(outcome.runtimeStatus);
    expect(outcome.text).toContain(expected.names);
    // The refusal came from the permission taken away, not from something else.
    expect(sandbox.rbac.denials().length).toBeGreaterThan(0);
    if (expected.resource) {
      // A linked resource's assignment: the failure says which resource, and that is what was refused.
      // (ARM resource ids compare case-insensitively: the SDK writes dnsZones where the zone's id says dnszones.)
      expect(outcome.text.toLowerCase()).toContain(expected.resource.toLowerCase());
      expect(sandbox.rbac.denials().map((d) => d.scope.toLowerCase())).toContain(expected.resource.toLowerCase());
    }
  }, 240_000);
});

/**
 * The grants roles.json defines, in the same order as Rbac.grants() (custom role actions, then
 * enforced assignments; a `forEach` entry once per resource of the seeded gateway it loops over).
 */
function grantsFromFile(): [string, Grant][] {
  const grants: Grant[] = [];
  for (const [key, role] of Object.entries(roles.customRoles)) {
    for (const action of role.actions) grants.push({ kind: 'action', role: key, action, permission: 'action' });
  }
  for (const entry of roles.roleAssignments.filter((a) => a.enforcedInSandbox)) {
    const grant = { kind: 'assignment', name: entry.name, principal: entry.principal, role: entry.role, scopeKind: entry.scope } as const;
    if (!('forEach' in entry)) grants.push(grant);
    else for (const scope of FOR_EACH[entry.forEach ?? '']()) grants.push({ ...grant, scope });
  }
  return grants.map((grant) => [label(grant), grant]);
}

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Sandbox, startSandbox } from '../../sandbox';
import type { Grant } from '../../sandbox/rbac';
import roles from '../../infra/roles.json';
import { failureRecord, pollToEnd, post } from '../support/sandboxClient';
import { scaledGateway } from '../support/scaledGateway';

/**
 * Permissions as Azure enforces them, from infra/roles.json (what the Bicep assigns): with all of
 * them an issuance completes; without any one action of the custom roles, or any one role
 * assignment the sandbox enforces, an issuance fails with the typed code of the service that
 * refused, and the failure names the role to grant.
 */
type Expectation = { code: string; names: string };

const definitions: Record<string, { roleName: string }> = { ...roles.builtInRoles, ...roles.customRoles };

/** What each missing grant must end in: its typed code, and the role the failure tells the operator to grant. */
function expectationFor(grant: Grant): Expectation {
  if (grant.kind === 'action') return { code: 'ApplicationGatewayPermissionDenied', names: definitions[grant.role].roleName };
  const role = definitions[grant.role].roleName;
  // The gateway's own identity: the app sees the gateway keep serving nothing new; the code's message names the role.
  if (grant.principal === 'gateway') return { code: 'CertificateNotServedByGateway', names: role };
  if (grant.scopeKind === 'vault') return { code: 'KeyVaultPermissionDenied', names: role };
  if (grant.scopeKind === 'challengeContainer') return { code: 'BlobStoragePermissionDenied', names: role };
  return { code: 'ApplicationGatewayPermissionDenied', names: role };
}

const label = (grant: Grant): string => (grant.kind === 'action' ? `action ${grant.action} of role ${grant.role}` : `assignment ${grant.name} (${grant.role} on ${grant.scopeKind})`);

describe('permissions from infra/roles.json, enforced', () => {
  let sandbox: Sandbox;
  let stateDir: string;
  let issued = 0;

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-rbac-'));
    sandbox = await startSandbox(scaledGateway({ stateDir, settings: { ServedCertificateRecheckSeconds: '0,1' } }));
  }, 120_000);
  afterAll(async () => {
    await sandbox?.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });
  afterEach(() => sandbox.rbac.restore());

  async function issue(): Promise<{ runtimeStatus: string; code?: string; text: string }> {
    const hostname = `rbac${issued++}.permissions.example`;
    const started = await post(sandbox, 'AddCertificateFunctions_HttpStart', { hostnames: [{ hostname }] });
    // A starter that cannot reserve the hostname or read Key Vault refuses at once, with the code.
    if (started.status !== 202) return { runtimeStatus: `HTTP ${started.status}`, code: String(started.body.code), text: String(started.body.detail) };
    const { final } = await pollToEnd(String(started.body.statusQueryGetUri), undefined, 180_000);
    if (final.runtimeStatus !== 'Failed') return { runtimeStatus: final.runtimeStatus, text: '' };
    const record = failureRecord(final.output);
    return { runtimeStatus: final.runtimeStatus, code: record.code, text: `${record.message ?? ''} ${record.detail ?? ''}` };
  }

  it('issues and binds a certificate with exactly the roles the infra assigns', async () => {
    expect(await issue()).toMatchObject({ runtimeStatus: 'Completed' });
    // Nothing was refused on the way (a refusal the app worked around would show here).
    expect(sandbox.rbac.denials()).toEqual([]);
  });

  it('lists every custom action and every enforced assignment to take away', () => {
    const grants = sandbox.rbac.grants();
    const custom = Object.values(roles.customRoles).flatMap((role) => role.actions);
    expect(grants.filter((g) => g.kind === 'action')).toHaveLength(custom.length);
    expect(grants.filter((g) => g.kind === 'assignment').map((g) => (g.kind === 'assignment' ? g.name : ''))).toEqual(
      roles.roleAssignments.filter((a) => a.enforcedInSandbox).map((a) => a.name),
    );
  });

  // One case per grant, generated from the same file: a grant added to roles.json is tested here at once.
  it.each(grantsFromFile())('without the %s, an issuance fails with its typed code naming the role', async (_label, grant) => {
    if (grant.kind === 'action') sandbox.rbac.withoutAction(grant.role, grant.action);
    else sandbox.rbac.removeAssignment(grant.name);
    sandbox.rbac.clearDenials();
    // A fresh instance (as Azure scales out): nothing a process read before the change is cached.
    await sandbox.restartHost();
    const expected = expectationFor(grant);
    const outcome = await issue();
    expect(outcome.code).toBe(expected.code);
    expect(['Failed', 'HTTP 502']).toContain(outcome.runtimeStatus);
    expect(outcome.text).toContain(expected.names);
    // The refusal came from the permission taken away, not from something else.
    expect(sandbox.rbac.denials().length).toBeGreaterThan(0);
  }, 240_000);
});

/** The grants roles.json defines, in the same order as Rbac.grants() (custom role actions, then enforced assignments). */
function grantsFromFile(): [string, Grant][] {
  const grants: Grant[] = [];
  for (const [key, role] of Object.entries(roles.customRoles)) {
    for (const action of role.actions) grants.push({ kind: 'action', role: key, action, permission: 'action' });
  }
  for (const entry of roles.roleAssignments.filter((a) => a.enforcedInSandbox)) {
    grants.push({ kind: 'assignment', name: entry.name, principal: entry.principal, role: entry.role, scopeKind: entry.scope } as Grant);
  }
  return grants.map((grant) => [label(grant), grant]);
}

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { X509Certificate } from 'node:crypto';
import type { TokenCredential } from '@azure/identity';
import { ApplicationGateway, NetworkManagementClient } from '@azure/arm-network';
import { CertificateClient } from '@azure/keyvault-certificates';
import { SecretClient } from '@azure/keyvault-secrets';
import { ContainerClient } from '@azure/storage-blob';
import { Sandbox, SANDBOX_SUBSCRIPTION, SANDBOX_TENANT, startSandbox } from '../../sandbox';
import { toPkcs12 } from '../../sandbox/keyvault/crypto';
import {
  Assignment,
  blobOperation,
  decide,
  definitionsOf,
  KEY_VAULT_DATA_ACTIONS,
  linkedAccessChecks,
  operationMatches,
  Rbac,
  RoleDefinition,
  roleFile,
  roleGrants,
  SandboxScopes,
  scopeCovers,
} from '../../sandbox/rbac';
import { route } from '../../sandbox/keyvault/routes';
import { CertificateStore } from '../../sandbox/keyvault/certificates';
import { SecretStore } from '../../sandbox/keyvault/secrets';
import { anonymousGet } from '../support/sandboxClient';
import { IdentityCredential } from '../support/identityCredential';

/**
 * The permission model the sandbox enforces (sandbox/rbac/, loaded from infra/roles.json): pure
 * evaluation first, then each enforcement point through the SDKs the app uses, with the app's and
 * the gateway's managed-identity tokens.
 */
const RG = 'rg-appgw-sandbox';
const GW = 'appgw-sandbox';
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));


const S = '/subscriptions/s';
/** What the gateway links, in a hub-and-spoke layout: the subnet and public IP in a hub subscription, the identity in its own group. */
const HUB = '/subscriptions/hub/resourceGroups/hub';
const subnet = `${HUB}/providers/Microsoft.Network/virtualNetworks/vnet/subnets/appgw`;
const publicIp = `${HUB}/providers/Microsoft.Network/publicIPAddresses/gw-pip`;
const gatewayIdentityId = `${S}/resourceGroups/identities/providers/Microsoft.ManagedIdentity/userAssignedIdentities/gw-identity`;
const scopes: SandboxScopes = {
  subscription: S,
  appResourceGroup: `${S}/resourceGroups/app`,
  gatewayResourceGroup: `${S}/resourceGroups/net`,
  hostStorage: `${S}/resourceGroups/app/providers/Microsoft.Storage/storageAccounts/host`,
  challengeAccount: `${S}/resourceGroups/app/providers/Microsoft.Storage/storageAccounts/acme`,
  challengeContainer: `${S}/resourceGroups/app/providers/Microsoft.Storage/storageAccounts/acme/blobServices/default/containers/acme-challenge`,
  stateContainer: `${S}/resourceGroups/app/providers/Microsoft.Storage/storageAccounts/acme/blobServices/default/containers/appgw-certbot-state`,
  vault: `${S}/resourceGroups/app/providers/Microsoft.KeyVault/vaults/kv`,
  insights: `${S}/resourceGroups/app/providers/Microsoft.Insights/components/appi`,
  scheduler: `${S}/resourceGroups/app/providers/Microsoft.DurableTask/schedulers/dts`,
  gateway: `${S}/resourceGroups/net/providers/Microsoft.Network/applicationGateways/gw`,
  gatewayLinkedResources: [subnet, publicIp, gatewayIdentityId],
  dnsZones: [`${S}/resourceGroups/dns/providers/Microsoft.Network/dnszones/contoso.example`, `${S}/resourceGroups/dns/providers/Microsoft.Network/dnszones/fabrikam.example`],
};

describe('role evaluation (pure)', () => {
  const rbac = (): Rbac => new Rbac({ scopes, principals: [{ key: 'app', objectId: 'app-oid' }, { key: 'gateway', objectId: 'gw-oid' }] });

  it('matches wildcards as Learn describes them, case-insensitively', () => {
    expect(operationMatches('Microsoft.KeyVault/vaults/secrets/*', 'Microsoft.KeyVault/vaults/secrets/getSecret/action')).toBe(true);
    expect(operationMatches('Microsoft.KeyVault/vaults/secrets/*', 'Microsoft.KeyVault/vaults/certificates/read')).toBe(false);
    expect(operationMatches('*/read', 'Microsoft.Network/applicationGateways/read')).toBe(true);
    expect(operationMatches('*/read', 'Microsoft.Network/applicationGateways/write')).toBe(false);
    expect(operationMatches('Microsoft.KeyVault/vaults/*/read', 'Microsoft.KeyVault/vaults/secrets/read')).toBe(true);
    expect(operationMatches('Microsoft.Insights/Register/Action', 'microsoft.insights/register/action')).toBe(true);
    expect(operationMatches('Microsoft.Network/applicationGateways/read', 'Microsoft.Network/applicationGatewaysX/read')).toBe(false);
  });

  it('subtracts NotActions within a role, not across roles, and keeps actions and data actions apart', () => {
    const contributorLike: RoleDefinition = { key: 'c', roleName: 'c', custom: true, actions: ['*'], notActions: ['Microsoft.Network/*/write'], dataActions: [], notDataActions: [] };
    const writer: RoleDefinition = { key: 'w', roleName: 'w', custom: true, actions: ['Microsoft.Network/applicationGateways/write'], notActions: [], dataActions: [], notDataActions: [] };
    expect(roleGrants(contributorLike, 'Microsoft.Network/applicationGateways/write', 'action')).toBe(false);
    expect(roleGrants(contributorLike, 'Microsoft.Network/applicationGateways/read', 'action')).toBe(true);
    // `*` in Actions grants no data action (Owner cannot read a secret).
    expect(roleGrants(contributorLike, 'Microsoft.KeyVault/vaults/secrets/getSecret/action', 'dataAction')).toBe(false);
    const definitions = new Map([contributorLike, writer].map((r) => [r.key, r]));
    const at = (role: string): Assignment => ({ name: role, principal: 'p', role, scope: scopes.gatewayResourceGroup, enforced: true });
    expect(decide(definitions, [at('c')], 'p', 'Microsoft.Network/applicationGateways/write', 'action', scopes.gateway).allowed).toBe(false);
    // NotActions is not a deny: another role still grants it.
    expect(decide(definitions, [at('c'), at('w')], 'p', 'Microsoft.Network/applicationGateways/write', 'action', scopes.gateway)).toMatchObject({ allowed: true, grantedBy: { role: 'w' } });
  });

  it('applies an assignment to its scope and everything below it, never to a sibling with a longer name', () => {
    expect(scopeCovers(scopes.vault, `${scopes.vault}/secrets/acme-account-key`)).toBe(true);
    expect(scopeCovers(scopes.vault, scopes.vault.toUpperCase())).toBe(true);
    expect(scopeCovers(scopes.vault, `${scopes.vault}2`)).toBe(false);
    expect(scopeCovers(scopes.gatewayResourceGroup, scopes.gateway)).toBe(true);
    expect(scopeCovers(scopes.gateway, scopes.gatewayResourceGroup)).toBe(false);
    expect(scopeCovers('/', scopes.gateway)).toBe(true);
  });

  it('loads every role and assignment of infra/roles.json, scopes mapped to the sandbox, a forEach entry once per linked resource', () => {
    const model = rbac();
    const forEachLength: Record<string, number> = { applicationGatewayLinkedResourceIds: scopes.gatewayLinkedResources.length, dnsZoneResourceIds: scopes.dnsZones.length };
    const perResource = (name: string): number => {
      const list = roleFile.roleAssignments.find((a) => a.name === name)?.forEach;
      return list ? forEachLength[list] : 1;
    };
    expect(model.assignments().filter((a) => a.principal !== 'operator').map((a) => a.name).sort()).toEqual(
      roleFile.roleAssignments.flatMap((a) => Array<string>(perResource(a.name)).fill(a.name)).sort(),
    );
    expect(model.assignments().filter((a) => a.name === 'onLinkedResource')).toEqual(
      scopes.gatewayLinkedResources.map((scope) => ({ name: 'onLinkedResource', principal: 'app', role: 'gatewayLinker', scope, enforced: true })),
    );
    expect(model.assignments().find((a) => a.name === 'onGatewayResourceGroup')?.scope).toBe(scopes.gatewayResourceGroup);
    expect(model.assignments().find((a) => a.name === 'challengeWriter')?.scope).toBe(scopes.challengeContainer);
    expect(model.assignments().find((a) => a.name === 'stateWriter')?.scope).toBe(scopes.stateContainer);
    expect([...definitionsOf(roleFile).keys()]).toEqual([...Object.keys(roleFile.builtInRoles), ...Object.keys(roleFile.customRoles)]);
  });

  it('gives the app and the gateway what the app and the gateway do, and nothing across', () => {
    const model = rbac();
    const app = (operation: string, kind: 'action' | 'dataAction', scope: string): boolean => model.check('app-oid', operation, kind, scope).allowed;
    expect(app('Microsoft.KeyVault/vaults/certificates/create/action', 'dataAction', `${scopes.vault}/certificates/www-example-com`)).toBe(true);
    expect(app('Microsoft.KeyVault/vaults/secrets/setSecret/action', 'dataAction', `${scopes.vault}/secrets/acme-account-key`)).toBe(true);
    expect(app('Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write', 'dataAction', scopes.challengeContainer)).toBe(true);
    expect(app('Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write', 'dataAction', scopes.stateContainer)).toBe(true);
    expect(app('Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write', 'dataAction', `${scopes.challengeAccount}/blobServices/default/containers/other`)).toBe(false);
    expect(app('Microsoft.Network/applicationGateways/write', 'action', scopes.gateway)).toBe(true);
    expect(app('Microsoft.Network/applicationGateways/write', 'action', `${scopes.gatewayResourceGroup}/providers/Microsoft.Network/applicationGateways/other`)).toBe(false);
    // The linker is on each linked resource, wherever it lives, and on nothing beside it.
    expect(app('Microsoft.Network/virtualNetworks/subnets/join/action', 'action', subnet)).toBe(true);
    expect(app('Microsoft.Network/virtualNetworks/subnets/join/action', 'action', subnet.replace(/appgw$/, 'workloads'))).toBe(false);
    expect(app('Microsoft.Network/publicIPAddresses/read', 'action', publicIp)).toBe(true);
    expect(app('Microsoft.Network/publicIPAddresses/join/action', 'action', `${HUB}/providers/Microsoft.Network/publicIPAddresses/other-pip`)).toBe(false);
    expect(app('Microsoft.ManagedIdentity/userAssignedIdentities/assign/action', 'action', gatewayIdentityId)).toBe(true);
    expect(app('Microsoft.Network/applicationGateways/write', 'action', publicIp)).toBe(false);
    expect(app('Microsoft.Network/locations/operations/read', 'action', scopes.gatewayResourceGroup)).toBe(true);
    expect(app('Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies/join/action', 'action', `${scopes.gatewayResourceGroup}/providers/Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies/waf`)).toBe(false);
    expect(model.check('gw-oid', 'Microsoft.KeyVault/vaults/secrets/getSecret/action', 'dataAction', `${scopes.vault}/secrets/x`).allowed).toBe(true);
    expect(model.check('gw-oid', 'Microsoft.KeyVault/vaults/certificates/read', 'dataAction', `${scopes.vault}/certificates/x`).allowed).toBe(false);
    expect(model.check('someone-else', 'Microsoft.Network/applicationGateways/read', 'action', scopes.gateway).allowed).toBe(false);
  });

  it('takes one action or one assignment away and puts it back', () => {
    const model = rbac();
    const write = (): boolean => model.check('app-oid', 'Microsoft.Network/applicationGateways/write', 'action', scopes.gateway).allowed;
    const putBack = model.withoutAction('gatewayOperator', 'Microsoft.Network/applicationGateways/write');
    expect(write()).toBe(false);
    expect(model.definition('gatewayOperator')?.actions).not.toContain('Microsoft.Network/applicationGateways/write');
    putBack();
    expect(write()).toBe(true);
    // A wildcard grant is narrowed with NotDataActions, as a custom copy of the role would be.
    const create = (): boolean => model.check('app-oid', 'Microsoft.KeyVault/vaults/certificates/create/action', 'dataAction', scopes.vault).allowed;
    model.withoutAction('keyVaultCertificatesOfficer', 'Microsoft.KeyVault/vaults/certificates/create/action');
    expect(create()).toBe(false);
    expect(model.check('app-oid', 'Microsoft.KeyVault/vaults/certificates/import/action', 'dataAction', scopes.vault).allowed).toBe(true);
    model.restore();
    expect(create()).toBe(true);
    // One assignment of a forEach entry: the others stay.
    const join = (): boolean => model.check('app-oid', 'Microsoft.Network/virtualNetworks/subnets/join/action', 'action', subnet).allowed;
    const readIp = (): boolean => model.check('app-oid', 'Microsoft.Network/publicIPAddresses/read', 'action', publicIp).allowed;
    const readd = model.removeAssignment('onLinkedResource', subnet.toUpperCase());
    expect(join()).toBe(false);
    expect(readIp()).toBe(true);
    readd();
    expect(join()).toBe(true);
    // All of them.
    const readdAll = model.removeAssignment('onLinkedResource');
    expect([join(), readIp()]).toEqual([false, false]);
    expect(model.assignments().filter((a) => a.name === 'onLinkedResource')).toEqual([]);
    readdAll();
    expect([join(), readIp()]).toEqual([true, true]);
    expect(() => model.withoutAction('gatewayOperator', 'Microsoft.Network/loadBalancers/write')).toThrow(/does not grant/);
    expect(() => model.removeAssignment('nope')).toThrow(/no role assignment nope/);
    expect(() => model.removeAssignment('onLinkedResource', `${HUB}/providers/Microsoft.Network/publicIPAddresses/other-pip`)).toThrow(/no role assignment onLinkedResource at/);
  });

  it('lists what a test can take away: each custom action and each enforced assignment, each linked resource\'s on its own', () => {
    const grants = rbac().grants();
    expect(grants.filter((g) => g.kind === 'action')).toHaveLength(Object.values(roleFile.customRoles).reduce((sum, role) => sum + role.actions.length + role.dataActions.length, 0));
    expect(grants.filter((g) => g.kind === 'action').map((g) => (g.kind === 'action' ? g.role : ''))).toContain('gatewayLinker');
    expect(grants.filter((g) => g.kind === 'assignment').map((g) => (g.kind === 'assignment' ? `${g.name}${g.scope ? ` ${g.scope}` : ''}` : '')).sort()).toEqual(
      [
        'challengeWriter',
        'stateWriter',
        'certificatesOfficer',
        'secretsOfficer',
        'gatewayReadsSecrets',
        'onGateway',
        `onLinkedResource ${subnet}`,
        `onLinkedResource ${publicIp}`,
        `onLinkedResource ${gatewayIdentityId}`,
        'onGatewayResourceGroup',
        ...scopes.dnsZones.map((zone) => `onDnsZone ${zone}`),
      ].sort(),
    );
  });

  it('maps every Key Vault operation the emulator routes to a data action', () => {
    const vaultUrl = 'https://vault';
    const certificates = new CertificateStore(() => vaultUrl);
    const secrets = new SecretStore(() => vaultUrl, certificates);
    const requests: [string, string[]][] = [
      ['GET', ['certificates']], ['POST', ['certificates', 'c', 'create']], ['POST', ['certificates', 'c', 'import']], ['POST', ['certificates', 'c', 'pending', 'merge']],
      ['GET', ['certificates', 'c', 'pending']], ['PATCH', ['certificates', 'c', 'pending']], ['DELETE', ['certificates', 'c', 'pending']], ['GET', ['certificates', 'c', 'policy']],
      ['PATCH', ['certificates', 'c', 'policy']], ['GET', ['certificates', 'c', 'versions']], ['GET', ['certificates', 'c']], ['GET', ['certificates', 'c', 'v1']], ['PATCH', ['certificates', 'c']],
      ['DELETE', ['certificates', 'c']], ['GET', ['deletedcertificates']], ['GET', ['deletedcertificates', 'c']], ['POST', ['deletedcertificates', 'c', 'recover']], ['DELETE', ['deletedcertificates', 'c']],
      ['GET', ['secrets']], ['GET', ['secrets', 's', 'versions']], ['PUT', ['secrets', 's']], ['GET', ['secrets', 's']], ['GET', ['secrets', 's', 'v1']], ['PATCH', ['secrets', 's']], ['DELETE', ['secrets', 's']],
      ['GET', ['deletedsecrets', 's']], ['POST', ['deletedsecrets', 's', 'recover']], ['DELETE', ['deletedsecrets', 's']],
    ];
    for (const [method, segments] of requests) {
      const operation = route({ method, path: segments, query: new URLSearchParams(), body: {}, vaultUrl, defaultPageSize: 25 }, certificates, secrets).operation;
      expect({ operation, action: KEY_VAULT_DATA_ACTIONS[operation] }).toEqual({ operation, action: expect.stringMatching(/^Microsoft\.KeyVault\/vaults\/(certificates|secrets)\//) });
    }
  });

  it('maps the blob operations the app makes to their data actions', () => {
    const q = (query: string): URLSearchParams => new URLSearchParams(query);
    const blob = '/acct/acme-challenge/locks/hostname-x';
    expect(blobOperation('PUT', blob, q(''))).toMatchObject({ name: 'PutBlob', action: 'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write', kind: 'dataAction', scope: 'container', addWhenNew: true });
    expect(blobOperation('HEAD', blob, q(''))).toMatchObject({ name: 'GetBlobProperties', action: 'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read' });
    expect(blobOperation('GET', blob, q(''))).toMatchObject({ name: 'GetBlob', read: true });
    expect(blobOperation('PUT', blob, q('comp=metadata'))).toMatchObject({ name: 'SetBlobMetadata', action: 'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write', addWhenNew: false });
    expect(blobOperation('PUT', blob, q('comp=lease'))).toMatchObject({ name: 'LeaseBlob', action: 'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write' });
    expect(blobOperation('DELETE', blob, q(''))).toMatchObject({ name: 'DeleteBlob', action: 'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete' });
    expect(blobOperation('GET', '/acct/acme-challenge', q('restype=container&comp=list'))).toMatchObject({ name: 'ListBlobs', kind: 'dataAction' });
    expect(blobOperation('PUT', '/acct/acme-challenge', q('restype=container&comp=acl'))).toMatchObject({ name: 'SetContainerACL', action: 'Microsoft.Storage/storageAccounts/blobServices/containers/write', kind: 'action' });
    expect(blobOperation('GET', '/acct', q('comp=list'))).toMatchObject({ name: 'ListContainers', scope: 'account' });
  });

  it('finds the linked access checks a gateway PUT makes on what the body references', () => {
    const waf = `${scopes.gatewayResourceGroup}/providers/Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies/waf`;
    const checks = linkedAccessChecks({
      identity: { type: 'UserAssigned', userAssignedIdentities: { [gatewayIdentityId]: {} } },
      properties: {
        gatewayIPConfigurations: [{ properties: { subnet: { id: subnet } } }],
        frontendIPConfigurations: [{ properties: { publicIPAddress: { id: publicIp } } }, { properties: { subnet: { id: subnet } } }],
        firewallPolicy: { id: waf },
        httpListeners: [{ properties: { firewallPolicy: { id: waf } } }],
      },
    });
    expect(checks).toEqual([
      { action: 'Microsoft.Network/virtualNetworks/subnets/join/action', scope: subnet },
      { action: 'Microsoft.Network/publicIPAddresses/join/action', scope: publicIp },
      { action: 'Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies/join/action', scope: waf },
      { action: 'Microsoft.ManagedIdentity/userAssignedIdentities/assign/action', scope: gatewayIdentityId },
    ]);
  });
});

describe('roles enforced by the sandbox, through the SDKs the app uses', () => {
  let sandbox: Sandbox;
  let stateDir: string;
  let app: IdentityCredential;
  let gatewayIdentity: IdentityCredential;
  const tlsOptions = (): { ca: string } => ({ ca: sandbox.ca.certPem });

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rbac-'));
    sandbox = await startSandbox({ stateDir, withHost: false, armOperationDelayMs: 300, armRetryAfterSeconds: 1 });
    app = new IdentityCredential(sandbox.appIdentity.clientId, sandbox.appIdentity.objectId);
    const gateway = sandbox.rbac.principal('gateway');
    gatewayIdentity = new IdentityCredential(gateway.clientId ?? gateway.objectId, gateway.objectId);
  });
  afterAll(async () => {
    await sandbox?.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });
  afterEach(() => {
    sandbox.rbac.restore();
    sandbox.rbac.clearDenials();
    sandbox.storage.setAllowBlobPublicAccess(true);
  });

  /** The error an SDK call rejects with (fails the test when it resolves). */
  async function refusal(call: () => Promise<unknown>): Promise<{ statusCode?: number; code?: string; message: string; body: string; details?: unknown }> {
    try {
      await call();
    } catch (error) {
      const e = error as { statusCode?: number; code?: string; message: string; details?: unknown; response?: { bodyAsText?: string } };
      return { statusCode: e.statusCode, code: e.code, message: e.message, body: e.response?.bodyAsText ?? '', details: e.details };
    }
    throw new Error('the call was not refused');
  }

  describe('Key Vault answers 403 ForbiddenByRbac for a data action the caller does not hold', () => {
    const secrets = (credential: TokenCredential): SecretClient =>
      new SecretClient(sandbox.endpoints.keyVaultUrl, credential, { tlsOptions: tlsOptions(), disableChallengeResourceVerification: true, retryOptions: { maxRetries: 0 } });
    const certificates = (credential: TokenCredential): CertificateClient =>
      new CertificateClient(sandbox.endpoints.keyVaultUrl, credential, { tlsOptions: tlsOptions(), disableChallengeResourceVerification: true, retryOptions: { maxRetries: 0 } });

    it('lets the app set and read its ACME account key, and refuses the read once getSecret/action is taken from Key Vault Secrets Officer', async () => {
      await secrets(app).setSecret('acme-account-key', 'pem');
      expect((await secrets(app).getSecret('acme-account-key')).value).toBe('pem');

      sandbox.rbac.withoutAction('keyVaultSecretsOfficer', 'Microsoft.KeyVault/vaults/secrets/getSecret/action');
      const refused = await refusal(() => secrets(app).getSecret('acme-account-key'));
      const vaultId = sandbox.rbac.scopes.vault;
      expect(refused).toMatchObject({ statusCode: 403, code: 'Forbidden' });
      // The SDK's model of the error body (innererror deserialized as innerError).
      expect(refused.details).toEqual({
        error: {
          code: 'Forbidden',
          message:
            'Caller is not authorized to perform action on resource.\r\nIf role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\n' +
            `Caller: appid=${sandbox.appIdentity.clientId};oid=${sandbox.appIdentity.objectId};iss=https://sts.windows.net/${SANDBOX_TENANT}/\r\n` +
            "Action: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'\r\n" +
            `Resource: '${vaultId.toLowerCase()}/secrets/acme-account-key'\r\n` +
            "Assignment: (not found)\r\nDenyAssignmentId: null\r\nDecisionReason: 'DeniedWithNoValidRBAC' \r\nVault: kv-sandbox;location=westeurope\r\n",
          innerError: { code: 'ForbiddenByRbac', message: undefined, innerError: undefined },
        },
      });
      expect(sandbox.rbac.denials()).toEqual([
        expect.objectContaining({ service: 'keyvault', principal: 'app', operation: 'Microsoft.KeyVault/vaults/secrets/getSecret/action', code: 'ForbiddenByRbac' }),
      ]);
      // Setting it needs setSecret/action, which the role still grants.
      await secrets(app).setSecret('acme-account-key', 'pem2');
    });

    it('refuses a certificate create without the Certificates Officer assignment, and the gateway any certificate read', async () => {
      const policy = { issuerName: 'Unknown', subject: 'CN=rbac.example' } as const;
      sandbox.rbac.removeAssignment('certificatesOfficer');
      const refused = await refusal(() => certificates(app).beginCreateCertificate('rbac-example', policy));
      expect(refused).toMatchObject({ statusCode: 403, code: 'Forbidden' });
      expect(refused.message).toContain("Action: 'Microsoft.KeyVault/vaults/certificates/create/action'");
      sandbox.rbac.restore();
      await certificates(app).beginCreateCertificate('rbac-example', policy);
      expect((await certificates(app).getCertificateOperation('rbac-example')).getOperationState().isStarted).toBe(true);

      const gatewayRead = await refusal(() => certificates(gatewayIdentity).getCertificate('rbac-example'));
      expect(gatewayRead.message).toContain("Action: 'Microsoft.KeyVault/vaults/certificates/read'");
      expect((await refusal(() => secrets(new IdentityCredential('stranger', 'stranger-oid')).getSecret('acme-account-key'))).statusCode).toBe(403);
    });
  });

  describe('ARM answers 403 AuthorizationFailed, and LinkedAuthorizationFailed for what a gateway PUT references', () => {
    const network = (credential: TokenCredential): NetworkManagementClient =>
      new NetworkManagementClient(credential, SANDBOX_SUBSCRIPTION, { tlsOptions: tlsOptions(), endpoint: sandbox.endpoints.armUrl, retryOptions: { maxRetries: 0 } });
    const put = (gateway: ApplicationGateway) => network(app).applicationGateways.beginCreateOrUpdateAndWait(RG, GW, gateway, { updateIntervalInMs: 50 });
    const tagged = async (tag: string): Promise<ApplicationGateway> => ({ ...(await network(app).applicationGateways.get(RG, GW)), tags: { step: tag } });
    const clientOf = (): string => `The client '${sandbox.appIdentity.clientId}' with object id '${sandbox.appIdentity.objectId}'`;
    const settle = (): Promise<void> => sleep(400);

    it('lets the app read the gateway and its public IP and PUT it, polling the operation', async () => {
      const gateway = await network(app).applicationGateways.get(RG, GW);
      expect((await network(app).publicIPAddresses.get(RG, `${GW}-pip`)).ipAddress).toBe('127.0.0.1');
      const done = await put({ ...gateway, tags: { step: 'allowed' } });
      expect(done.tags).toEqual({ step: 'allowed' });
      expect(sandbox.rbac.denials()).toEqual([]);
    });

    it('refuses a read without applicationGateways/read, with ARM\'s message, even for a gateway that does not exist', async () => {
      sandbox.rbac.withoutAction('gatewayOperator', 'Microsoft.Network/applicationGateways/read');
      const refused = await refusal(() => network(app).applicationGateways.get(RG, GW));
      expect(refused).toMatchObject({ statusCode: 403, code: 'AuthorizationFailed' });
      expect(refused.message).toBe(
        `${clientOf()} does not have authorization to perform action 'Microsoft.Network/applicationGateways/read' over scope '${sandbox.arm.gatewayId}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
      );
      sandbox.rbac.restore();
      const elsewhere = await refusal(() => network(app).applicationGateways.get(RG, 'another-gateway'));
      expect(elsewhere).toMatchObject({ statusCode: 403, code: 'AuthorizationFailed' });
      expect((await refusal(() => network(app).publicIPAddresses.get(RG, 'another-pip'))).code).toBe('AuthorizationFailed');
    });

    it('refuses a PUT whose subnet, public IP or identity the app may not join or assign, naming each linked scope', async () => {
      const gateway = await tagged('linked');
      const subnet = gateway.gatewayIPConfigurations?.[0]?.subnet?.id ?? '';
      const identity = Object.keys(gateway.identity?.userAssignedIdentities ?? {})[0];
      sandbox.rbac.removeAssignment('onLinkedResource', subnet);
      sandbox.rbac.removeAssignment('onLinkedResource', identity);
      const refused = await refusal(() => put(gateway));
      expect(refused).toMatchObject({ statusCode: 403, code: 'LinkedAuthorizationFailed' });
      expect(refused.message).toBe(
        `${clientOf()} has permission to perform action 'Microsoft.Network/applicationGateways/write' on scope '${sandbox.arm.gatewayId}'; however, it does not have permission to perform action(s) ` +
          `'Microsoft.Network/virtualNetworks/subnets/join/action,Microsoft.ManagedIdentity/userAssignedIdentities/assign/action' on the linked scope(s) '${subnet},${identity}' (respectively) or the linked scope(s) are invalid.`,
      );
      expect(sandbox.arm.readGateway().tags).not.toEqual({ step: 'linked' });
      sandbox.rbac.restore();
      sandbox.rbac.withoutAction('gatewayLinker', 'Microsoft.Network/publicIPAddresses/join/action');
      expect((await refusal(() => put(gateway))).message).toContain(`'Microsoft.Network/publicIPAddresses/join/action' on the linked scope(s) '${gateway.frontendIPConfigurations?.[0]?.publicIPAddress?.id}'`);
    });

    it('refuses a PUT referencing a WAF policy the app may not join', async () => {
      const gateway = await tagged('waf');
      const waf = `/subscriptions/${SANDBOX_SUBSCRIPTION}/resourceGroups/${RG}/providers/Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies/waf`;
      const refused = await refusal(() => put({ ...gateway, firewallPolicy: { id: waf } }));
      expect(refused).toMatchObject({ code: 'LinkedAuthorizationFailed' });
      expect(refused.message).toContain(`'Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies/join/action' on the linked scope(s) '${waf}'`);
    });

    it('refuses a PUT without applicationGateways/write before any linked check', async () => {
      sandbox.rbac.withoutAction('gatewayOperator', 'Microsoft.Network/applicationGateways/write');
      sandbox.rbac.removeAssignment('onLinkedResource');
      const refused = await refusal(async () => put(await tagged('nowrite')));
      expect(refused).toMatchObject({ statusCode: 403, code: 'AuthorizationFailed' });
      expect(refused.message).toContain("perform action 'Microsoft.Network/applicationGateways/write' over scope");
    });

    it('accepts the PUT but refuses polling its Azure-AsyncOperation without the resource-group read (Learn: resource-level rights cannot track it)', async () => {
      sandbox.rbac.removeAssignment('onGatewayResourceGroup');
      const refused = await refusal(async () => put(await tagged('untracked')));
      expect(refused).toMatchObject({ statusCode: 403, code: 'AuthorizationFailed' });
      expect(refused.message).toMatch(
        new RegExp(`does not have authorization to perform action 'Microsoft\\.Network/locations/operations/read' over scope '/subscriptions/${SANDBOX_SUBSCRIPTION}/providers/Microsoft\\.Network/locations/westeurope/operations/[0-9a-f-]{36}'`),
      );
      // The update itself was accepted and runs to its end.
      expect(sandbox.arm.readGateway().tags).toEqual({ step: 'untracked' });
      await settle();
    });
  });

  describe('Storage answers 403 AuthorizationPermissionMismatch, and 409 PublicAccessNotPermitted when the account allows no public access', () => {
    const container = (credential: TokenCredential): ContainerClient =>
      new ContainerClient(sandbox.endpoints.blobContainerUrl, credential, { tlsOptions: tlsOptions(), retryOptions: { maxTries: 1 } } as object);
    /** An anonymous GET, as anyone on the internet can send it. */
    const anonymous = (url: string): ReturnType<typeof anonymousGet> => anonymousGet(sandbox, url);

    it('lets the app do everything its claims, inbox and challenge files need', async () => {
      const blob = container(app).getBlockBlobClient('locks/hostname-rbac');
      const created = await blob.upload('', 0, { conditions: { ifNoneMatch: '*' } });
      const named = await blob.setMetadata({ holder: 'x' }, { conditions: { ifMatch: created.etag } });
      const lease = blob.getBlobLeaseClient();
      await lease.acquireLease(-1, { conditions: { ifMatch: named.etag } });
      expect((await blob.getProperties()).metadata).toEqual({ holder: 'x' });
      await lease.breakLease(0);
      expect((await blob.downloadToBuffer()).length).toBe(0);
      await blob.delete();
      expect(sandbox.rbac.denials()).toEqual([]);
    });

    it('refuses every call once Storage Blob Data Contributor is removed from the container', async () => {
      const blob = container(app).getBlockBlobClient('locks/hostname-removed');
      await blob.upload('x', 1);
      sandbox.rbac.removeAssignment('challengeWriter');
      const download = await refusal(() => blob.download());
      expect(download).toMatchObject({ statusCode: 403, code: 'AuthorizationPermissionMismatch' });
      expect(download.body).toMatch(
        /^<\?xml version="1\.0" encoding="utf-8"\?><Error><Code>AuthorizationPermissionMismatch<\/Code><Message>This request is not authorized to perform this operation using this permission\.\nRequestId:[0-9a-f-]{36}\nTime:\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z<\/Message><\/Error>$/,
      );
      // A HEAD carries the code in x-ms-error-code only (the SDK puts it in details.errorCode).
      expect(await refusal(() => blob.getProperties())).toMatchObject({ statusCode: 403, details: { errorCode: 'AuthorizationPermissionMismatch' } });
      expect(await refusal(() => blob.upload('y', 1))).toMatchObject({ statusCode: 403 });
      expect(sandbox.rbac.denials().map((d) => d.operation)).toEqual([
        'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read',
        'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read',
        'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write',
      ]);
    });

    it('creates a new blob with blobs/add/action alone, but needs blobs/write to overwrite or set metadata', async () => {
      sandbox.rbac.withoutAction('storageBlobDataContributor', 'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write');
      const blob = container(app).getBlockBlobClient(`.well-known/acme-challenge/new-${Date.now()}`);
      await blob.upload('first', 5);
      expect(await refusal(() => blob.upload('second', 6))).toMatchObject({ statusCode: 403, code: 'AuthorizationPermissionMismatch' });
      expect(await refusal(() => blob.setMetadata({ a: 'b' }))).toMatchObject({ statusCode: 403 });
      sandbox.rbac.restore();
      await blob.delete();
    });

    it('keeps the state container private: an anonymous read answers 404 ResourceNotFound as for a missing container; the app uses it through stateWriter alone', async () => {
      const state = (credential: TokenCredential): ContainerClient =>
        new ContainerClient(sandbox.endpoints.stateContainerUrl, credential, { tlsOptions: tlsOptions(), retryOptions: { maxTries: 1 } } as object);
      expect(sandbox.endpoints.stateContainerUrl).toBe(sandbox.endpoints.blobContainerUrl.replace(/\/acme-challenge$/, '/appgw-certbot-state'));
      const inbox = state(app).getBlockBlobClient('gateway-writer/rbac.json');
      await inbox.upload('{"pending":[]}', 14);
      expect((await inbox.downloadToBuffer()).toString()).toBe('{"pending":[]}');
      // Azure answers an anonymous read of a private container 404 ResourceNotFound, by design the
      // same as for a container that does not exist (Azure/azure-storage-cpp#397).
      const refused = await anonymous(inbox.url);
      expect(refused).toMatchObject({ status: 404, headers: { 'x-ms-error-code': 'ResourceNotFound' } });
      expect(refused.body).toMatch(/^<\?xml version="1\.0" encoding="utf-8"\?><Error><Code>ResourceNotFound<\/Code><Message>The specified resource does not exist\.\nRequestId:[0-9a-f-]{36}\nTime:/);
      expect(await anonymous(`${sandbox.endpoints.stateContainerUrl}?restype=container&comp=list`)).toMatchObject({ status: 404, headers: { 'x-ms-error-code': 'ResourceNotFound' } });
      expect(await anonymous(`${sandbox.storage.containerUrl('no-such-container')}/gateway-writer/rbac.json`)).toMatchObject({ status: 404, headers: { 'x-ms-error-code': 'ResourceNotFound' } });
      // The public challenge container serves blobs by name only: no listing, and no inbox there.
      expect(await anonymous(`${sandbox.endpoints.blobContainerUrl}?restype=container&comp=list`)).toMatchObject({ status: 404, headers: { 'x-ms-error-code': 'ResourceNotFound' } });
      expect(await anonymous(`${sandbox.endpoints.blobContainerUrl}/gateway-writer/rbac.json`)).toMatchObject({ status: 404, headers: { 'x-ms-error-code': 'BlobNotFound' } });
      // Each container has its own assignment: without stateWriter the state container refuses, the challenge container does not.
      sandbox.rbac.removeAssignment('stateWriter');
      expect(await refusal(() => inbox.download())).toMatchObject({ statusCode: 403, code: 'AuthorizationPermissionMismatch' });
      const file = container(app).getBlockBlobClient('.well-known/acme-challenge/state-test');
      await file.upload('x', 1);
      await file.delete();
      sandbox.rbac.restore();
      sandbox.rbac.removeAssignment('challengeWriter');
      expect((await inbox.downloadToBuffer()).toString()).toBe('{"pending":[]}');
      sandbox.rbac.restore();
      await inbox.delete();
    });

    it('serves challenge files anonymously, also through the gateway, until allowBlobPublicAccess is turned off', async () => {
      const blob = container(app).getBlockBlobClient('.well-known/acme-challenge/public-token');
      await blob.upload('key-authorization', 17);
      expect(await anonymous(blob.url)).toMatchObject({ status: 200, body: 'key-authorization' });
      const viaGateway = (): Promise<Response> => fetch(`${sandbox.endpoints.gatewayHttpUrl}/.well-known/acme-challenge/public-token`, { headers: { host: 'any.example' } });
      expect((await viaGateway()).status).toBe(200);

      const admin = await fetch(`${sandbox.endpoints.adminUrl}/storage/public-access`, { method: 'POST', body: JSON.stringify({ allow: false }) });
      expect(await admin.json()).toEqual({ allowBlobPublicAccess: false });
      const refused = await anonymous(blob.url);
      expect(refused).toMatchObject({ status: 409, headers: { 'x-ms-error-code': 'PublicAccessNotPermitted' } });
      expect(refused.body).toMatch(/<Code>PublicAccessNotPermitted<\/Code><Message>Public access is not permitted on this storage account\.\nRequestId:/);
      const gatewayAnswer = await viaGateway();
      expect(gatewayAnswer.status).toBe(409);
      // The operator (Storage Blob Data Owner) cannot make a container public either.
      const operator = container(new IdentityCredential('tests', 'tests'));
      expect(await refusal(() => operator.setAccessPolicy('blob'))).toMatchObject({ statusCode: 409, code: 'PublicAccessNotPermitted' });
      // Authorized reads are unaffected.
      expect((await blob.downloadToBuffer()).toString()).toBe('key-authorization');
      sandbox.storage.setAllowBlobPublicAccess(true);
      expect((await anonymous(blob.url)).status).toBe(200);
      await blob.delete();
    });
  });

  describe('the gateway reads its Key Vault certificates as its own identity', () => {
    it('disables the listener whose secret it may not read, and enables it once Key Vault Secrets User is back', async () => {
      const hostname = 'rbac-listener.example';
      const leaf = sandbox.ca.issueServerCert([hostname]);
      const certificates = new CertificateClient(sandbox.endpoints.keyVaultUrl, new IdentityCredential('tests', 'tests'), { tlsOptions: tlsOptions(), disableChallengeResourceVerification: true });
      const imported = await certificates.importCertificate('rbac-listener', toPkcs12(leaf.keyPem, [new X509Certificate(leaf.certPem).raw]));
      const network = new NetworkManagementClient(new IdentityCredential('tests', 'tests'), SANDBOX_SUBSCRIPTION, { tlsOptions: tlsOptions(), endpoint: sandbox.endpoints.armUrl });
      const gateway = await network.applicationGateways.get(RG, GW);
      const id = (collection: string, name: string): { id: string } => ({ id: `${gateway.id}/${collection}/${name}` });
      gateway.sslCertificates = [...(gateway.sslCertificates ?? []), { name: 'rbac-listener', keyVaultSecretId: imported.secretId }];
      gateway.httpListeners = [
        ...(gateway.httpListeners ?? []),
        { name: 'rbac-listener-https', frontendIPConfiguration: id('frontendIPConfigurations', 'appGwPublicFrontendIp'), frontendPort: id('frontendPorts', 'port_443'), protocol: 'Https', hostName: hostname, requireServerNameIndication: true, sslCertificate: id('sslCertificates', 'rbac-listener') },
      ];
      gateway.requestRoutingRules = [
        ...(gateway.requestRoutingRules ?? []),
        { name: 'rbac-listener-rule', ruleType: 'Basic', priority: 900, httpListener: id('httpListeners', 'rbac-listener-https'), backendAddressPool: id('backendAddressPools', 'app-backend-pool'), backendHttpSettings: id('backendHttpSettingsCollection', 'app-http-settings') },
      ];

      sandbox.rbac.removeAssignment('gatewayReadsSecrets');
      await network.applicationGateways.beginCreateOrUpdateAndWait(RG, GW, gateway, { updateIntervalInMs: 50 });
      await sandbox.dataPlane.settled();
      expect(sandbox.dataPlane.listenerStates()['rbac-listener-https']).toBe('disabled');
      expect(sandbox.rbac.denials()).toEqual([
        expect.objectContaining({ service: 'gateway', principal: 'gateway', operation: 'Microsoft.KeyVault/vaults/secrets/getSecret/action', code: 'UserAssignedIdentityDoesNotHaveGetPermissionOnKeyVault' }),
      ]);

      sandbox.rbac.restore();
      await sandbox.dataPlane.pollKeyVault();
      expect(sandbox.dataPlane.listenerStates()['rbac-listener-https']).toBe('enabled');
    });
  });

  it('is reachable on the admin endpoint: take an action or an assignment away, list denials, restore', async () => {
    const post = async (route: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> => {
      const response = await fetch(`${sandbox.endpoints.adminUrl}${route}`, { method: 'POST', body: body === undefined ? undefined : JSON.stringify(body) });
      return { status: response.status, json: (await response.json()) as Record<string, unknown> };
    };
    const without = await post('/rbac/without-action', { role: 'gatewayLinker', action: 'Microsoft.Network/publicIPAddresses/read' });
    expect(without.status).toBe(200);
    expect((without.json.role as RoleDefinition).actions).not.toContain('Microsoft.Network/publicIPAddresses/read');
    const network = new NetworkManagementClient(app, SANDBOX_SUBSCRIPTION, { tlsOptions: tlsOptions(), endpoint: sandbox.endpoints.armUrl, retryOptions: { maxRetries: 0 } });
    expect((await refusal(() => network.publicIPAddresses.get(RG, `${GW}-pip`))).code).toBe('AuthorizationFailed');
    expect(((await post('/rbac/denials')).json.denials as unknown[]).length).toBe(1);
    expect((await post('/rbac/remove-assignment', { name: 'onGateway' })).json.assignments).not.toContain('onGateway');
    expect((await post('/rbac/remove-assignment', { name: 'nope' })).status).toBe(400);
    const [linked] = sandbox.rbac.scopes.gatewayLinkedResources;
    const one = await post('/rbac/remove-assignment', { name: 'onLinkedResource', scope: linked });
    expect(sandbox.rbac.assignments().filter((a) => a.name === 'onLinkedResource').map((a) => a.scope)).toEqual(sandbox.rbac.scopes.gatewayLinkedResources.slice(1));
    expect(one.status).toBe(200);
    expect((await post('/rbac/restore')).json).toEqual({ restored: true });
    expect((await network.publicIPAddresses.get(RG, `${GW}-pip`)).ipAddress).toBe('127.0.0.1');
  });
});

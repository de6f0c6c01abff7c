import fs from 'node:fs';
import path from 'node:path';
import { operationMatches } from '../../sandbox/rbac/model';

/**
 * infra/deployer-role.json, the custom role docs/deploy.md offers instead of Owner, covers what a
 * deployment does: write on every resource type the Bicep creates and on the deployments it nests
 * (Learn, "Deploy resources with ARM templates": write on each type plus
 * Microsoft.Resources/deployments/*), the role assignments and definitions, the calls the azd hooks
 * make, and what `azd down --purge` deletes and purges.
 */
const root = path.resolve(__dirname, '../..');
const role = JSON.parse(fs.readFileSync(path.join(root, 'infra/deployer-role.json'), 'utf8')) as { Actions: string[]; DataActions: string[]; AssignableScopes: string[] };
const bicepFiles = ['infra/main.bicep', ...fs.readdirSync(path.join(root, 'infra/modules')).map((f) => `infra/modules/${f}`)].map((f) => fs.readFileSync(path.join(root, f), 'utf8'));
const granted = (operation: string): boolean => role.Actions.some((pattern) => operationMatches(pattern, operation));

/** The resource types the Bicep creates (declarations that are not `existing`), as operation prefixes. */
function createdTypes(): string[] {
  const types = bicepFiles.flatMap((text) => [...text.matchAll(/^resource \w+ '([^@']+)@[^']+' = /gm)].map((m) => m[1]));
  return [...new Set(types)].map((type) => (type === 'Microsoft.Resources/resourceGroups' ? 'Microsoft.Resources/subscriptions/resourceGroups' : type));
}

describe('the deployer role', () => {
  it('may write every resource type the deployment creates, and the nested deployments', () => {
    const types = createdTypes();
    expect(types).toEqual(expect.arrayContaining(['Microsoft.Web/sites', 'Microsoft.Authorization/roleAssignments', 'Microsoft.Authorization/roleDefinitions', 'Microsoft.Resources/subscriptions/resourceGroups']));
    const missing = types.filter((type) => !granted(`${type}/write`));
    expect(missing).toEqual([]);
    expect(bicepFiles.join('\n')).toMatch(/^module /m);
    expect(granted('Microsoft.Resources/deployments/write')).toBe(true);
    expect(granted('Microsoft.Resources/deployments/operationstatuses/read')).toBe(true);
    // The function app runs as a user-assigned identity the deployment creates: ARM checks assign on it.
    expect(granted('Microsoft.ManagedIdentity/userAssignedIdentities/assign/action')).toBe(true);
  });

  it('may read every kind of existing resource the Bicep references (`existing`; the hooks read them first), the Azure DNS zones among them', () => {
    const existingTypes = [...new Set(bicepFiles.flatMap((text) => [...text.matchAll(/^resource \w+ '([^@']+)@[^']+' existing = /gm)].map((m) => m[1])))];
    expect(existingTypes).toEqual(expect.arrayContaining(['Microsoft.Network/applicationGateways', 'Microsoft.Network/dnsZones']));
    expect(existingTypes.filter((type) => !granted(`${type}/read`))).toEqual([]);
  });

  it('may make the calls the azd hooks make, and what azd down --purge deletes and purges', () => {
    const hooks = [
      'Microsoft.Network/applicationGateways/read',
      'Microsoft.KeyVault/vaults/read',
      'Microsoft.Storage/storageAccounts/read',
      'Microsoft.Resources/subscriptions/resourceGroups/read',
      'Microsoft.KeyVault/deletedVaults/read',
      'Microsoft.Authorization/roleAssignments/delete',
      'Microsoft.Authorization/roleDefinitions/delete',
      'Microsoft.Authorization/providerOperations/read',
      // Each Azure DNS zone listed for DNS-01 (is it there, is it public).
      'Microsoft.Network/dnszones/read',
    ];
    const down = ['Microsoft.Resources/subscriptions/resourceGroups/delete', 'Microsoft.KeyVault/locations/deletedVaults/purge/action', 'Microsoft.OperationalInsights/workspaces/delete'];
    // azd deploy to Flex Consumption: the one-deploy publish endpoint; and registering the providers
    // a fresh subscription lacks (Resource Manager does it during the deployment when allowed).
    const deploy = ['Microsoft.Web/sites/publish/Action', ...['Web', 'Storage', 'KeyVault', 'Insights', 'OperationalInsights', 'ManagedIdentity', 'DurableTask'].map((ns) => `Microsoft.${ns}/register/action`)];
    expect([...hooks, ...down, ...deploy].filter((operation) => !granted(operation))).toEqual([]);
  });

  it('is narrower than Owner: no wildcard over everything, no data access, no role-management wildcard', () => {
    expect(role.Actions).not.toContain('*');
    expect(role.Actions.filter((a) => /^Microsoft\.Authorization\/\*/.test(a))).toEqual([]);
    expect(role.DataActions).toEqual([]);
    expect(granted('Microsoft.Network/applicationGateways/write')).toBe(false);
    // The DNS zones are only read and assigned on: no record set or zone write.
    for (const operation of ['Microsoft.Network/dnszones/write', 'Microsoft.Network/dnszones/delete', 'Microsoft.Network/dnszones/TXT/write', 'Microsoft.Network/dnszones/A/write']) expect({ operation, granted: granted(operation) }).toEqual({ operation, granted: false });
    expect(granted('Microsoft.Compute/virtualMachines/write')).toBe(false);
    // Every subscription involved, each a subscription scope (the docs' hub-and-spoke example lists two).
    expect(role.AssignableScopes.length).toBeGreaterThanOrEqual(1);
    // Placeholders the deployer replaces, never a made-up id that looks real.
    for (const scope of role.AssignableScopes) expect(scope).toMatch(/^\/subscriptions\/<[a-z-]+>$/);
  });
});

import fs from 'node:fs';
import path from 'node:path';

/**
 * Bicep cannot be compiled on our machines (no CLI; `az bicep` downloads it), so the infra is
 * checked against the code as text: settings, names, and least privilege.
 */
const root = path.resolve(__dirname, '../..');
const read = (file: string): string => fs.readFileSync(path.join(root, file), 'utf8');
const main = read('infra/main.bicep');
const gatewayModule = read('infra/modules/gatewayAccess.bicep');
const bicep = `${main}\n${gatewayModule}`;

/** Every setting name the typed config reads, taken from the code itself. */
function settingsReadByCode(): string[] {
  const config = read('src/domain/config.ts');
  return [...config.matchAll(/(?:required|optional)\(env, '(\w+)'/g)].map((m) => m[1]);
}

/** `{ name: 'X', value: ... }` entries of the function app's appSettings. */
function appSettings(): string[] {
  const start = main.indexOf('appSettings:');
  const block = main.slice(start, main.indexOf('\n      ])', start));
  return [...block.matchAll(/\{ name: '([\w_]+)', value:/g)].map((m) => m[1]);
}

/** Each `Microsoft.Authorization/roleAssignments` resource (conditional ones too) with its scope, role, principal and condition. */
function roleAssignments(text: string): { name: string; scope: string; role: string; principal: string; condition?: string }[] {
  return [...text.matchAll(/resource (\w+) 'Microsoft\.Authorization\/roleAssignments@[\d-]+' = (?:if \((\w+)\) )?\{([\s\S]*?)\n\}/g)].map((m) => ({
    name: m[1],
    condition: m[2],
    scope: /\n {2}scope: ([^\n]+)/.exec(m[3])?.[1]?.trim() ?? '(none)',
    role: /roleDefinitionId: ([^\n]+)/.exec(m[3])?.[1]?.trim() ?? '',
    principal: /principalId: ([^\n]+)/.exec(m[3])?.[1]?.trim() ?? '',
  }));
}

/** infra/roles.json: the role definitions and assignments the Bicep loads and the sandbox enforces. */
interface RoleFile {
  builtInRoles: Record<string, { id: string; roleName: string; source: string; actions: string[]; notActions: string[]; dataActions: string[]; notDataActions: string[]; permissionsUnverified?: boolean }>;
  customRoles: Record<string, { roleName: string; description: string; actions: string[]; notActions: string[]; dataActions: string[]; notDataActions: string[] }>;
  principals: Record<string, string>;
  roleAssignments: { name: string; file: string; principal: string; role: string; scope: string; condition?: string; why: string; enforcedInSandbox: boolean }[];
}
const roleFile = JSON.parse(read('infra/roles.json')) as RoleFile;

describe('infra matches the code', () => {
  it('sets every setting the typed config reads, under the same name', () => {
    const expected = settingsReadByCode();
    expect(expected.length).toBeGreaterThanOrEqual(10);
    const set = appSettings();
    expect(set.length).toBeGreaterThan(expected.length);
    for (const name of expected) expect(set).toContain(name);
    // and the contract's names are among them
    for (const name of ['AcmeEndpoint', 'AcmeAccountEmail', 'TenantId', 'SubscriptionId', 'ApplicationGatewayResourceGroup', 'ApplicationGatewayName', 'ApplicationGatewayHttpSettingsName', 'ApplicationGatewayBackendName', 'BlobContainerUrl', 'KeyVaultBaseUrl']) {
      expect(set).toContain(name);
    }
  });

  it('names in local.settings.example.json are the ones the code reads', () => {
    const example = JSON.parse(read('local.settings.example.json')) as { Values: Record<string, string> };
    for (const name of settingsReadByCode()) expect(Object.keys(example.Values)).toContain(name);
  });

  it('uses the identity for host storage: no keys, no connection strings', () => {
    expect(appSettings()).toEqual(expect.arrayContaining(['AzureWebJobsStorage__accountName', 'AzureWebJobsStorage__credential', 'AZURE_CLIENT_ID']));
    expect(appSettings()).not.toContain('AzureWebJobsStorage');
    expect(bicep).not.toMatch(/AccountKey=|listKeys\(|DefaultEndpointsProtocol/);
    expect(main).toMatch(/allowSharedKeyAccess: false/);
  });

  it('offers the Durable Task Scheduler as an option, through host.json overrides and an identity connection', () => {
    expect(main).toMatch(/param useDurableTaskScheduler bool = false/);
    expect(main).toMatch(/AzureFunctionsJobHost__extensions__durableTask__storageProvider__type', value: 'azureManaged'/);
    expect(main).toMatch(/Authentication=ManagedIdentity/);
    expect(JSON.parse(read('host.json')).extensions.durableTask.hubName).toBe('AppGwCertbotHub');
  });

  it('turns local auth off for Application Insights and uses RBAC for Key Vault', () => {
    expect(main).toMatch(/DisableLocalAuth: true/);
    expect(main).toMatch(/enableRbacAuthorization: true/);
  });

  it('makes only the challenge container public', () => {
    const publicContainers = [...main.matchAll(/publicAccess: '(\w+)'/g)].map((m) => m[1]);
    expect(publicContainers.filter((access) => access !== 'None')).toEqual(['Blob']);
    expect(main).toMatch(/resource challengeContainer[\s\S]*?publicAccess: 'Blob'/);
  });

  it('assigns no Contributor or Owner role', () => {
    expect(bicep).not.toMatch(/b24988ac-6180-42a0-ab88-20f7382dd24c|8e3af657-a8ff-443c-a75c-2fe8c4bcb635/i);
    expect(bicep).not.toMatch(/'(Contributor|Owner)'/);
  });

  it('scopes every role assignment to one resource, except the one read Learn requires on the gateway resource group', () => {
    const assignments = [...roleAssignments(main), ...roleAssignments(gatewayModule)];
    expect(assignments.length).toBeGreaterThanOrEqual(10);
    for (const assignment of assignments.filter((a) => a.name !== 'onGatewayResourceGroup')) {
      expect({ assignment: assignment.name, scope: assignment.scope }).toEqual({ assignment: assignment.name, scope: expect.stringMatching(/^[a-zA-Z]\w*$/) });
      expect(assignment.scope).not.toMatch(/resourceGroup|subscription/);
    }
    // Tracking an Azure-AsyncOperation needs permission at the resource group level (Learn, async-operations
    // "Permission for tracking async status"): a role holding only that read, on the module's target group.
    const group = assignments.filter((a) => a.scope === '(none)');
    expect(group.map((a) => a.name)).toEqual(['onGatewayResourceGroup']);
    expect(group[0].role).toBe('gatewayOperationReader.id');
    expect(roleFile.customRoles.gatewayOperationReader).toMatchObject({ actions: ['Microsoft.Network/locations/operations/read'], notActions: [], dataActions: [] });
  });

  it('keeps infra/roles.json and the Bicep role assignments in step, both ways', () => {
    const principalOf = (expression: string): string => {
      if (expression === 'appIdentity.properties.principalId' || expression === 'principalId') return 'app';
      if (expression === 'gatewayAccess.outputs.gatewayIdentityPrincipalId') return 'gateway';
      return `unknown principal ${expression}`;
    };
    const roleOf = (expression: string): string =>
      /roles\.(\w+)\.id\)$/.exec(expression)?.[1] ?? /^(\w+)\.id$/.exec(expression)?.[1] ?? `unknown role ${expression}`;
    const inBicep = [
      ...roleAssignments(main).map((a) => ({ ...a, file: 'main.bicep' })),
      ...roleAssignments(gatewayModule).map((a) => ({ ...a, file: 'modules/gatewayAccess.bicep' })),
    ].map((a) => ({
      name: a.name,
      file: a.file,
      principal: principalOf(a.principal),
      role: roleOf(a.role),
      scope: a.scope === '(none)' ? 'resourceGroup' : a.scope,
      ...(a.condition ? { condition: a.condition } : {}),
    }));
    const inFile = roleFile.roleAssignments.map(({ name, file, principal, role, scope, condition }) => ({ name, file, principal, role, scope, ...(condition ? { condition } : {}) }));
    const byName = <T extends { name: string }>(list: T[]): T[] => [...list].sort((a, b) => a.name.localeCompare(b.name));
    expect(byName(inBicep)).toEqual(byName(inFile));
    // The module's principal is the app's identity, and the gateway's is the identity the module names.
    expect(main).toMatch(/module gatewayAccess[\s\S]*?principalId: appIdentity\.properties\.principalId/);
    expect(gatewayModule).toMatch(/output gatewayIdentityPrincipalId string = gatewayIdentity\.properties\.principalId/);
    // Every role an assignment names is defined, built-in roles by their GUID, custom ones in the module.
    for (const assignment of roleFile.roleAssignments) {
      const defined = roleFile.builtInRoles[assignment.role] ?? roleFile.customRoles[assignment.role];
      expect({ assignment: assignment.name, defined: !!defined }).toEqual({ assignment: assignment.name, defined: true });
      expect(Object.keys(roleFile.principals)).toContain(assignment.principal);
      expect(assignment.why.length).toBeGreaterThan(20);
    }
    for (const key of Object.keys(roleFile.customRoles)) expect(gatewayModule).toMatch(new RegExp(`resource ${key} 'Microsoft\\.Authorization/roleDefinitions@`));
  });

  it('loads the role GUIDs and the custom roles\' actions from infra/roles.json instead of repeating them', () => {
    expect(main).toMatch(/var roles = loadJsonContent\('roles\.json', '\$\.builtInRoles'\)/);
    expect(gatewayModule).toMatch(/var customRoles = loadJsonContent\('\.\.\/roles\.json', '\$\.customRoles'\)/);
    // No role GUID and no action string written in the Bicep itself.
    expect(bicep).not.toMatch(/'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'/i);
    expect(bicep).not.toMatch(/'Microsoft\.\w+\/[\w/]+\/(read|write|action|delete)'/);
    for (const [key, role] of Object.entries(roleFile.builtInRoles)) {
      expect({ key, id: role.id }).toEqual({ key, id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/) });
      expect(role.source).toMatch(/^https:\/\/learn\.microsoft\.com\//);
      for (const list of [role.actions, role.notActions, role.dataActions, role.notDataActions]) expect(Array.isArray(list)).toBe(true);
    }
    // Every built-in role the file defines is used by an assignment, and every used one has documented permissions but the optional scheduler's.
    const used = new Set(roleFile.roleAssignments.map((a) => a.role));
    for (const key of Object.keys(roleFile.builtInRoles)) expect(used.has(key)).toBe(true);
    expect(Object.entries(roleFile.builtInRoles).filter(([, role]) => role.permissionsUnverified).map(([key]) => key)).toEqual(['durableTaskDataContributor']);
  });

  it('gives the app on the gateway exactly the justified actions, in a custom role', () => {
    const actions = [...roleFile.customRoles.gatewayOperator.actions].sort();
    expect(gatewayModule).toMatch(/actions: customRoles\.gatewayOperator\.actions/);
    expect(actions).toEqual(
      [
        'Microsoft.ManagedIdentity/userAssignedIdentities/assign/action',
        'Microsoft.Network/applicationGateways/read',
        'Microsoft.Network/applicationGateways/write',
        'Microsoft.Network/publicIPAddresses/join/action',
        'Microsoft.Network/publicIPAddresses/read',
        'Microsoft.Network/virtualNetworks/subnets/join/action',
      ].sort(),
    );
    expect(gatewayModule).toMatch(/type: 'CustomRole'/);
    expect(gatewayModule).not.toMatch(/actions: \[\s*'\*'/);
  });

  it('azure.yaml provisions infra/ and deploys the function app', () => {
    const azure = read('azure.yaml');
    expect(azure).toMatch(/provider: bicep/);
    expect(azure).toMatch(/path: infra/);
    expect(azure).toMatch(/host: function/);
    expect(main).toMatch(/'azd-service-name': 'api'/);
    expect(fs.existsSync(path.join(root, 'infra/main.parameters.json'))).toBe(true);
    const parameters = JSON.parse(read('infra/main.parameters.json')) as { parameters: Record<string, unknown> };
    const declared = [...main.matchAll(/^param (\w+)/gm)].map((m) => m[1]);
    for (const name of Object.keys(parameters.parameters)) expect(declared).toContain(name);
  });
});

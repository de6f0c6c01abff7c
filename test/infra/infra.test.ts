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

/** Each `Microsoft.Authorization/roleAssignments` resource with its scope expression. */
function roleAssignments(text: string): { name: string; scope: string; role: string }[] {
  return [...text.matchAll(/resource (\w+) 'Microsoft\.Authorization\/roleAssignments@[\d-]+' = \{([\s\S]*?)\n\}/g)].map((m) => ({
    name: m[1],
    scope: /\n {2}scope: ([^\n]+)/.exec(m[2])?.[1]?.trim() ?? '(none)',
    role: /roleDefinitionId: ([^\n]+)/.exec(m[2])?.[1]?.trim() ?? '',
  }));
}

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

  it('scopes every role assignment to one resource', () => {
    const assignments = [...roleAssignments(main), ...roleAssignments(gatewayModule)];
    expect(assignments.length).toBeGreaterThanOrEqual(10);
    for (const assignment of assignments) {
      expect({ assignment: assignment.name, scope: assignment.scope }).toEqual({ assignment: assignment.name, scope: expect.stringMatching(/^[a-zA-Z]\w*$/) });
      expect(assignment.scope).not.toMatch(/resourceGroup|subscription/);
    }
  });

  it('gives the app on the gateway exactly the justified actions, in a custom role', () => {
    const actions = [...gatewayModule.matchAll(/^\s+'(Microsoft\.[^']+)'$/gm)].map((m) => m[1]).sort();
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

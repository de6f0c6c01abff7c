import fs from 'node:fs';
import path from 'node:path';
import { LINKABLE_TYPES, renderDeployment } from '../../scripts/deploy/plan';
import { IDENTITY_ASSIGN, PUBLIC_IP_JOIN, SUBNET_JOIN, WAF_POLICY_JOIN } from '../../src/domain/gatewayLinks';

/**
 * Bicep cannot be compiled on our machines (no CLI; `az bicep` downloads it), so the infra is
 * checked against the code as text: settings, names, and least privilege.
 */
const root = path.resolve(__dirname, '../..');
const read = (file: string): string => fs.readFileSync(path.join(root, file), 'utf8');
const main = read('infra/main.bicep');
const appModule = read('infra/modules/app.bicep');
const gatewayModule = read('infra/modules/gatewayAccess.bicep');
/** Every Bicep file of the deployment, by its path under infra/. */
const bicepFiles: Record<string, string> = Object.fromEntries(
  ['main.bicep', ...fs.readdirSync(path.join(root, 'infra/modules')).filter((f) => f.endsWith('.bicep')).map((f) => `modules/${f}`)].map((file) => [file, read(`infra/${file}`)]),
);
const bicep = Object.values(bicepFiles).join('\n');

/** Every setting name the typed config reads, taken from the code itself. */
function settingsReadByCode(): string[] {
  const config = read('src/domain/config.ts');
  return [...config.matchAll(/(?:required|optional)\(env, '(\w+)'/g)].map((m) => m[1]);
}

/** Settings the code reads that the infra must leave at their default, and why. */
const NOT_SET_BY_INFRA: Record<string, string> = {
  DnsAuthoritativePort: "the port the zones' name servers are asked on: 53 in Azure; only the sandbox moves it (its DNS server's port)",
};

/** `{ name: 'X', value: ... }` entries of the function app's appSettings. */
function appSettings(): string[] {
  const start = appModule.indexOf('appSettings:');
  const block = appModule.slice(start, appModule.indexOf('\n      ])', start));
  return [...block.matchAll(/\{ name: '([\w_]+)', value:/g)].map((m) => m[1]);
}

/** Each `Microsoft.Authorization/roleAssignments` resource (conditional ones too) with its scope, role, principal and condition. */
function roleAssignments(text: string): { name: string; scope: string; role: string; principal: string; condition?: string }[] {
  return [...text.matchAll(/resource (\w+) 'Microsoft\.Authorization\/roleAssignments@[\d-]+' = (?:if \(([^)\n]+)\) )?\{([\s\S]*?)\n\}/g)].map((m) => ({
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
  customRoles: Record<string, { roleName: string; description: string; actions: string[]; why: Record<string, string>; notActions: string[]; dataActions: string[]; notDataActions: string[] }>;
  principals: Record<string, string>;
  roleAssignments: { name: string; file: string; principal: string; role: string; scope: string; condition?: string; forEach?: string; why: string; enforcedInSandbox: boolean }[];
}
const roleFile = JSON.parse(read('infra/roles.json')) as RoleFile;

describe('infra matches the code', () => {
  it('sets every setting the typed config reads, under the same name', () => {
    const expected = settingsReadByCode();
    expect(expected.length).toBeGreaterThanOrEqual(10);
    const set = appSettings();
    expect(set.length).toBeGreaterThan(expected.length - Object.keys(NOT_SET_BY_INFRA).length);
    for (const name of expected) {
      if (name in NOT_SET_BY_INFRA) expect({ name, setByInfra: set.includes(name) }).toEqual({ name, setByInfra: false });
      else expect(set).toContain(name);
    }
    // Each knob left out is one the code reads, with its default.
    for (const name of Object.keys(NOT_SET_BY_INFRA)) expect(read('src/domain/config.ts')).toMatch(new RegExp(`optional\\(env, '${name}', '[^']+'\\)`));
    // and the contract's names are among them
    for (const name of ['AcmeEndpoint', 'AcmeAccountEmail', 'TenantId', 'SubscriptionId', 'ApplicationGatewayResourceGroup', 'ApplicationGatewayName', 'ApplicationGatewayHttpSettingsName', 'ApplicationGatewayBackendName', 'BlobContainerUrl', 'KeyVaultBaseUrl']) {
      expect(set).toContain(name);
    }
  });

  it('passes the DNS-01 settings from the parameters: the default challenge type and the zones, joined as the app splits them', () => {
    expect(main).toMatch(/@allowed\(\['http-01', 'dns-01'\]\)\n@description\('[^\n]+'\)\nparam acmeChallengeType string = 'http-01'/);
    expect(main).toMatch(/param dnsZoneResourceIds string = ''/);
    expect(main).toMatch(/module app [\s\S]*?acmeChallengeType: acmeChallengeType\n {4}dnsZoneResourceIds: dnsZoneIds\n/);
    expect(appModule).toMatch(/\{ name: 'AcmeChallengeType', value: acmeChallengeType \}/);
    expect(appModule).toMatch(/\{ name: 'DnsZoneResourceIds', value: join\(dnsZoneResourceIds, ','\) \}/);
    const parameters = read('infra/main.parameters.json');
    expect(parameters).toContain('"value": "${ACME_CHALLENGE_TYPE=http-01}"');
    expect(parameters).toContain('"value": "${AZURE_DNS_ZONE_RESOURCE_IDS=}"');
  });

  it('sets AllowedHostnames from its parameter, which azd takes from AZURE_ALLOWED_HOSTNAMES', () => {
    expect(main).toMatch(/\nparam allowedHostnames string\n/);
    expect(main).toMatch(/module app [\s\S]*?allowedHostnames: allowedHostnames\n/);
    expect(appModule).toMatch(/\{ name: 'AllowedHostnames', value: allowedHostnames \}/);
    expect(read('infra/main.parameters.json')).toContain('"value": "${AZURE_ALLOWED_HOSTNAMES}"');
    expect(Object.keys((JSON.parse(read('local.settings.example.json')) as { Values: Record<string, string> }).Values)).toContain('AllowedHostnames');
  });

  it('names in local.settings.example.json are the ones the code reads', () => {
    const example = JSON.parse(read('local.settings.example.json')) as { Values: Record<string, string> };
    for (const name of settingsReadByCode()) expect(Object.keys(example.Values)).toContain(name);
  });

  it('takes the gateway\'s subscription, group and name from its resource id (it may live in another subscription)', () => {
    expect(appModule).toMatch(/\{ name: 'SubscriptionId', value: gatewaySubscriptionId \}/);
    expect(main).toMatch(/gatewaySubscriptionId: gatewayParts\[2\]/);
    expect(main).toMatch(/gatewayResourceGroup: gatewayParts\[4\]/);
    expect(main).toMatch(/gatewayName: gatewayParts\[8\]/);
    expect(main).toMatch(/var gatewayParts = split\(applicationGatewayId, '\/'\)/);
  });

  it('uses the identity for host storage: no keys, no connection strings', () => {
    expect(appSettings()).toEqual(expect.arrayContaining(['AzureWebJobsStorage__accountName', 'AzureWebJobsStorage__credential', 'AZURE_CLIENT_ID']));
    expect(appSettings()).not.toContain('AzureWebJobsStorage');
    expect(bicep).not.toMatch(/AccountKey=|listKeys\(|DefaultEndpointsProtocol/);
    expect(appModule).toMatch(/allowSharedKeyAccess: false/);
  });

  it('puts App Service Authentication (Entra ID) in front of the API only when an app registration is named, and tells the app', () => {
    expect(main).toMatch(/param appServiceAuthenticationClientId string = ''/);
    expect(main).toMatch(/param appServiceAuthenticationTenantId string = tenant\(\)\.tenantId/);
    expect(main).toMatch(/module app [\s\S]*?appServiceAuthenticationClientId: appServiceAuthenticationClientId\n {4}appServiceAuthenticationTenantId: appServiceAuthenticationTenantId\n/);
    expect(read('infra/main.parameters.json')).toContain('"value": "${APP_SERVICE_AUTH_CLIENT_ID=}"');
    const auth = /resource authSettings 'Microsoft\.Web\/sites\/config@[\d-]+' = if \(!empty\(appServiceAuthenticationClientId\)\) \{([\s\S]*?)\n\}/.exec(appModule)?.[1] ?? '';
    expect(auth).toMatch(/parent: functionApp\n {2}name: 'authsettingsV2'/);
    expect(auth).toMatch(/platform: \{ enabled: true \}/);
    expect(auth).toMatch(/requireAuthentication: true\n {6}unauthenticatedClientAction: 'Return401'/);
    expect(auth).toMatch(/clientId: appServiceAuthenticationClientId\n {10}openIdIssuer: authIssuer/);
    expect(auth).toMatch(/allowedAudiences: \['api:\/\/\$\{appServiceAuthenticationClientId\}', appServiceAuthenticationClientId\]/);
    expect(appModule).toMatch(/var authIssuer = '\$\{environment\(\)\.authentication\.loginEndpoint\}\$\{appServiceAuthenticationTenantId\}\/v2\.0'/);
    // The dashboard's page and its files (an entry covers children only with /*: MicrosoftDocs/azure-docs#86514),
    // the OpenAPI document; and the sandbox's Easy Auth excludes the same (sandbox/index.ts).
    const excluded = /excludedPaths: (\[[^\]]*\])/.exec(auth)?.[1];
    expect(excluded).toBe("['/api/dashboard', '/api/dashboard/*', '/api/openapi.json']");
    expect(/excludedPaths: (\[[^\]]*\])/.exec(read('sandbox/index.ts'))?.[1]).toBe(excluded);
    // The app's routes turn anonymous only together with Easy Auth (src/functions/httpAuth.ts).
    expect(appModule).toMatch(/\{ name: 'ApiAuthentication', value: empty\(appServiceAuthenticationClientId\) \? 'FunctionKey' : 'AppServiceAuthentication' \}/);
    expect(appModule).toMatch(/\{ name: 'ApiWriterRole', value: 'Certificates\.Write' \}/);
  });

  it('offers the Durable Task Scheduler as an option, through host.json overrides and an identity connection', () => {
    expect(main).toMatch(/param useDurableTaskScheduler bool = false/);
    expect(appModule).toMatch(/AzureFunctionsJobHost__extensions__durableTask__storageProvider__type', value: 'azureManaged'/);
    expect(appModule).toMatch(/Authentication=ManagedIdentity/);
    expect(JSON.parse(read('host.json')).extensions.durableTask.hubName).toBe('AppGwCertbotHub');
  });

  it('turns local auth off for Application Insights and uses RBAC for Key Vault', () => {
    expect(appModule).toMatch(/DisableLocalAuth: true/);
    expect(appModule).toMatch(/enableRbacAuthorization: true/);
  });

  it('makes only the challenge container public, and never re-PUTs an existing account\'s blob service', () => {
    const publicContainers = [...bicep.matchAll(/publicAccess: '(\w+)'/g)].map((m) => m[1]);
    expect(publicContainers.filter((access) => access !== 'None')).toEqual(['Blob']);
    const challenge = bicepFiles['modules/challengeStorage.bicep'];
    expect(challenge).toMatch(/resource challengeContainer[\s\S]*?publicAccess: 'Blob'/);
    // The app's state (claims, locks, the gateway writer's inbox) lives in a private container of the
    // same account, which the app writes through its own assignment; the public one holds only validation files.
    expect(challenge).toMatch(/resource stateContainer 'Microsoft\.Storage\/storageAccounts\/blobServices\/containers@[\d-]+' = \{\n {2}parent: blobs\n {2}name: stateContainerName\n {2}properties: \{ publicAccess: 'None' \}\n\}/);
    expect(roleAssignments(challenge).find((a) => a.name === 'stateWriter')).toMatchObject({ scope: 'stateContainer', principal: 'appPrincipalId' });
    expect(challenge).toMatch(/output roleAssignmentIds array = \[challengeWriter\.id, stateWriter\.id\]/);
    expect(main).toMatch(/param stateContainerName string = 'appgw-certbot-state'/);
    expect(main).toMatch(/module challengeStorage [\s\S]*?stateContainerName: stateContainerName\n/);
    expect(main).toMatch(/module app [\s\S]*?stateContainerName: stateContainerName\n/);
    // The app is told where it is, in the same account as the challenge container.
    expect(appModule).toMatch(/var stateContainerUrl = 'https:\/\/\$\{challengeAccountName\}\.blob\.\$\{environment\(\)\.suffixes\.storage\}\/\$\{stateContainerName\}'/);
    expect(appModule).toMatch(/\{ name: 'StateContainerUrl', value: stateContainerUrl \}/);
    expect(challenge).toMatch(/resource blobs 'Microsoft\.Storage\/storageAccounts\/blobServices@[\d-]+' existing = \{/);
    expect(challenge).toMatch(/resource account 'Microsoft\.Storage\/storageAccounts@[\d-]+' existing = \{/);
  });

  it('assigns no Contributor or Owner role', () => {
    expect(bicep).not.toMatch(/b24988ac-6180-42a0-ab88-20f7382dd24c|8e3af657-a8ff-443c-a75c-2fe8c4bcb635/i);
    expect(bicep).not.toMatch(/'(Contributor|Owner)'/);
  });

  it('scopes every role assignment to one resource, except the one read Learn requires on the gateway resource group', () => {
    const assignments = Object.values(bicepFiles).flatMap(roleAssignments);
    expect(assignments.length).toBeGreaterThanOrEqual(14);
    for (const assignment of assignments.filter((a) => a.name !== 'onGatewayResourceGroup')) {
      expect({ assignment: assignment.name, scope: assignment.scope }).toEqual({ assignment: assignment.name, scope: expect.stringMatching(/^[a-zA-Z]\w*$/) });
      expect(assignment.scope).not.toMatch(/resourceGroup|subscription/);
    }
    // Tracking an Azure-AsyncOperation needs permission at the resource group level (Learn, async-operations
    // "Permission for tracking async status"): a role holding only that read, on the module's target group.
    const group = assignments.filter((a) => a.scope === '(none)');
    expect(group.map((a) => a.name)).toEqual(['onGatewayResourceGroup']);
    expect(group[0].role).toBe("subscriptionResourceId('Microsoft.Authorization/roleDefinitions', gatewayOperationReader.name)");
    expect(roleFile.customRoles.gatewayOperationReader).toMatchObject({ actions: ['Microsoft.Network/locations/operations/read'], notActions: [], dataActions: [] });
  });

  it('keeps infra/roles.json and the Bicep role assignments in step, both ways', () => {
    const principalOf = (expression: string): string => {
      if (['appIdentity.properties.principalId', 'principalId', 'appPrincipalId'].includes(expression)) return 'app';
      if (expression === 'gatewayPrincipalId') return 'gateway';
      return `unknown principal ${expression}`;
    };
    // Modules that assign a custom role main.bicep passes in by GUID (roleDefinitionGuid, from gatewayAccess.bicep's output).
    const passedRole: Record<string, string> = { 'modules/linkedResourceAccess.bicep': 'gatewayLinker', 'modules/dnsZoneAccess.bicep': 'dnsChallengeWriter' };
    const roleOf = (expression: string, file: string): string =>
      /roles\.(\w+)\.id\)$/.exec(expression)?.[1] ??
      /^subscriptionResourceId\('Microsoft\.Authorization\/roleDefinitions', (\w+)\.name\)$/.exec(expression)?.[1] ??
      (['roleDefinitionId', "subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleDefinitionGuid)"].includes(expression) && passedRole[file] ? passedRole[file] : `unknown role ${expression}`);
    for (const [file, role] of Object.entries(passedRole)) {
      const symbol = /modules\/(\w+)\.bicep$/.exec(file)![1];
      expect(main).toMatch(new RegExp(`module ${symbol} '${file}' = \\[[\\s\\S]*?roleDefinitionGuid: gatewayAccess\\.outputs\\.${role}RoleGuid\\n`));
      expect(gatewayModule).toMatch(new RegExp(`output ${role}RoleGuid string = ${role}\\.name\\n`));
      expect(bicepFiles[file]).toMatch(/subscriptionResourceId\('Microsoft\.Authorization\/roleDefinitions', roleDefinitionGuid\)/);
    }
    // linkedResourceAccess.bicep holds one conditional assignment per linkable type: together they are onLinkedResource.
    const linkedFile = 'modules/linkedResourceAccess.bicep';
    const inBicep = Object.entries(bicepFiles)
      .flatMap(([file, text]) => roleAssignments(text).map((a) => ({ ...a, file })))
      .map((a) => ({
        name: a.file === linkedFile ? 'onLinkedResource' : a.name,
        file: a.file,
        principal: principalOf(a.principal),
        role: roleOf(a.role, a.file),
        scope: a.file === linkedFile ? 'gatewayLinkedResource' : a.scope === '(none)' ? 'resourceGroup' : a.scope,
        ...(a.condition && a.file !== linkedFile ? { condition: a.condition } : {}),
      }));
    const unique = inBicep.filter((a, i) => inBicep.findIndex((b) => JSON.stringify(b) === JSON.stringify(a)) === i);
    const inFile = roleFile.roleAssignments.map(({ name, file, principal, role, scope, condition }) => ({ name, file, principal, role, scope, ...(condition ? { condition } : {}) }));
    const byName = <T extends { name: string }>(list: T[]): T[] => [...list].sort((a, b) => a.name.localeCompare(b.name));
    expect(byName(unique)).toEqual(byName(inFile));
    // The linked assignments: one per type the plan can meet, each on its own `existing` reference of that type.
    const linked = roleAssignments(bicepFiles[linkedFile]);
    expect(linked.map((a) => a.scope).sort()).toEqual(['identity', 'publicIp', 'subnet', 'wafPolicy']);
    for (const type of LINKABLE_TYPES) expect(bicepFiles[linkedFile].toLowerCase()).toContain(`if (type == '${type}')`);
    // Modules get the app's identity, and the vault module the gateway's identity, by resource id.
    for (const module of ['vaultAccess', 'challengeStorage', 'gatewayAccess', 'linkedResourceAccess', 'dnsZoneAccess']) expect(main).toMatch(new RegExp(`module ${module}[\\s\\S]*?(appPrincipalId|principalId): app\\.outputs\\.appPrincipalId`));
    expect(main).toMatch(/gatewayPrincipalId: gatewayIdentity\.properties\.principalId/);
    expect(main).toMatch(/resource gatewayIdentity '[^']+' existing = \{\n {2}name: identityParts\[8\]\n {2}scope: resourceGroup\(identityParts\[2\], identityParts\[4\]\)/);
    // Every role an assignment names is defined, built-in roles by their GUID, custom ones in the gateway module.
    for (const assignment of roleFile.roleAssignments) {
      const defined = roleFile.builtInRoles[assignment.role] ?? roleFile.customRoles[assignment.role];
      expect({ assignment: assignment.name, defined: !!defined }).toEqual({ assignment: assignment.name, defined: true });
      expect(Object.keys(roleFile.principals)).toContain(assignment.principal);
      expect(assignment.why.length).toBeGreaterThan(20);
    }
    for (const key of Object.keys(roleFile.customRoles)) expect(gatewayModule).toMatch(new RegExp(`resource ${key} 'Microsoft\\.Authorization/roleDefinitions@`));
  });

  it('loads the role GUIDs and the custom roles\' actions from infra/roles.json instead of repeating them', () => {
    for (const [file, text] of Object.entries(bicepFiles)) {
      if (/roles\.\w+\.id/.test(text)) expect({ file, loads: /var roles = loadJsonContent\('\.\.\/roles\.json', '\$\.builtInRoles'\)/.test(text) }).toEqual({ file, loads: true });
    }
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

  it('gives the app exactly the justified actions on the gateway, on what it links and on the DNS zones, each with its reason', () => {
    expect([...roleFile.customRoles.gatewayOperator.actions].sort()).toEqual(['Microsoft.Network/applicationGateways/read', 'Microsoft.Network/applicationGateways/write']);
    // The linker holds what the gateway's linked access checks need (src/domain/gatewayLinks.ts), plus reading public IPs for the DNS check.
    const linkedActions = [...new Set([SUBNET_JOIN, PUBLIC_IP_JOIN, WAF_POLICY_JOIN, IDENTITY_ASSIGN])];
    expect([...roleFile.customRoles.gatewayLinker.actions].sort()).toEqual([...linkedActions, 'Microsoft.Network/publicIPAddresses/read'].sort());
    // DNS-01: the zone (its name servers) and TXT record sets only; no other record type, no zone write or delete.
    expect([...roleFile.customRoles.dnsChallengeWriter.actions].sort()).toEqual(['Microsoft.Network/dnsZones/TXT/delete', 'Microsoft.Network/dnsZones/TXT/read', 'Microsoft.Network/dnsZones/TXT/write', 'Microsoft.Network/dnsZones/read']);
    for (const [key, role] of Object.entries(roleFile.customRoles)) {
      expect({ key, explained: Object.keys(role.why).sort() }).toEqual({ key, explained: [...role.actions].sort() });
      for (const reason of Object.values(role.why)) expect(reason.length).toBeGreaterThan(40);
      expect(gatewayModule).toMatch(new RegExp(`actions: (empty\\(gatewayLinkerActions\\) \\? )?customRoles\\.${key}\\.actions`));
    }
    expect(gatewayModule).toMatch(/type: 'CustomRole'/);
    expect(bicep).not.toMatch(/actions: \[\s*'\*'/);
  });

  it('names the custom roles uniquely per subscription and environment (role names are tenant-wide)', () => {
    for (const key of Object.keys(roleFile.customRoles)) {
      expect(gatewayModule).toMatch(new RegExp(`roleName: '\\$\\{customRoles\\.${key}\\.roleName\\} \\(\\$\\{roleNameSuffix\\}\\)'`));
      expect(gatewayModule).toMatch(new RegExp(`name: guid\\(resourceGroup\\(\\)\\.id, roleNameSuffix, '[\\w-]+'\\)\\n {2}properties: \\{\\n {4}roleName: '\\$\\{customRoles\\.${key}\\.`));
    }
    expect(main).toMatch(/roleNameSuffix: '\$\{environmentName\}, \$\{token\}, \$\{uniqueString\(toLower\(gatewayParts\[2\]\), toLower\(gatewayParts\[4\]\)\)\}'/);
    expect(main).toMatch(/var token = toLower\(uniqueString\(subscription\(\)\.id, environmentName\)\)/);
  });

  it('azure.yaml provisions infra/ at subscription scope, needs an azd that deletes only created groups, and runs the hooks', () => {
    const azure = read('azure.yaml');
    expect(azure).toMatch(/provider: bicep/);
    expect(azure).toMatch(/path: infra/);
    expect(azure).toMatch(/host: function/);
    expect(azure).toMatch(/requiredVersions:\n {2}azd: '>= 1\.24\.0'/);
    expect(azure).toMatch(/preprovision:[\s\S]*?node dist\/scripts\/deploy\/preprovision\.js/);
    expect(azure).toMatch(/predown:[\s\S]*?node dist\/scripts\/deploy\/predown\.js/);
    expect(main).toMatch(/^targetScope = 'subscription'$/m);
    expect(appModule).toMatch(/'azd-service-name': 'api'/);
    const parameters = JSON.parse(read('infra/main.parameters.json')) as { parameters: Record<string, { value: unknown }> };
    const declared = [...main.matchAll(/^param (\w+)/gm)].map((m) => m[1]);
    for (const name of Object.keys(parameters.parameters)) expect(declared).toContain(name);
    // Every parameter without a default gets a value.
    const required = [...main.matchAll(/^param (\w+) \w+$/gm)].map((m) => m[1]);
    for (const name of required) expect({ name, given: name in parameters.parameters }).toEqual({ name, given: true });
    // The hook sets what only the gateway knows.
    for (const variable of ['APPGW_ID', 'APPGW_LINKED_RESOURCE_IDS', 'APPGW_IDENTITY_ID', 'AZURE_APP_RESOURCE_GROUP', 'KEY_VAULT_CREATE_MODE']) {
      expect(JSON.stringify(parameters)).toContain(`\${${variable}`);
      expect(read('scripts/deploy/preprovision.ts')).toContain(`${variable}:`);
    }
    // Every variable the hook plans with reaches the Bicep the same way (a name the plan renders but the Bicep never gets would make the plan lie).
    const hookOnly: Record<string, string> = {
      AZURE_SUBSCRIPTION_ID: 'azd deploys to it',
      APPGW_RESOURCE_GROUP: 'the former setting, turned into APPGW_ID',
      APPGW_NAME: 'the former setting, turned into APPGW_ID',
      EXTERNAL_ROLE_ASSIGNMENT_IDS: 'an output of the previous deployment',
      LINKED_ROLE_ASSIGNMENT_IDS: 'an output of the previous deployment',
      DNS_ZONE_ROLE_ASSIGNMENT_IDS: 'an output of the previous deployment',
      CUSTOM_ROLE_DEFINITION_IDS: 'an output of the previous deployment',
      AZURE_FUNCTION_APP_NAME: 'an output of the previous deployment (which template made it)',
      EXISTING_KEY_VAULT_NAME: 'a former setting, refused',
      EXISTING_CHALLENGE_STORAGE_ACCOUNT_NAME: 'a former setting, refused',
      APPGW_PUBLIC_IP_NAME: 'a former setting, refused',
      APPGW_VNET_NAME: 'a former setting, refused',
      APPGW_IDENTITY_NAME: 'a former setting, refused',
    };
    const readByHook = [...new Set([...read('scripts/deploy/preprovision.ts').matchAll(/env\.([A-Z][A-Z0-9_]+)/g)].map((m) => m[1]))];
    expect(readByHook.length).toBeGreaterThan(8);
    for (const variable of readByHook.filter((v) => !(v in hookOnly))) expect({ variable, passed: JSON.stringify(parameters).includes(`\${${variable}`) }).toEqual({ variable, passed: true });
    // Every module the main file deploys exists, and every module file is deployed.
    const modules = [...main.matchAll(/^module \w+ '([^']+)'/gm)].map((m) => m[1]).sort();
    expect(modules).toEqual(Object.keys(bicepFiles).filter((f) => f.startsWith('modules/')).sort());
  });

  it('keeps the Node major pinned: the Bicep runtime version and package.json engines', () => {
    expect(main).toMatch(/@allowed\(\['22', '20'\]\)\nparam nodeVersion string = '22'/);
    expect(appModule).toMatch(/runtime: \{ name: 'node', version: nodeVersion \}/);
    const engines = (JSON.parse(read('package.json')) as { engines: { node: string } }).engines.node;
    expect(engines).toBe('^20.19.0 || ^22.12.0');
    expect(appSettings()).toContain('NODE_OPTIONS');
    expect(appModule).toMatch(/\{ name: 'NODE_OPTIONS', value: '--enable-source-maps' \}/);
  });

  it('holds the expressions scripts/deploy/plan.ts renders (the landing-zone tests rely on them)', () => {
    // One resource group, created (not `existing`): the only one `azd down` deletes.
    const groups = [...bicep.matchAll(/resource (\w+) 'Microsoft\.Resources\/resourceGroups@[\d-]+'( existing)? = \{\n {2}name: (\w+)/g)];
    expect(groups.map((m) => ({ symbol: m[1], existing: !!m[2], name: m[3] }))).toEqual([{ symbol: 'appGroup', existing: false, name: 'resourceGroupName' }]);
    expect(main).toMatch(/module app 'modules\/app\.bicep' = \{\n {2}name: '[^']+'\n {2}scope: appGroup/);
    // Where each module lands.
    expect(main).toMatch(/module vaultAccess 'modules\/vaultAccess\.bicep' = \{\n {2}name: '[^']+'\n {2}scope: resourceGroup\(vaultSubscriptionId, vaultResourceGroup\)/);
    expect(main).toMatch(/var vaultSubscriptionId = createKeyVault \? subscription\(\)\.subscriptionId : vaultParts\[2\]\nvar vaultResourceGroup = createKeyVault \? resourceGroupName : vaultParts\[4\]/);
    expect(main).toMatch(/var challengeSubscriptionId = createChallengeAccount \? subscription\(\)\.subscriptionId : challengeParts\[2\]\nvar challengeResourceGroup = createChallengeAccount \? resourceGroupName : challengeParts\[4\]/);
    // BCP420: a module's scope is never a ternary between scopes.
    expect(bicep).not.toMatch(/scope: [^\n]*\?[^\n]*:/);
    expect(main).toMatch(/module challengeStorage 'modules\/challengeStorage\.bicep' = \{\n {2}name: '[^']+'\n {2}scope: resourceGroup\(challengeSubscriptionId, challengeResourceGroup\)/);
    expect(main).toMatch(/module gatewayAccess 'modules\/gatewayAccess\.bicep' = \{\n {2}name: '[^']+'\n {2}scope: resourceGroup\(gatewayParts\[2\], gatewayParts\[4\]\)/);
    expect(main).toMatch(/module linkedResourceAccess 'modules\/linkedResourceAccess\.bicep' = \[\n {2}for \(id, index\) in linkedResourceIds: \{\n {4}name: '[^']+'\n {4}scope: resourceGroup\(split\(id, '\/'\)\[2\], split\(id, '\/'\)\[4\]\)\n {4}params: \{\n {6}resourceId: id\n/);
    expect(main).toMatch(/var linkedResourceIds = split\(applicationGatewayLinkedResourceIds, ','\)/);
    expect(main).toMatch(/var linkedResourceGroupIds = union\(map\(linkedResourceIds, id => toLower\('\/subscriptions\/\$\{split\(id, '\/'\)\[2\]\}\/resourceGroups\/\$\{split\(id, '\/'\)\[4\]\}'\)\), \[\]\)/);
    // One DNS challenge writer assignment per zone, in the zone's own group and subscription.
    expect(main).toMatch(/module dnsZoneAccess 'modules\/dnsZoneAccess\.bicep' = \[\n {2}for \(id, index\) in dnsZoneIds: \{\n {4}name: '[^']+'\n {4}scope: resourceGroup\(split\(id, '\/'\)\[2\], split\(id, '\/'\)\[4\]\)\n {4}params: \{\n {6}zoneName: split\(id, '\/'\)\[8\]\n/);
    expect(main).toMatch(/var dnsZoneIds = filter\(map\(split\(dnsZoneResourceIds, ','\), id => trim\(id\)\), id => !empty\(id\)\)/);
    expect(main).toMatch(/var dnsZoneGroupIds = union\(map\(dnsZoneIds, id => toLower\('\/subscriptions\/\$\{split\(id, '\/'\)\[2\]\}\/resourceGroups\/\$\{split\(id, '\/'\)\[4\]\}'\)\), \[\]\)/);
    expect(main).toMatch(/module gatewayAccess [\s\S]*?dnsZoneGroupIds: dnsZoneGroupIds\n/);
    expect(bicepFiles['modules/dnsZoneAccess.bicep']).toMatch(/resource dnsZone 'Microsoft\.Network\/dnsZones@[\d-]+' existing = \{\n {2}name: zoneName\n\}/);
    // Assignable scopes: the gateway's group, for the linker every group holding a linked resource, for the DNS role every zone's group.
    expect(gatewayModule).toMatch(/resource gatewayLinker [\s\S]*?assignableScopes: union\(\[toLower\(resourceGroup\(\)\.id\)\], linkedResourceGroupIds\)/);
    expect(gatewayModule).toMatch(/resource dnsChallengeWriter [\s\S]*?assignableScopes: union\(\[toLower\(resourceGroup\(\)\.id\)\], dnsZoneGroupIds\)/);
    expect([...gatewayModule.matchAll(/assignableScopes: \[resourceGroup\(\)\.id\]/g)]).toHaveLength(2);
    // The names the render gives what the app module creates.
    const rendered = renderDeployment({
      environmentName: 'env',
      subscriptionId: 'sub',
      location: 'westeurope',
      resourceGroupName: 'rg-env',
      applicationGatewayId: '/subscriptions/sub/resourceGroups/rg-gw/providers/Microsoft.Network/applicationGateways/gw',
      applicationGatewayLinkedResourceIds: [],
      applicationGatewayIdentityId: '/subscriptions/sub/resourceGroups/rg-gw/providers/Microsoft.ManagedIdentity/userAssignedIdentities/gw',
      challengeContainerName: 'acme-challenge',
      useDurableTaskScheduler: true,
    });
    for (const id of rendered.createdResources) {
      const name = id.split('/').pop()!.replace('<token>', '${token}');
      if (name === 'acme-challenge') expect(main).toMatch(/param challengeContainerName string = 'acme-challenge'/);
      else if (name === 'appgw-certbot-state') expect(main).toMatch(/param stateContainerName string = 'appgw-certbot-state'/);
      // The vault's and the challenge account's names come from main.bicep (checked below).
      else if (!['kv-${token}', 'stc${token}'].includes(name)) expect(appModule).toContain(`name: '${name}'`);
    }
    // What the hooks clean up: every module's role assignments outside the app's group, and every custom role.
    expect(main).toMatch(/output LINKED_ROLE_ASSIGNMENT_IDS array = \[for i in range\(0, length\(linkedResourceIds\)\): linkedResourceAccess\[i\]\.outputs\.roleAssignmentId\]/);
    expect(main).toMatch(/output DNS_ZONE_ROLE_ASSIGNMENT_IDS array = \[for i in range\(0, length\(dnsZoneIds\)\): dnsZoneAccess\[i\]\.outputs\.roleAssignmentId\]/);
    expect(bicepFiles['modules/dnsZoneAccess.bicep']).toMatch(/output roleAssignmentId string = onDnsZone\.id/);
    for (const key of Object.keys(roleFile.customRoles)) expect(gatewayModule).toMatch(new RegExp(`output roleDefinitionIds array = \\[[^\\]]*subscriptionResourceId\\('Microsoft\\.Authorization/roleDefinitions', ${key}\\.name\\)`));
    for (const output of ['EXTERNAL_ROLE_ASSIGNMENT_IDS', 'LINKED_ROLE_ASSIGNMENT_IDS', 'DNS_ZONE_ROLE_ASSIGNMENT_IDS', 'CUSTOM_ROLE_DEFINITION_IDS']) {
      expect(read('scripts/deploy/predown.ts')).toContain(`env.${output}`);
      expect(read('scripts/deploy/preprovision.ts')).toContain(`env.${output}`);
    }
    // Names the Key Vault and the challenge account get in main.bicep.
    expect(main).toMatch(/var keyVaultName = createKeyVault \? 'kv-\$\{token\}' : vaultParts\[8\]/);
    expect(main).toMatch(/var challengeAccountName = createChallengeAccount \? 'stc\$\{token\}' : challengeParts\[8\]/);
  });
});


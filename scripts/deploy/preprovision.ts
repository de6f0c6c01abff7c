import roles from '../../infra/roles.json';
import { Arm, armClient, armError, azdEnvSet } from './arm';
import { list, removeAll } from './predown';
import { parseAllowList } from '../../src/domain/allowList';
import { CertbotError } from '../../src/domain/errors';
import { DeploymentParameters, GatewayView, PlanError, actionsForCatalog, dedicatedGroupProblem, gatewayIdentityId, groupOf, linkedResourceIds, renderDeployment, requireResourceId, staleRoleObjects } from './plan';

/**
 * azd `preprovision` hook: reads the gateway (and what is passed in as existing) as the deployer,
 * and refuses before anything is created when the deployment could not work or could destroy what
 * it did not create. Sets the parameters main.bicep needs that only the gateway knows: every
 * resource a gateway PUT links (hub-and-spoke: wherever they are) and the identity that reads Key
 * Vault.
 */
const NETWORK_API = '2024-05-01';
/** Azure DNS (Microsoft.Network/dnsZones), the api-version the app's client (@azure/arm-dns) uses. */
const DNS_API = '2018-05-01';

export interface PreprovisionResult {
  values: Record<string, string>;
  summary: string[];
}

/** Settings of the earlier, resource-group-scoped template, which named resources instead of their ids. */
const FORMER_SETTINGS = ['EXISTING_KEY_VAULT_NAME', 'EXISTING_CHALLENGE_STORAGE_ACCOUNT_NAME', 'APPGW_PUBLIC_IP_NAME', 'APPGW_VNET_NAME', 'APPGW_IDENTITY_NAME'];

export async function preprovision(env: NodeJS.ProcessEnv, arm: Arm): Promise<PreprovisionResult> {
  // An environment the earlier template deployed: its resources carry other names (another token),
  // so provisioning it again would build a second app beside the first, on the same gateway, with a
  // new empty vault. It had outputs but never the custom role ids this template outputs.
  const former = FORMER_SETTINGS.filter((name) => env[name]);
  if (former.length > 0 || (env.AZURE_FUNCTION_APP_NAME && !env.CUSTOM_ROLE_DEFINITION_IDS)) {
    throw new PlanError(
      `This environment was set up for the earlier template (${former.length ? `it sets ${former.join(', ')}` : 'it was deployed without the custom role outputs'}): provisioning it again would build a second app beside the first. Follow "Moving from the earlier template" in docs/deploy.md.`,
    );
  }
  allowedHostnamesChosen(env.AZURE_ALLOWED_HOSTNAMES);
  const environmentName = need(env, 'AZURE_ENV_NAME');
  const subscriptionId = need(env, 'AZURE_SUBSCRIPTION_ID');
  const gatewayId = requireResourceId(
    'APPGW_ID',
    env.APPGW_ID || (env.APPGW_RESOURCE_GROUP && env.APPGW_NAME ? `/subscriptions/${subscriptionId}/resourceGroups/${env.APPGW_RESOURCE_GROUP}/providers/Microsoft.Network/applicationGateways/${env.APPGW_NAME}` : undefined),
    'Microsoft.Network/applicationGateways',
  );
  const gatewayReply = await arm.get(gatewayId, NETWORK_API);
  if (gatewayReply.status !== 200) throw new PlanError(`Cannot read the gateway ${gatewayId} (${armError(gatewayReply)}). Check APPGW_ID and that you may read it.`);
  const gateway = gatewayReply.body as GatewayView;
  const tier = ((gateway.properties?.sku as { tier?: string } | undefined)?.tier ?? '').toLowerCase();
  if (tier !== 'standard_v2' && tier !== 'waf_v2') throw new PlanError(`The gateway's tier is ${tier || 'unknown'}; appgw-certbot needs a v2 gateway (Standard_v2 or WAF_v2): Key Vault certificates need v2.`);

  const linked = linkedResourceIds(gateway);
  const identity = gatewayIdentityId(gateway, env.APPGW_IDENTITY_ID || undefined);
  const existingKeyVaultId = env.EXISTING_KEY_VAULT_ID ? requireResourceId('EXISTING_KEY_VAULT_ID', env.EXISTING_KEY_VAULT_ID, 'Microsoft.KeyVault/vaults') : undefined;
  const existingChallengeStorageAccountId = env.EXISTING_CHALLENGE_STORAGE_ACCOUNT_ID
    ? requireResourceId('EXISTING_CHALLENGE_STORAGE_ACCOUNT_ID', env.EXISTING_CHALLENGE_STORAGE_ACCOUNT_ID, 'Microsoft.Storage/storageAccounts')
    : undefined;
  const dnsZoneResourceIds = dnsZoneIds(env.AZURE_DNS_ZONE_RESOURCE_IDS);
  const challengeType = env.ACME_CHALLENGE_TYPE || 'http-01';
  if (challengeType !== 'http-01' && challengeType !== 'dns-01') throw new PlanError(`ACME_CHALLENGE_TYPE must be http-01 or dns-01; got "${challengeType}".`);
  if (challengeType === 'dns-01' && dnsZoneResourceIds.length === 0) {
    throw new PlanError(
      'ACME_CHALLENGE_TYPE is dns-01 but AZURE_DNS_ZONE_RESOURCE_IDS lists no Azure DNS zone: the deployment lets the app write TXT records only in the zones listed (the DNS challenge writer role on each), so every DNS-01 order would fail. Set AZURE_DNS_ZONE_RESOURCE_IDS to the zones\' resource ids, comma-separated.',
    );
  }
  const parameters: DeploymentParameters = {
    environmentName,
    subscriptionId,
    location: need(env, 'AZURE_LOCATION'),
    resourceGroupName: env.AZURE_APP_RESOURCE_GROUP || `rg-${environmentName}`,
    applicationGatewayId: gatewayId,
    applicationGatewayLinkedResourceIds: linked,
    applicationGatewayIdentityId: identity,
    existingKeyVaultId,
    existingChallengeStorageAccountId,
    // The same variables main.parameters.json passes to the Bicep (and the same defaults).
    challengeContainerName: env.CHALLENGE_CONTAINER_NAME || 'acme-challenge',
    stateContainerName: env.STATE_CONTAINER_NAME || undefined,
    useDurableTaskScheduler: env.USE_DURABLE_TASK_SCHEDULER === 'true',
    dnsZoneResourceIds,
  };

  if (existingKeyVaultId) {
    const vault = await arm.get(existingKeyVaultId, '2023-07-01');
    if (vault.status !== 200) throw new PlanError(`Cannot read the Key Vault ${existingKeyVaultId} (${armError(vault)}).`);
    if ((vault.body.properties as { enableRbacAuthorization?: boolean } | undefined)?.enableRbacAuthorization !== true) {
      throw new PlanError(`The Key Vault ${existingKeyVaultId} uses access policies; the deployment grants Azure RBAC roles. Switch it to the RBAC permission model first (Learn, "Migrate to Azure role-based access control").`);
    }
  }
  if (existingChallengeStorageAccountId) {
    const account = await arm.get(existingChallengeStorageAccountId, '2023-05-01');
    if (account.status !== 200) throw new PlanError(`Cannot read the storage account ${existingChallengeStorageAccountId} (${armError(account)}).`);
    if ((account.body.properties as { allowBlobPublicAccess?: boolean } | undefined)?.allowBlobPublicAccess !== true) {
      throw new PlanError(
        `The storage account ${existingChallengeStorageAccountId} does not allow anonymous blob reads (allowBlobPublicAccess is off, the default since 2023), so the challenge container cannot be public (Storage answers 409 PublicAccessNotPermitted) and the gateway could not serve HTTP-01 files. Turn it on for this account, or leave EXISTING_CHALLENGE_STORAGE_ACCOUNT_ID empty to let the deployment create one.`,
      );
    }
  }

  // Each zone is read as the deployer: a zone that is not there, or that the deployer may not read,
  // would fail the role assignment mid-deployment; a private zone (zoneType Private, the legacy
  // kind) is not served on the internet, where the CA looks the TXT record up.
  for (const zone of dnsZoneResourceIds) {
    const reply = await arm.get(zone, DNS_API);
    if (reply.status !== 200) throw new PlanError(`Cannot read the Azure DNS zone ${zone} (${armError(reply)}). Check AZURE_DNS_ZONE_RESOURCE_IDS and that you may read the zone.`);
    // The API's default is Public (dns.json 2018-05-01, ZoneProperties.zoneType).
    const zoneType = (reply.body.properties as { zoneType?: string } | undefined)?.zoneType ?? 'Public';
    if (zoneType.toLowerCase() !== 'public') {
      throw new PlanError(`The Azure DNS zone ${zone} is a ${zoneType} zone: the CA looks DNS-01 TXT records up on the internet, which only a public zone answers. List only public zones in AZURE_DNS_ZONE_RESOURCE_IDS.`);
    }
  }

  const group = await arm.get(`/subscriptions/${subscriptionId}/resourcegroups/${parameters.resourceGroupName}`, '2021-04-01');
  const groupTags = group.status === 200 ? ((group.body.tags as Record<string, string> | undefined) ?? {}) : null;
  const problem = dedicatedGroupProblem(parameters, groupTags);
  if (problem) throw new PlanError(problem);

  // The custom roles' actions as the operations catalog accepts them (a custom role naming an
  // unlisted action is refused whole): the linker's, with a stand-in where one is known, and the DNS
  // challenge writer's, which the deployment always defines, as they are.
  const catalog = await operationsCatalog(arm, [...roles.customRoles.gatewayLinker.actions, ...roles.customRoles.dnsChallengeWriter.actions]);
  const linker = actionsForCatalog(roles.customRoles.gatewayLinker.actions, catalog);
  const dnsWriter = actionsForCatalog(roles.customRoles.dnsChallengeWriter.actions, catalog);
  if (dnsWriter.substituted.length) throw new PlanError(`The DNS challenge writer role's actions have no stand-in in the Bicep: ${dnsWriter.substituted.map((s) => s.action).join(', ')}.`);

  const values: Record<string, string> = {
    APPGW_LINKER_ACTIONS: linker.actions.join(','),
    APPGW_ID: gatewayId,
    // Comma-separated (resource ids hold no commas): main.parameters.json stays valid JSON.
    APPGW_LINKED_RESOURCE_IDS: linked.join(','),
    APPGW_IDENTITY_ID: identity,
    AZURE_APP_RESOURCE_GROUP: parameters.resourceGroupName,
    KEY_VAULT_CREATE_MODE: existingKeyVaultId ? 'default' : await keyVaultCreateMode(arm, parameters),
    // The zones read above, comma-separated, as main.bicep splits them.
    AZURE_DNS_ZONE_RESOURCE_IDS: dnsZoneResourceIds.join(','),
  };
  // What the previous deployment of this environment assigned that this one will not (azd keeps its outputs).
  const stale = staleRoleObjects(
    {
      gatewayId: env.APPGW_ID || undefined,
      externalAssignments: list(env.EXTERNAL_ROLE_ASSIGNMENT_IDS, 'EXTERNAL_ROLE_ASSIGNMENT_IDS'),
      linkedAssignments: list(env.LINKED_ROLE_ASSIGNMENT_IDS, 'LINKED_ROLE_ASSIGNMENT_IDS'),
      dnsZoneAssignments: list(env.DNS_ZONE_ROLE_ASSIGNMENT_IDS, 'DNS_ZONE_ROLE_ASSIGNMENT_IDS'),
      definitions: list(env.CUSTOM_ROLE_DEFINITION_IDS, 'CUSTOM_ROLE_DEFINITION_IDS'),
    },
    parameters,
  );
  const removed: string[] = [];
  const left: string[] = [];
  await removeAll(arm, stale.assignments, stale.definitions, removed, left);
  if (left.length) throw new PlanError(`Could not remove what the previous deployment granted and this one does not (a custom role cannot lose a scope that still holds assignments):\n  ${left.join('\n  ')}`);

  const rendered = renderDeployment(parameters);
  const summary = [
    ...removed.map((id) => `removed, no longer needed: ${id}`),
    `app resource group (created, deleted by azd down): ${parameters.resourceGroupName}`,
    ...rendered.assignments.filter((a) => a.external).map((a) => `grant ${a.role} to the ${a.principal} identity on ${a.scope}`),
  ];
  for (const { action, standIn } of linker.substituted) summary.push(`the operations catalog lists no ${action}; the linker role grants ${standIn} instead, which covers it`);
  if (values.KEY_VAULT_CREATE_MODE === 'recover') summary.push('recover the soft-deleted Key Vault of this environment (its certificates come back)');
  return { values, summary };
}

/** Every operation name of the namespaces the actions belong to (GET providerOperations/{namespace}, with resource types). */
async function operationsCatalog(arm: Arm, actions: string[]): Promise<Set<string>> {
  const catalog = new Set<string>();
  for (const namespace of new Set(actions.map((action) => action.split('/')[0]))) {
    const reply = await arm.get(`/providers/Microsoft.Authorization/providerOperations/${namespace}?$expand=resourceTypes`, '2022-04-01');
    if (reply.status !== 200) throw new PlanError(`Cannot read the operations catalog of ${namespace} (${armError(reply)}).`);
    type Operation = { name?: string };
    const body = reply.body as { operations?: Operation[]; resourceTypes?: { operations?: Operation[] }[] };
    for (const operation of [...(body.operations ?? []), ...(body.resourceTypes ?? []).flatMap((type) => type.operations ?? [])]) {
      if (operation.name) catalog.add(operation.name);
    }
  }
  return catalog;
}

/** 'recover' when a soft-deleted vault of this environment holds the name (a create would fail with a conflict). */
async function keyVaultCreateMode(arm: Arm, parameters: DeploymentParameters): Promise<string> {
  type DeletedVault = { properties?: { vaultId?: string; tags?: Record<string, string> } };
  const vaults: DeletedVault[] = [];
  let next: string | undefined = `/subscriptions/${parameters.subscriptionId}/providers/Microsoft.KeyVault/deletedVaults`;
  while (next) {
    const page = await arm.get(next, '2023-07-01');
    if (page.status !== 200) return 'default';
    vaults.push(...((page.body.value as DeletedVault[] | undefined) ?? []));
    // nextLink is absolute and carries its own api-version; the client adds the path's origin.
    const link = page.body.nextLink as string | undefined;
    next = link ? new URL(link).pathname + new URL(link).search.replace(/[?&]api-version=[^&]*/, '').replace(/^&/, '?') : undefined;
  }
  const ours = vaults.find((v) => v.properties?.tags?.['azd-env-name'] === parameters.environmentName && v.properties.vaultId && groupOf(v.properties.vaultId).toLowerCase().endsWith(`/resourcegroups/${parameters.resourceGroupName.toLowerCase()}`));
  return ours ? 'recover' : 'default';
}

/**
 * AZURE_ALLOWED_HOSTNAMES becomes the app's AllowedHostnames. azd passes an unset variable as empty,
 * which the app reads as "any name": so the deployer must set it, to a list or explicitly empty, and
 * a list the app would refuse (ConfigurationInvalid at every call) is refused here first.
 */
function allowedHostnamesChosen(value: string | undefined): void {
  if (value === undefined) {
    throw new PlanError(
      "AZURE_ALLOWED_HOSTNAMES is not set. It lists the names the app may order certificates for (exact names and *.suffix patterns): azd env set AZURE_ALLOWED_HOSTNAMES 'www.contoso.com,*.contoso.com'. To allow any name, say so: azd env set AZURE_ALLOWED_HOSTNAMES ''.",
    );
  }
  try {
    parseAllowList(value);
  } catch (error) {
    throw new PlanError(`AZURE_ALLOWED_HOSTNAMES: ${error instanceof CertbotError ? error.detail : String(error)}`);
  }
}

/** AZURE_DNS_ZONE_RESOURCE_IDS: Azure DNS zone resource ids, separated by commas or white space, each once. */
function dnsZoneIds(value: string | undefined): string[] {
  const ids: string[] = [];
  for (const id of (value ?? '').split(/[,\s]+/).filter(Boolean)) {
    if (/\/providers\/Microsoft\.Network\/privateDnsZones\//i.test(id)) {
      throw new PlanError(`AZURE_DNS_ZONE_RESOURCE_IDS lists ${id}, a private DNS zone: the CA looks DNS-01 TXT records up on the internet, which only a public Azure DNS zone (Microsoft.Network/dnszones) answers.`);
    }
    requireResourceId('AZURE_DNS_ZONE_RESOURCE_IDS', id, 'Microsoft.Network/dnszones');
    if (!ids.some((other) => other.toLowerCase() === id.toLowerCase())) ids.push(id);
  }
  return ids;
}

function need(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value) throw new PlanError(`${name} is not set: run \`azd up\` (which asks for it), or \`azd env set ${name} <value>\` before \`azd provision\`.`);
  return value;
}

if (require.main === module) {
  preprovision(process.env, armClient())
    .then(({ values, summary }) => {
      azdEnvSet(values);
      console.log(`appgw-certbot preprovision:\n  ${summary.join('\n  ')}`);
    })
    .catch((error: Error) => {
      console.error(`appgw-certbot preprovision refused: ${error instanceof PlanError ? error.message : `unexpected failure: ${error.message}`}`);
      process.exit(1);
    });
}

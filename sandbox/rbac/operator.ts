import { RoleDefinition } from './model';

/**
 * The sandbox's operator: the person who deployed the infra and whom the tests act as
 * (test/support/sandboxClient.ts SandboxCredential, token oid `tests`). Not part of infra/roles.json
 * (that file is the app's and the gateway's); given the roles a deployer typically holds, as Learn
 * documents them: Owner on the subscription (control plane only: Owner has no data actions),
 * Key Vault Administrator on the vault and Storage Blob Data Owner on the challenge account.
 */
export const OPERATOR_OBJECT_ID = 'tests';

export const OPERATOR_ROLES: RoleDefinition[] = [
  {
    // https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/privileged#owner
    key: 'owner',
    id: '8e3af657-a8ff-443c-a75c-2fe8c4bcb635',
    roleName: 'Owner',
    custom: false,
    actions: ['*'],
    notActions: [],
    dataActions: [],
    notDataActions: [],
  },
  {
    // https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/security#key-vault-administrator
    key: 'keyVaultAdministrator',
    id: '00482a5a-887f-4fb3-b363-3b7fe8e74483',
    roleName: 'Key Vault Administrator',
    custom: false,
    actions: [
      'Microsoft.Authorization/*/read',
      'Microsoft.Insights/alertRules/*',
      'Microsoft.Resources/deployments/*',
      'Microsoft.Resources/subscriptions/resourceGroups/read',
      'Microsoft.Support/*',
      'Microsoft.KeyVault/checkNameAvailability/read',
      'Microsoft.KeyVault/deletedVaults/read',
      'Microsoft.KeyVault/locations/*/read',
      'Microsoft.KeyVault/vaults/*/read',
      'Microsoft.KeyVault/operations/read',
    ],
    notActions: [],
    dataActions: ['Microsoft.KeyVault/vaults/*'],
    notDataActions: [],
  },
];

/** Where the operator's roles are assigned, by the sandbox scope they name. */
export const OPERATOR_ASSIGNMENTS: { name: string; role: string; scope: 'subscription' | 'vault' | 'challengeAccount' }[] = [
  { name: 'operatorOwner', role: 'owner', scope: 'subscription' },
  { name: 'operatorVaultAdministrator', role: 'keyVaultAdministrator', scope: 'vault' },
  // Storage Blob Data Owner is one of the app's built-in roles, defined in infra/roles.json.
  { name: 'operatorBlobOwner', role: 'storageBlobDataOwner', scope: 'challengeAccount' },
];

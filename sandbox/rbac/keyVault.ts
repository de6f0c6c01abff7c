import { readClaims } from '../identity/jwt';
import type { KvReply, KvRequest } from '../keyvault/wire';
import { kvError } from '../keyvault/wire';
import { Rbac } from './rbac';

/**
 * Key Vault (RBAC permission model) as the data plane authorizes each call.
 *
 * Operation -> data action: the access-policy permission each REST operation requires (the
 * "This operation requires the certificates/… permission" line of every operation in
 * @azure/keyvault-certificates 4.10 / keyvault-secrets 4.12 api/operations.d.ts, generated from the
 * REST specification) mapped to its RBAC data action from Learn's Key Vault data actions list
 * (permissions/security#microsoftkeyvault): get and list -> certificates/read; create (and merge,
 * which requires certificates/create) -> certificates/create/action; update (and cancelling or
 * deleting a pending operation, which require certificates/update) -> certificates/update/action;
 * secrets get -> secrets/getSecret/action, list -> secrets/readMetadata/action, set ->
 * secrets/setSecret/action.
 *
 * Scope: the vault, or the object for calls that name one (`…/vaults/{vault}/secrets/{name}`,
 * `…/certificates/{name}`): Key Vault RBAC lets a role be assigned on one certificate or secret
 * (Learn, Key Vault RBAC guide, "Best practices for individual keys, secrets, and certificates").
 *
 * Refusal: 403 {"error":{"code":"Forbidden","message":"Caller is not authorized to perform action on
 * resource.\r\n…","innererror":{"code":"ForbiddenByRbac"}}} with the caller, action, resource (lower
 * case path), "Assignment: (not found)", "DenyAssignmentId: null", "DecisionReason:
 * 'DeniedWithNoValidRBAC' " and "Vault: {name};location={location}" lines, as service answers quoted
 * in public write-ups show it (a 2023 SANS Holiday Hack write-up for keys/read, an Azure Container Apps
 * troubleshooting note for secrets/getSecret/action, Azure DevOps pipeline posts for
 * certificates/import/action).
 */
const KV = 'Microsoft.KeyVault/vaults';

export const KEY_VAULT_DATA_ACTIONS: Record<string, string> = {
  'certificates.list': `${KV}/certificates/read`,
  'certificates.get': `${KV}/certificates/read`,
  'certificates.getVersion': `${KV}/certificates/read`,
  'certificates.listVersions': `${KV}/certificates/read`,
  'certificates.getPolicy': `${KV}/certificates/read`,
  'certificates.getOperation': `${KV}/certificates/read`,
  'certificates.create': `${KV}/certificates/create/action`,
  'certificates.merge': `${KV}/certificates/create/action`,
  'certificates.import': `${KV}/certificates/import/action`,
  'certificates.update': `${KV}/certificates/update/action`,
  'certificates.updatePolicy': `${KV}/certificates/update/action`,
  'certificates.updateOperation': `${KV}/certificates/update/action`,
  'certificates.deleteOperation': `${KV}/certificates/update/action`,
  'certificates.delete': `${KV}/certificates/delete`,
  'deletedCertificates.list': `${KV}/certificates/read`,
  'deletedCertificates.get': `${KV}/certificates/read`,
  'deletedCertificates.recover': `${KV}/certificates/recover/action`,
  'deletedCertificates.purge': `${KV}/certificates/purge/action`,
  'secrets.list': `${KV}/secrets/readMetadata/action`,
  'secrets.listVersions': `${KV}/secrets/readMetadata/action`,
  'secrets.get': `${KV}/secrets/getSecret/action`,
  'secrets.getVersion': `${KV}/secrets/getSecret/action`,
  'secrets.set': `${KV}/secrets/setSecret/action`,
  'secrets.update': `${KV}/secrets/update/action`,
  'secrets.delete': `${KV}/secrets/delete`,
  // A deleted secret's body has no value (DeletedSecretBundle): its metadata action (unverified).
  'deletedSecrets.get': `${KV}/secrets/readMetadata/action`,
  'deletedSecrets.recover': `${KV}/secrets/recover/action`,
  'deletedSecrets.purge': `${KV}/secrets/purge/action`,
};

export interface VaultIdentity {
  /** ARM id of the vault, e.g. /subscriptions/…/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv-sandbox. */
  id: string;
  location: string;
}

/** The scope a Key Vault call acts on: the object it names, or the vault. */
export function keyVaultScope(vaultId: string, path: string[]): string {
  const [collection, name] = path;
  if (!name) return vaultId;
  if (collection === 'certificates' || collection === 'deletedcertificates') return `${vaultId}/certificates/${name}`;
  if (collection === 'secrets' || collection === 'deletedsecrets') return `${vaultId}/secrets/${name}`;
  return vaultId;
}

/** The body Key Vault answers a caller without the data action with. */
export function forbiddenByRbac(caller: { appid?: string; oid?: string; iss?: string }, action: string, resource: string, vault: VaultIdentity): KvReply {
  const vaultName = vault.id.split('/').pop() ?? '';
  const message = [
    'Caller is not authorized to perform action on resource.',
    'If role assignments, deny assignments or role definitions were changed recently, please observe propagation time.',
    `Caller: appid=${caller.appid ?? ''};oid=${caller.oid ?? ''};iss=${caller.iss ?? ''}`,
    `Action: '${action}'`,
    `Resource: '${resource.toLowerCase()}'`,
    'Assignment: (not found)',
    'DenyAssignmentId: null',
    "DecisionReason: 'DeniedWithNoValidRBAC' ",
    `Vault: ${vaultName};location=${vault.location}`,
    '',
  ].join('\r\n');
  return kvError(403, 'Forbidden', message, 'ForbiddenByRbac');
}

/**
 * The authorizer the Key Vault emulator calls with each routed operation: undefined to serve it, or
 * the service's 403. Operations without a mapped data action (unsupported or unknown routes) are
 * left to the emulator's own answer.
 */
export function keyVaultAuthorizer(rbac: Rbac, vault: VaultIdentity): (operation: string, request: KvRequest, authorization: string | undefined) => KvReply | undefined {
  return (operation, request, authorization) => {
    const action = KEY_VAULT_DATA_ACTIONS[operation];
    if (!action) return undefined;
    const claims = readClaims((authorization ?? '').replace(/^Bearer\s+/i, '')) ?? {};
    const scope = keyVaultScope(vault.id, request.path);
    if (rbac.check(claims.oid, action, 'dataAction', scope).allowed) return undefined;
    rbac.recordDenial({ service: 'keyvault', objectId: claims.oid ?? '', operation: action, kind: 'dataAction', scope, code: 'ForbiddenByRbac' });
    return forbiddenByRbac(claims, action, scope, vault);
  };
}

/** What the gateway's own identity may read: the secret a listener's keyVaultSecretId names. */
export function secretIdScope(vaultId: string, secretId: string): string | undefined {
  try {
    const [collection, name] = new URL(secretId).pathname.split('/').filter(Boolean);
    return collection === 'secrets' && name ? `${vaultId}/secrets/${name}` : undefined;
  } catch {
    return undefined;
  }
}

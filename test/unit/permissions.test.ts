import { deniedAction, grantAdvice, roleFor } from '../../src/domain/permissions';
import { fromAzureError } from '../../src/azure/restErrors';
import roles from '../../infra/roles.json';

describe('which role grants a refused action (from infra/roles.json)', () => {
  it('names the Key Vault role for certificate and secret data actions', () => {
    expect(roleFor('Microsoft.KeyVault/vaults/certificates/create/action')).toMatchObject({ roleName: 'Key Vault Certificates Officer', assignment: 'certificatesOfficer' });
    expect(roleFor('Microsoft.KeyVault/vaults/secrets/setSecret/action')).toMatchObject({ roleName: 'Key Vault Secrets Officer' });
    expect(roleFor('Microsoft.KeyVault/vaults/secrets/getSecret/action', 'gateway')).toMatchObject({ roleName: 'Key Vault Secrets User' });
  });

  it('picks the assignment on the resource the action is about', () => {
    const custom = roles.customRoles.gatewayOperator.roleName;
    expect(roleFor('Microsoft.Network/virtualNetworks/subnets/join/action')).toEqual({ roleName: custom, scope: "the gateway's virtual network", assignment: 'onVirtualNetwork' });
    expect(roleFor('Microsoft.Network/publicIPAddresses/join/action')).toMatchObject({ assignment: 'onPublicIp' });
    expect(roleFor('Microsoft.ManagedIdentity/userAssignedIdentities/assign/action')).toMatchObject({ assignment: 'onGatewayIdentity' });
    expect(roleFor('Microsoft.Network/applicationGateways/write')).toMatchObject({ assignment: 'onGateway' });
  });

  it('says nothing for an action no assignment grants', () => {
    expect(roleFor('Microsoft.Network/dnsZones/write')).toBeUndefined();
    expect(grantAdvice('Microsoft.Compute/virtualMachines/write')).toBeUndefined();
  });

  it('reads the refused action from Key Vault and Resource Manager messages, the linked one for linked checks', () => {
    expect(deniedAction("Caller is not authorized to perform action on resource.\r\nCaller: appid=x;oid=y\r\nAction: 'Microsoft.KeyVault/vaults/certificates/create/action'\r\nResource: '...'")).toBe(
      'Microsoft.KeyVault/vaults/certificates/create/action',
    );
    expect(deniedAction("The client 'c' with object id 'o' does not have authorization to perform action 'Microsoft.Network/applicationGateways/write' over scope '/subscriptions/s' or the scope is invalid.")).toBe(
      'Microsoft.Network/applicationGateways/write',
    );
    expect(
      deniedAction(
        "The client 'c' with object id 'o' has permission to perform action 'Microsoft.Network/applicationGateways/write' on scope '/g'; however, it does not have permission to perform action(s) 'Microsoft.Network/virtualNetworks/subnets/join/action' on the linked scope(s) '/v' (respectively) or the linked scope(s) are invalid.",
      ),
    ).toBe('Microsoft.Network/virtualNetworks/subnets/join/action');
  });

  it('puts the role to grant into the typed error', () => {
    const refusal = Object.assign(new Error("Caller is not authorized to perform action on resource.\r\nAction: 'Microsoft.KeyVault/vaults/certificates/import/action'"), { statusCode: 403, code: 'Forbidden' });
    const typed = fromAzureError('Key Vault', refusal, { forbidden: 'KeyVaultPermissionDenied', other: 'KeyVaultRequestFailed' });
    expect(typed.code).toBe('KeyVaultPermissionDenied');
    expect(typed.detail).toContain("Grant the function app's identity the role 'Key Vault Certificates Officer' on the Key Vault");
    const storage = Object.assign(new Error('This request is not authorized to perform this operation using this permission.'), { statusCode: 403, code: 'AuthorizationPermissionMismatch' });
    const blobCodes = {
      forbidden: 'BlobStoragePermissionDenied',
      other: 'BlobStorageRequestFailed',
      deniedAction: { whenCode: 'AuthorizationPermissionMismatch', action: 'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write' },
    } as const;
    expect(fromAzureError('Blob Storage', storage, blobCodes).detail).toContain("'Storage Blob Data Contributor' on the challenge container");
    // A firewall refusal is not about roles: no role advice.
    const firewall = Object.assign(new Error('This request is not authorized to perform this operation.'), { statusCode: 403, code: 'AuthorizationFailure' });
    expect(fromAzureError('Blob Storage', firewall, blobCodes).detail).not.toContain('Grant');
  });

  it('a disabled secret is not a permission problem', () => {
    const disabled = Object.assign(new Error('Operation get is not allowed on a disabled secret.'), { statusCode: 403, code: 'Forbidden' });
    expect(fromAzureError('Key Vault', disabled, { forbidden: 'KeyVaultPermissionDenied', other: 'KeyVaultRequestFailed' })).toMatchObject({ code: 'KeyVaultRequestFailed' });
  });
});

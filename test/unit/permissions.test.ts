import { deniedAction, deniedScope, grantAdvice, roleFor } from '../../src/domain/permissions';
import { fromAzureError } from '../../src/azure/restErrors';
import roles from '../../infra/roles.json';

describe('which role grants a refused action (from infra/roles.json)', () => {
  it('names the Key Vault role for certificate and secret data actions', () => {
    expect(roleFor('Microsoft.KeyVault/vaults/certificates/create/action')).toMatchObject({ roleName: 'Key Vault Certificates Officer', assignment: 'certificatesOfficer' });
    expect(roleFor('Microsoft.KeyVault/vaults/secrets/setSecret/action')).toMatchObject({ roleName: 'Key Vault Secrets Officer' });
    expect(roleFor('Microsoft.KeyVault/vaults/secrets/getSecret/action', 'gateway')).toMatchObject({ roleName: 'Key Vault Secrets User' });
  });

  it('picks the assignment on the resource the action is about', () => {
    const linker = roles.customRoles.gatewayLinker.roleName;
    const subnet = '/subscriptions/hub/resourceGroups/rg-hub/providers/Microsoft.Network/virtualNetworks/vnet/subnets/appgw';
    expect(roleFor('Microsoft.Network/virtualNetworks/subnets/join/action')).toEqual({ roleName: linker, scope: 'the resource the gateway references', assignment: 'onLinkedResource' });
    expect(roleFor('Microsoft.Network/virtualNetworks/subnets/join/action', 'app', subnet)).toEqual({ roleName: linker, scope: `the resource the gateway references: ${subnet}`, assignment: 'onLinkedResource' });
    for (const action of [
      'Microsoft.Network/publicIPAddresses/read',
      'Microsoft.Network/publicIPAddresses/join/action',
      'Microsoft.ManagedIdentity/userAssignedIdentities/assign/action',
      'Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies/join/action',
    ]) {
      expect(roleFor(action)).toMatchObject({ roleName: linker, assignment: 'onLinkedResource' });
    }
    expect(roleFor('Microsoft.Network/applicationGateways/write')).toEqual({ roleName: roles.customRoles.gatewayOperator.roleName, scope: 'the Application Gateway', assignment: 'onGateway' });
    // A resource id is named only for the per-resource assignment.
    expect(roleFor('Microsoft.Network/applicationGateways/write', 'app', '/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/applicationGateways/gw')?.scope).toBe('the Application Gateway');
    expect(roleFor('Microsoft.Network/locations/operations/read')).toMatchObject({ scope: "the gateway's resource group", assignment: 'onGatewayResourceGroup' });
  });

  it('reads the refused resource: the first linked scope of a linked check, else the scope', () => {
    const waf = '/subscriptions/s/resourceGroups/rg-waf/providers/Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies/waf';
    const linked =
      "The client 'c' with object id 'o' has permission to perform action 'Microsoft.Network/applicationGateways/write' on scope '/g'; however, it does not have permission to perform action(s) " +
      `'Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies/join/action,Microsoft.Network/publicIPAddresses/join/action' on the linked scope(s) '${waf},/p' (respectively) or the linked scope(s) are invalid.`;
    expect(deniedScope(linked)).toBe(waf);
    expect(deniedScope("The client 'c' with object id 'o' does not have authorization to perform action 'Microsoft.Network/publicIPAddresses/read' over scope '/subscriptions/hub/p' or the scope is invalid.")).toBe('/subscriptions/hub/p');
    expect(deniedScope("Caller is not authorized to perform action on resource.\r\nAction: 'x'")).toBeUndefined();
  });

  it('tells the operator which linked resource to grant the linker on, from a LinkedAuthorizationFailed', () => {
    const waf = `/subscriptions/s/resourceGroups/rg-waf/providers/Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies/${'w'.repeat(300)}`;
    const refusal = Object.assign(
      new Error(
        `The client '${'c'.repeat(36)}' with object id '${'o'.repeat(36)}' has permission to perform action 'Microsoft.Network/applicationGateways/write' on scope '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/applicationGateways/gw'; ` +
          `however, it does not have permission to perform action(s) 'Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies/join/action' on the linked scope(s) '${waf}' (respectively) or the linked scope(s) are invalid.`,
      ),
      { statusCode: 403, code: 'LinkedAuthorizationFailed' },
    );
    const typed = fromAzureError('Azure Resource Manager', refusal, { forbidden: 'ApplicationGatewayPermissionDenied', other: 'ApplicationGatewayUpdateFailed' });
    expect(typed.code).toBe('ApplicationGatewayPermissionDenied');
    // Named in full even where Azure's message is cut short in the detail.
    expect(typed.detail).toContain(
      `Refused action: Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies/join/action. Grant the function app's identity the role '${roles.customRoles.gatewayLinker.roleName}' on the resource the gateway references: ${waf} (assignment onLinkedResource in infra/roles.json), then retry.`,
    );
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
    // The state container (claims, locks, the gateway writer's inbox) has its own assignment: the advice names it.
    const stateCodes = { ...blobCodes, deniedAction: { ...blobCodes.deniedAction, scope: 'stateContainer' } };
    expect(fromAzureError('Blob Storage', storage, stateCodes).detail).toContain("'Storage Blob Data Contributor' on the state container (StateContainerUrl) (assignment stateWriter in infra/roles.json)");
    // A firewall refusal is not about roles: no role advice.
    const firewall = Object.assign(new Error('This request is not authorized to perform this operation.'), { statusCode: 403, code: 'AuthorizationFailure' });
    expect(fromAzureError('Blob Storage', firewall, blobCodes).detail).not.toContain('Grant');
  });

  it('a disabled secret is not a permission problem', () => {
    const disabled = Object.assign(new Error('Operation get is not allowed on a disabled secret.'), { statusCode: 403, code: 'Forbidden' });
    expect(fromAzureError('Key Vault', disabled, { forbidden: 'KeyVaultPermissionDenied', other: 'KeyVaultRequestFailed' })).toMatchObject({ code: 'KeyVaultRequestFailed' });
  });
});

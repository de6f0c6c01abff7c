import { parsePublicIpId } from '../../src/azure/gateway';

describe('a frontend public IP resource id', () => {
  it('keeps its own subscription (a hub subscription in hub-and-spoke), resource group and name', () => {
    expect(parsePublicIpId('/subscriptions/hub-sub/resourceGroups/rg-hub-network/providers/Microsoft.Network/publicIPAddresses/gw-pip-v6')).toEqual({
      subscriptionId: 'hub-sub',
      resourceGroup: 'rg-hub-network',
      name: 'gw-pip-v6',
    });
    expect(parsePublicIpId('/subscriptions/S/resourcegroups/RG/providers/microsoft.network/publicipaddresses/PIP')).toEqual({ subscriptionId: 'S', resourceGroup: 'RG', name: 'PIP' });
  });

  it('refuses anything else with ApplicationGatewayMisconfigured', () => {
    expect(() => parsePublicIpId('/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vnet')).toThrow(/Unexpected public IP resource id/);
    expect(() => parsePublicIpId('gw-pip')).toThrow(/Unexpected public IP resource id/);
  });
});

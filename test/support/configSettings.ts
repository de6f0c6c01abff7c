import { loadConfig } from '../../src/domain/config';
import { CertbotError } from '../../src/domain/errors';

/** The contract's required settings, valid: the base every configuration test varies. */
export const CONTRACT_SETTINGS = {
  AcmeEndpoint: 'https://acme-v02.api.letsencrypt.org/',
  AcmeAccountEmail: 'ops@example.com',
  TenantId: '11111111-2222-3333-4444-555555555555',
  SubscriptionId: '66666666-7777-8888-9999-000000000000',
  ApplicationGatewayResourceGroup: 'rg',
  ApplicationGatewayName: 'gw',
  ApplicationGatewayHttpSettingsName: 'settings',
  ApplicationGatewayBackendName: 'pool',
  BlobContainerUrl: 'https://st.blob.core.windows.net/acme',
  KeyVaultBaseUrl: 'https://kv.vault.azure.net/',
};

/** The error loadConfig throws for `env` (the test fails if it throws none). */
export function configErrorOf(env: Record<string, string>): CertbotError {
  try {
    loadConfig(env);
  } catch (error) {
    return error as CertbotError;
  }
  throw new Error('expected loadConfig to throw');
}

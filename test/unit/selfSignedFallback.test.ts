import { loadConfig } from '../../src/domain/config';
import { selfSignedFallbackApplies } from '../../src/domain/selfSignedFallback';
import { CertbotError } from '../../src/domain/errors';

describe('selfSignedFallbackApplies', () => {
  it('applies to issuance failures before the gateway step', () => {
    expect(selfSignedFallbackApplies('HostnameNotResolvingToApplicationGateway', 'CheckDnsResolutionStep')).toBe(true);
    expect(selfSignedFallbackApplies('AcmeChallengeFailed', 'CheckAcmeOrderStep')).toBe(true);
    expect(selfSignedFallbackApplies('AcmeRateLimited', 'GetAcmeOrderStep')).toBe(true);
    expect(selfSignedFallbackApplies('HostnameCaaForbidsCertificateAuthority', 'CheckCaaRecordsStep')).toBe(true);
  });

  it('never to a held name, an imported one, a gateway that cannot take it, or a misconfigured app', () => {
    expect(selfSignedFallbackApplies('HostnameAlreadyInProgress', 'GetApplicationGatewayPublicIpStep')).toBe(false);
    expect(selfSignedFallbackApplies('HostnameHasImportedCertificate', 'CreateCertificateStep')).toBe(false);
    expect(selfSignedFallbackApplies('ApplicationGatewayCapacityExceeded', 'GetApplicationGatewayPublicIpStep')).toBe(false);
    expect(selfSignedFallbackApplies('ConfigurationInvalid', 'GetAcmeOrderStep')).toBe(false);
    expect(selfSignedFallbackApplies('CertificateNotServedByGateway', 'ConfigureApplicationGatewayStep')).toBe(false);
  });
});

describe('the SelfSignedFallback setting', () => {
  const env = {
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

  it('is off unless set to true', () => {
    expect(loadConfig(env).selfSignedFallback).toBe(false);
    expect(loadConfig({ ...env, SelfSignedFallback: 'true' }).selfSignedFallback).toBe(true);
    expect(loadConfig({ ...env, SelfSignedFallback: 'false' }).selfSignedFallback).toBe(false);
  });

  it('refuses anything else, naming the setting', () => {
    let error: unknown;
    try {
      loadConfig({ ...env, SelfSignedFallback: 'yes please' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(CertbotError);
    expect((error as CertbotError).code).toBe('ConfigurationInvalid');
    expect((error as CertbotError).detail).toContain('SelfSignedFallback');
  });
});

import { loadConfig } from '../../src/domain/config';
import { selfSignedFallbackApplies } from '../../src/domain/selfSignedFallback';
import { CertbotError } from '../../src/domain/errors';
import { configErrorOf, CONTRACT_SETTINGS } from '../support/configSettings';

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
  const env = CONTRACT_SETTINGS;

  it('is off unless set to true', () => {
    expect(loadConfig(env).selfSignedFallback).toBe(false);
    expect(loadConfig({ ...env, SelfSignedFallback: 'true' }).selfSignedFallback).toBe(true);
    expect(loadConfig({ ...env, SelfSignedFallback: 'false' }).selfSignedFallback).toBe(false);
  });

  it('refuses anything else, naming the setting', () => {
    const error = configErrorOf({ ...env, SelfSignedFallback: 'yes please' });
    expect(error).toBeInstanceOf(CertbotError);
    expect((error as CertbotError).code).toBe('ConfigurationInvalid');
    expect((error as CertbotError).detail).toContain('SelfSignedFallback');
  });
});

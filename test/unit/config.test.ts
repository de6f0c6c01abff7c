import { loadConfig } from '../../src/domain/config';
import { configErrorOf, CONTRACT_SETTINGS } from '../support/configSettings';

const valid = CONTRACT_SETTINGS;
const errorOf = configErrorOf;

describe('typed configuration', () => {
  it('reads the contract settings and fills defaults', () => {
    const config = loadConfig(valid);
    expect(config.acmeEndpoint.href).toBe('https://acme-v02.api.letsencrypt.org/directory');
    expect(config.applicationGatewayName).toBe('gw');
    expect(config.armEndpoint.href).toBe('https://management.azure.com/');
    expect(config.certificateKeyType).toBe('RSA-2048');
    expect(config.dnsServers).toEqual([]);
    expect(config.maxHostnamesPerRequest).toBe(100);
    expect(config.keyVaultChallengeResourceVerification).toBe(true);
  });

  it.each(Object.keys(valid))('a missing %s is an error naming it', (name) => {
    const env: Record<string, string> = { ...valid };
    delete env[name];
    const error = errorOf(env);
    expect(error.code).toBe('ConfigurationInvalid');
    expect(error.detail).toBe(`Setting ${name} is missing.`);
  });

  it.each([
    ['AcmeEndpoint', 'http://acme.example/directory', 'must be an https:// URL'],
    ['BlobContainerUrl', 'not a url', 'is not an absolute URL'],
    ['TenantId', 'contoso', 'must be a GUID'],
    ['AcmeAccountEmail', 'nobody', 'is not an email address'],
    ['CertificateKeyType', 'DSA-1024', 'must be one of RSA-2048'],
    ['MaxHostnamesPerRequest', '0', 'must be a whole number from 1 to 1000'],
    ['DnsServers', '127.0.0.1:53,dns.example', 'must list IP addresses'],
    ['KeyVaultChallengeResourceVerification', 'maybe', 'must be true or false'],
  ])('a malformed %s is an error naming it and the reason', (name, value, reason) => {
    const error = errorOf({ ...valid, [name]: value });
    expect(error.code).toBe('ConfigurationInvalid');
    expect(error.detail).toContain(`Setting ${name} `);
    expect(error.detail).toContain(reason);
  });

  it('puts the state container beside the challenge container unless StateContainerUrl names one', () => {
    // Default: the same account, container appgw-certbot-state (the last path segment replaced).
    expect(loadConfig(valid).stateContainerUrl.href).toBe('https://st.blob.core.windows.net/appgw-certbot-state');
    expect(loadConfig({ ...valid, BlobContainerUrl: 'https://st.blob.core.windows.net/acme/' }).stateContainerUrl.href).toBe('https://st.blob.core.windows.net/appgw-certbot-state');
    // Path-style (Azurite, the sandbox): /<account>/<container>.
    expect(loadConfig({ ...valid, BlobContainerUrl: 'https://127.0.0.1:10000/devstoreaccount1/acme-challenge' }).stateContainerUrl.href).toBe(
      'https://127.0.0.1:10000/devstoreaccount1/appgw-certbot-state',
    );
    // The validation files stay where they were.
    expect(loadConfig(valid).blobContainerUrl.href).toBe('https://st.blob.core.windows.net/acme');
    // Or any private container, in any account.
    expect(loadConfig({ ...valid, StateContainerUrl: ' https://private.blob.core.windows.net/certbot ' }).stateContainerUrl.href).toBe('https://private.blob.core.windows.net/certbot');
  });

  it.each([
    ['not a url', 'is not an absolute URL'],
    ['http://st.blob.core.windows.net/state', 'must be an https:// URL'],
    ['https://st.blob.core.windows.net/', 'must name a container'],
    ['https://st.blob.core.windows.net/acme', "must be a private container other than BlobContainerUrl's"],
    ['https://ST.blob.core.windows.net/acme/', "must be a private container other than BlobContainerUrl's"],
  ])('a bad StateContainerUrl (%s) is an error naming it', (value, reason) => {
    const error = errorOf({ ...valid, StateContainerUrl: value });
    expect(error.code).toBe('ConfigurationInvalid');
    expect(error.detail).toContain('Setting StateContainerUrl ');
    expect(error.detail).toContain(reason);
  });

  it('cannot derive the state container from a BlobContainerUrl without a container', () => {
    const error = errorOf({ ...valid, BlobContainerUrl: 'https://st.blob.core.windows.net/' });
    expect(error.code).toBe('ConfigurationInvalid');
    expect(error.detail).toMatch(/^Setting StateContainerUrl is not set, and BlobContainerUrl names no container/);
  });

  it('reads the live-check settings and names a bad pause list', () => {
    const config = loadConfig(valid);
    expect(config.verifyServedCertificate).toBe(true);
    expect(config.gatewayHttpsPort).toBe(443);
    expect(config.servedCertificateRecheckSeconds).toEqual([0, 60, 300]);
    expect(loadConfig({ ...valid, ServedCertificateRecheckSeconds: ' 5, 10 ', VerifyServedCertificate: 'false' })).toMatchObject({
      servedCertificateRecheckSeconds: [5, 10],
      verifyServedCertificate: false,
    });
    expect(errorOf({ ...valid, ServedCertificateRecheckSeconds: '0,soon' }).detail).toBe(
      'Setting ServedCertificateRecheckSeconds must be a whole number from 0 to 3600 (got "soon").',
    );
    expect(errorOf({ ...valid, ServedCertificateRecheckSeconds: '1,1,1,1,1,1,1,1,1,1,1' }).detail).toMatch(/ServedCertificateRecheckSeconds may list at most 10/);
  });

  it('accepts DNS servers with ports and key types in any case', () => {
    const config = loadConfig({ ...valid, DnsServers: '127.0.0.1:5353, 10.0.0.2', CertificateKeyType: 'ec-p256' });
    expect(config.dnsServers).toEqual(['127.0.0.1:5353', '10.0.0.2']);
    expect(config.certificateKeyType).toBe('EC-P256');
  });

  it('reads the DNS-01 settings: challenge type (http-01 by default), zone resource ids and the name servers\' port', () => {
    const config = loadConfig(valid);
    expect(config).toMatchObject({ acmeChallengeType: 'http-01', dnsZoneResourceIds: [], dnsAuthoritativePort: 53 });
    const zone = '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-dns/providers/Microsoft.Network/dnszones/contoso.com';
    expect(loadConfig({ ...valid, AcmeChallengeType: 'DNS-01', DnsZoneResourceIds: `${zone}, ${zone.replace('contoso', 'fabrikam')}`, DnsAuthoritativePort: '5353' })).toMatchObject({
      acmeChallengeType: 'dns-01',
      dnsZoneResourceIds: [zone, zone.replace('contoso', 'fabrikam')],
      dnsAuthoritativePort: 5353,
    });
    expect(errorOf({ ...valid, AcmeChallengeType: 'tls-alpn-01' }).detail).toBe('Setting AcmeChallengeType must be one of http-01, dns-01 (got "tls-alpn-01").');
    expect(errorOf({ ...valid, DnsZoneResourceIds: 'contoso.com' }).detail).toMatch(/^Setting DnsZoneResourceIds must list Azure DNS zone resource ids .* \(got "contoso.com"\)\.$/);
    expect(errorOf({ ...valid, DnsZoneResourceIds: zone.replace('dnszones', 'privateDnsZones') }).code).toBe('ConfigurationInvalid');
    expect(errorOf({ ...valid, DnsAuthoritativePort: '0' }).detail).toBe('Setting DnsAuthoritativePort must be a whole number from 1 to 65535 (got "0").');
  });

  it('waits 15 s by default before reading a busy gateway again, and names a bad ApplicationGatewayBusyPollSeconds', () => {
    expect(loadConfig(valid).gatewayBusyPollSeconds).toBe(15);
    expect(loadConfig({ ...valid, ApplicationGatewayBusyPollSeconds: '1' }).gatewayBusyPollSeconds).toBe(1);
    expect(loadConfig({ ...valid, ApplicationGatewayBusyPollSeconds: ' 600 ' }).gatewayBusyPollSeconds).toBe(600);
    for (const bad of ['0', '601', '2.5', 'soon']) {
      const error = errorOf({ ...valid, ApplicationGatewayBusyPollSeconds: bad });
      expect(error.code).toBe('ConfigurationInvalid');
      expect(error.detail).toBe(`Setting ApplicationGatewayBusyPollSeconds must be a whole number from 1 to 600 (got "${bad}").`);
    }
  });

  it('posts failures and overdue renewals by default; NotificationEvents opts issuances and renewals in, and names a bad event', () => {
    expect(loadConfig(valid).notificationEvents).toEqual(['failure', 'overdue']);
    expect(loadConfig({ ...valid, NotificationEvents: ' Failure , overdue,issued,renewed,issued ' }).notificationEvents).toEqual(['failure', 'overdue', 'issued', 'renewed']);
    expect(loadConfig({ ...valid, NotificationEvents: 'renewed' }).notificationEvents).toEqual(['renewed']);
    for (const [bad, item] of [['failure,success', 'success'], ['failure,,overdue', ''], ['all', 'all']]) {
      const error = errorOf({ ...valid, NotificationEvents: bad });
      expect(error.code).toBe('ConfigurationInvalid');
      expect(error.detail).toBe(`Setting NotificationEvents must list events from failure, overdue, issued, renewed, separated by commas (got "${item}").`);
    }
  });
});

import { offeredProfiles, profileErrors, profileRefusal, renewalProfile } from '../../src/domain/acmeProfiles';
import { problemCode } from '../../src/acme/problems';
import { loadConfig } from '../../src/domain/config';
import { configErrorOf, CONTRACT_SETTINGS } from '../support/configSettings';
import { certificatesOf, parseHostnameEntries } from '../../src/domain/requests';

const letsEncrypt = {
  meta: {
    profiles: {
      classic: 'https://letsencrypt.org/docs/profiles#classic',
      tlsserver: 'https://letsencrypt.org/docs/profiles#tlsserver',
      shortlived: 'https://letsencrypt.org/docs/profiles#shortlived',
    },
  },
};

describe('ACME profiles (draft-aaron-acme-profiles)', () => {
  it("reads the directory's meta.profiles, and none from a CA that lists none", () => {
    expect(Object.keys(offeredProfiles(letsEncrypt))).toEqual(['classic', 'tlsserver', 'shortlived']);
    expect(offeredProfiles({ meta: { caaIdentities: ['example.com'] } })).toEqual({});
    expect(offeredProfiles({})).toEqual({});
    expect(offeredProfiles({ meta: { profiles: ['classic'] } })).toEqual({});
  });

  it('accepts a profile the CA offers and refuses one it does not, listing what it offers', () => {
    const offered = offeredProfiles(letsEncrypt);
    expect(profileRefusal(offered, 'tlsserver')).toBeUndefined();
    expect(profileRefusal(offered, 'tenyears')).toBe('is "tenyears", which the CA (AcmeEndpoint) does not offer; it offers classic, tlsserver, shortlived');
    // Names are exact: a CA's profile names are case-sensitive JSON keys.
    expect(profileRefusal(offered, 'TLSServer')).toContain('does not offer');
  });

  it('refuses any profile when the CA offers none', () => {
    expect(profileRefusal({}, 'classic')).toBe('is "classic", but the CA (AcmeEndpoint) offers no profiles: leave it out');
  });

  it('reports each refused field once', () => {
    const errors = profileErrors(offeredProfiles(letsEncrypt), [
      { field: 'hostnames[0].profile', profile: 'tlsserver' },
      { field: 'hostnames[1].profile', profile: 'weekly' },
      { field: 'hostnames[1].profile', profile: 'weekly' },
    ]);
    expect(errors).toEqual([{ field: 'hostnames[1].profile', reason: expect.stringContaining('"weekly"') }]);
  });

  it('maps the CA\'s invalidProfile and externalAccountRequired problems to their typed codes', () => {
    expect(problemCode({ type: 'urn:ietf:params:acme:error:invalidProfile', status: 400 })).toBe('AcmeProfileInvalid');
    expect(problemCode({ type: 'urn:ietf:params:acme:error:externalAccountRequired', status: 403 })).toBe('AcmeExternalAccountRequired');
  });
});

describe('the profile field of a request', () => {
  it('keeps an entry\'s profile and refuses one that is not a name', () => {
    const parsed = parseHostnameEntries({ hostnames: [{ hostname: 'a.example.com', profile: 'shortlived' }, { hostname: 'b.example.com' }] }, 10, 'http-01');
    expect(parsed).toEqual({ ok: true, value: [{ hostname: 'a.example.com', profile: 'shortlived' }, { hostname: 'b.example.com' }] });
    const refused = parseHostnameEntries({ hostnames: [{ hostname: 'a.example.com', profile: 7 }, { hostname: 'b.example.com', profile: 'two words' }, { hostname: 'c.example.com', profile: '' }] }, 10, 'http-01');
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.errors.map((e) => e.field)).toEqual(['hostnames[0].profile', 'hostnames[1].profile', 'hostnames[2].profile']);
  });

  it("gives each certificate its entry's profile, else the default (AcmeProfile), else none", () => {
    const entries = [{ hostname: 'a.example.com', profile: 'shortlived' }, { hostname: 'b.example.com' }];
    const withDefault = certificatesOf(entries, 'http-01', 'tlsserver');
    expect(withDefault.ok && withDefault.value.map((c) => c.profile)).toEqual(['shortlived', 'tlsserver']);
    const withoutDefault = certificatesOf(entries, 'http-01');
    expect(withoutDefault.ok && withoutDefault.value.map((c) => c.profile)).toEqual(['shortlived', undefined]);
  });

  it('refuses a group whose entries name different profiles: one certificate, one profile', () => {
    const result = certificatesOf([
      { hostname: 'a.example.com', group: 'g', profile: 'tlsserver' },
      { hostname: 'b.example.com', group: 'g', profile: 'shortlived' },
    ], 'http-01');
    expect(result).toEqual({ ok: false, errors: [{ field: 'hostnames[1].profile', reason: expect.stringContaining('one certificate, one profile') }] });
  });
});

describe('settings: AcmeProfile, External Account Binding, PreferredChain', () => {
  const valid = { ...CONTRACT_SETTINGS, AcmeEndpoint: 'https://acme.zerossl.com/v2/DV90' };
  const errorOf = configErrorOf;

  it('leaves them out when unset: no profile sent, no binding, the default chain', () => {
    const config = loadConfig(valid);
    expect(config).not.toHaveProperty('acmeProfile');
    expect(config).not.toHaveProperty('acmeEab');
    expect(config).not.toHaveProperty('preferredChain');
  });

  it('reads them when set', () => {
    const config = loadConfig({ ...valid, AcmeProfile: 'tlsserver', AcmeEabKeyId: 'kid-1', AcmeEabHmacKeySecretName: 'acme-eab-hmac', PreferredChain: 'ISRG Root X1' });
    expect(config.acmeProfile).toBe('tlsserver');
    expect(config.acmeEab).toEqual({ keyId: 'kid-1', hmacKeySecretName: 'acme-eab-hmac' });
    expect(config.preferredChain).toBe('ISRG Root X1');
  });

  it('refuses an AcmeProfile that cannot be a profile name, naming the setting', () => {
    const error = errorOf({ ...valid, AcmeProfile: 'ten years' });
    expect(error.code).toBe('ConfigurationInvalid');
    expect(error.detail).toContain('Setting AcmeProfile must be a profile name');
  });

  it.each([
    [{ AcmeEabKeyId: 'kid-1' }, 'AcmeEabHmacKeySecretName is missing'],
    [{ AcmeEabHmacKeySecretName: 'acme-eab-hmac' }, 'AcmeEabKeyId is missing'],
    [{ AcmeEabKeyId: 'kid-1', AcmeEabHmacKeySecretName: 'not_a_secret name' }, 'AcmeEabHmacKeySecretName must be a Key Vault secret name'],
  ])('wants both EAB settings or neither: %j', (settings, message) => {
    const error = errorOf({ ...valid, ...settings });
    expect(error.code).toBe('ConfigurationInvalid');
    expect(error.detail).toContain(`Setting ${message}`);
  });
});

describe('renewalProfile', () => {
  const config = { acmeEndpoint: new URL('https://acme.example/directory'), acmeProfile: 'classic' };
  it("keeps the certificate's profile at the CA that issued it", () => {
    expect(renewalProfile({ profile: 'shortlived', acmeEndpoint: 'https://acme.example/directory' }, config)).toBe('shortlived');
  });
  it('takes AcmeProfile after a switch of CA, or for a certificate ordered with none', () => {
    expect(renewalProfile({ profile: 'shortlived', acmeEndpoint: 'https://other-ca.example/directory' }, config)).toBe('classic');
    expect(renewalProfile({ acmeEndpoint: 'https://acme.example/directory' }, config)).toBe('classic');
    expect(renewalProfile({ profile: 'tlsserver', acmeEndpoint: 'https://other-ca.example/directory' }, { acmeEndpoint: config.acmeEndpoint })).toBeUndefined();
  });
});

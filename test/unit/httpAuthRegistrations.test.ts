import type { HttpFunctionOptions } from '@azure/functions';
import type { ApiAccess } from '../../src/http/authorisation';

/**
 * Every HTTP function the app registers declares what it does (read, write or public) through
 * guarded(), and its authLevel follows from that: a route added without either would be missed by
 * the authorisation and the audit.
 */
interface Registration {
  name: string;
  options: HttpFunctionOptions;
  access?: ApiAccess;
}

function registrations(env: Record<string, string>): Registration[] {
  const seen: Registration[] = [];
  const saved = { ...process.env };
  // Only what the case names: an App Service variable from the shell must not decide the case.
  for (const name of ['ApiAuthentication', 'WEBSITE_AUTH_ENABLED', 'WEBSITE_INSTANCE_ID']) delete process.env[name];
  Object.assign(process.env, env);
  try {
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- the modules register when loaded, under the env set above
      const functions = require('@azure/functions') as typeof import('@azure/functions');
      jest.spyOn(functions.app, 'http').mockImplementation((name: string, options: HttpFunctionOptions) => void seen.push({ name, options }));
      jest.spyOn(functions.app, 'generic').mockImplementation(() => undefined);
      jest.spyOn(functions.app, 'timer').mockImplementation(() => undefined);
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require('../../src/functions/index');
      // The same module instance the registrations used.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { accessOf } = require('../../src/http/guarded') as typeof import('../../src/http/guarded');
      for (const registration of seen) registration.access = accessOf(registration.options.handler);
    });
  } finally {
    process.env = saved;
    jest.restoreAllMocks();
  }
  return seen;
}

describe('HTTP registrations', () => {
  it('each declares its access; with function keys, reads and writes need a key and only public routes are anonymous', () => {
    const found = registrations({ ApiAuthentication: 'FunctionKey' });
    expect(found.map((r) => r.name)).toEqual(expect.arrayContaining(['AddCertificateFunctions_HttpStart', 'ListCertificates', 'RenewCertificate', 'RemoveCertificate']));
    for (const { name, options } of found) {
      const access = found.find((r) => r.name === name)?.access;
      expect({ name, declared: access !== undefined }).toEqual({ name, declared: true });
      expect({ name, authLevel: options.authLevel }).toEqual({ name, authLevel: access === 'public' ? 'anonymous' : 'function' });
    }
  });

  it('with App Service Authentication on (WEBSITE_AUTH_ENABLED=True) every route is anonymous to the host (the app authorises from the principal)', () => {
    const found = registrations({ ApiAuthentication: 'AppServiceAuthentication', WEBSITE_AUTH_ENABLED: 'True' });
    expect(found.length).toBeGreaterThan(0);
    for (const { name, options } of found) expect({ name, authLevel: options.authLevel }).toEqual({ name, authLevel: 'anonymous' });
  });

  it('the starters, renew and remove are writes; the list is a read', () => {
    const access = Object.fromEntries(registrations({}).map((r) => [r.name, r.access]));
    expect(access).toMatchObject({
      AddCertificateFunctions_HttpStart: 'write',
      AddMultipleCertificatesFunctions_HttpStart: 'write',
      AddCertificateWithPrivateKeyFunctions_HttpStart: 'write',
      RenewCertificate: 'write',
      RemoveCertificate: 'write',
      ListCertificates: 'read',
    });
  });

  it('App Service Authentication without Easy Auth enabled keeps function keys, on Azure or not (never anonymous routes with nothing in front)', () => {
    const cases: Record<string, string>[] = [
      // func start or a container: no WEBSITE_INSTANCE_ID, no WEBSITE_AUTH_ENABLED.
      { ApiAuthentication: 'AppServiceAuthentication' },
      { ApiAuthentication: 'AppServiceAuthentication', WEBSITE_AUTH_ENABLED: 'False' },
      { ApiAuthentication: 'AppServiceAuthentication', WEBSITE_INSTANCE_ID: 'abc123', WEBSITE_AUTH_ENABLED: 'False' },
    ];
    for (const env of cases) {
      const found = registrations(env);
      const guardedRoutes = found.filter((r) => r.access === 'write' || r.access === 'read');
      expect(guardedRoutes.filter((r) => r.access === 'write').length).toBeGreaterThan(0);
      for (const { name, options } of guardedRoutes) expect({ env, name, authLevel: options.authLevel }).toEqual({ env, name, authLevel: 'function' });
    }
  });
});

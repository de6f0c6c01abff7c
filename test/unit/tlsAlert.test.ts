import { isTlsAlert } from '../../src/azure/servedCertificate';

describe('a TLS alert from the gateway (reachable, not serving the name) vs a network failure', () => {
  it('reads the alert a disabled listener sends on Azure (unrecognized_name) and the sandbox\'s (handshake_failure)', () => {
    expect(isTlsAlert({ code: 'ERR_SSL_TLSV1_UNRECOGNIZED_NAME', message: 'error:0A000458:SSL routines::tlsv1 unrecognized name:...:SSL alert number 112' })).toBe(true);
    expect(isTlsAlert({ code: 'ERR_SSL_TLSV1_UNRECOGNIZED_NAME' })).toBe(true);
    expect(isTlsAlert({ code: 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE', message: 'sslv3 alert handshake failure ... SSL alert number 40' })).toBe(true);
  });

  it('does not read a dropped or refused connection as an alert', () => {
    expect(isTlsAlert({ code: 'ECONNRESET', message: 'socket hang up' })).toBe(false);
    expect(isTlsAlert({ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 203.0.113.7:443' })).toBe(false);
    expect(isTlsAlert({ message: 'no TLS answer within 10 s' })).toBe(false);
  });
});

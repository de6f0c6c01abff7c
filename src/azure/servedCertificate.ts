import tls from 'node:tls';

/**
 * What the gateway's data plane serves for a hostname: a TLS handshake to one frontend IP with the
 * hostname as SNI, as a browser would make it, reading the leaf's serial number.
 */
export type ServedCertificate =
  | { address: string; serialNumber: string }
  /**
   * `alert`: the gateway answered the handshake for this name with a TLS alert: it is reachable
   * but refuses the name (a listener disabled because its Key Vault certificate cannot be read
   * sends unrecognized_name; Learn, "disabled listeners"), not a network problem.
   */
  | { address: string; error: string; alert: boolean };

const TIMEOUT_MS = 10_000;

/** Serial numbers as OpenSSL prints them may differ in case and leading zeros; compare values. */
export function sameSerial(a: string, b: string): boolean {
  const normal = (serial: string): string => serial.replace(/[^0-9a-f]/gi, '').replace(/^0+/, '').toLowerCase();
  return normal(a) === normal(b);
}

export function fetchServedCertificate(address: string, port: number, hostname: string): Promise<ServedCertificate> {
  return new Promise((resolve) => {
    // Only the certificate's identity is read and no data is sent, so the chain is not verified
    // here: a new CA's chain may not be trusted by this machine, and validity is Key Vault's concern.
    const socket = tls.connect({ host: address, port, servername: hostname, rejectUnauthorized: false, timeout: TIMEOUT_MS }, () => {
      const peer = socket.getPeerCertificate();
      socket.end();
      resolve(peer.serialNumber ? { address, serialNumber: peer.serialNumber } : { address, error: 'no certificate presented', alert: false });
    });
    socket.on('timeout', () => socket.destroy(new Error(`no TLS answer within ${TIMEOUT_MS / 1000} s`)));
    socket.on('error', (error: NodeJS.ErrnoException) => resolve({ address, error: error.code ?? error.message, alert: isTlsAlert(error) }));
  });
}

/**
 * Whether the peer ended the handshake with a TLS alert. OpenSSL's message says "SSL alert number
 * N" for every alert received; Node's codes vary (unrecognized_name, the alert Azure sends for a
 * disabled listener, is ERR_SSL_TLSV1_UNRECOGNIZED_NAME; handshake_failure is
 * ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE), so both are read.
 */
export function isTlsAlert(error: { code?: string; message?: string }): boolean {
  return /SSL alert number \d+/.test(error.message ?? '') || /^ERR_SSL_(TLSV1_UNRECOGNIZED_NAME|.*ALERT)/.test(error.code ?? '');
}

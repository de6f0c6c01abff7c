import tls from 'node:tls';

/** What a TLS client sees on the gateway for a hostname (SNI), verified against the given roots. */
export interface ServedCertificate {
  subject: string;
  issuer: string;
  validFrom: string;
  validTo: string;
  serialNumber: string;
  subjectAltName: string;
  authorized: boolean;
  authorizationError?: string;
}

export function fetchServedCertificate(port: number, servername: string, ca: string, host = '127.0.0.1'): Promise<ServedCertificate> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host, port, servername, ca, rejectUnauthorized: false }, () => {
      const peer = socket.getPeerCertificate();
      const authorizationError = socket.authorizationError ? String(socket.authorizationError) : undefined;
      resolve({
        subject: [peer.subject?.CN ?? ''].flat().join(', '),
        issuer: [peer.issuer?.CN ?? ''].flat().join(', '),
        validFrom: peer.valid_from,
        validTo: peer.valid_to,
        serialNumber: peer.serialNumber,
        subjectAltName: peer.subjectaltname ?? '',
        authorized: socket.authorized && !authorizationError,
        authorizationError,
      });
      socket.end();
    });
    socket.on('error', reject);
  });
}

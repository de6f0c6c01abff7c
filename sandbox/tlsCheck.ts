import { createHash, X509Certificate } from 'node:crypto';
import tls from 'node:tls';

/** What a TLS client sees on the gateway for a hostname (SNI), verified against the given roots. */
export interface ServedCertificate {
  subject: string;
  issuer: string;
  validFrom: string;
  validTo: string;
  serialNumber: string;
  subjectAltName: string;
  /** SHA-256 of the certificate's SubjectPublicKeyInfo (DER), hex: which key the gateway serves. */
  publicKeySha256: string;
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
        publicKeySha256: createHash('sha256').update(new X509Certificate(peer.raw).publicKey.export({ type: 'spki', format: 'der' })).digest('hex'),
        authorized: socket.authorized && !authorizationError,
        authorizationError,
      });
      socket.end();
    });
    socket.on('error', reject);
  });
}

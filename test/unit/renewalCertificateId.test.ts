import forge from 'node-forge';
import { renewalCertificateId, renewalCertificateIdOf } from '../../src/crypto/renewalCertificateId';
import { certificateIdOf } from '../../sandbox/services/renewalInfo';

/** A certificate with the given serial (hex) and authority key identifier, signed by a throwaway key. */
function certificate(serialHex: string, authorityKeyId?: Buffer): { der: Buffer; pem: string } {
  const keys = forge.pki.rsa.generateKeyPair(1024);
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serialHex;
  cert.validity.notBefore = new Date('2026-01-01T00:00:00Z');
  cert.validity.notAfter = new Date('2026-04-01T00:00:00Z');
  cert.setSubject([{ name: 'commonName', value: 'ari.example' }]);
  cert.setIssuer([{ name: 'commonName', value: 'ARI test CA' }]);
  const extensions: object[] = [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'ari.example' }] }];
  if (authorityKeyId) extensions.push({ name: 'authorityKeyIdentifier', keyIdentifier: authorityKeyId.toString('binary') });
  cert.setExtensions(extensions);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  const der = Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes(), 'binary');
  return { der, pem: forge.pki.certificateToPem(cert) };
}

describe('ACME Renewal Information certificate id (RFC 9773 section 4.1)', () => {
  // The RFC's example: AKI keyIdentifier 69:88:5B:...:C8:D4 and serial 00:87:65:43:21.
  const rfcKeyId = Buffer.from('69885B6B87464041E1B37B847BA0AE2CDE01C8D4', 'hex');
  const rfcId = 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE';

  it('encodes the RFC example', () => {
    expect(renewalCertificateId(rfcKeyId, Buffer.from('0087654321', 'hex'))).toBe(rfcId);
  });

  it('reads the key identifier and the DER serial (with its sign octet) from a certificate', () => {
    const { der, pem } = certificate('0087654321', rfcKeyId);
    expect(renewalCertificateIdOf(der)).toBe(rfcId);
    // The sandbox CA's own, independent reading agrees.
    expect(certificateIdOf(pem)).toBe(rfcId);
  });

  it('handles a serial without a sign octet', () => {
    const { der, pem } = certificate('1234abcd', rfcKeyId);
    expect(renewalCertificateIdOf(der)).toBe(`${rfcKeyId.toString('base64url')}.${Buffer.from('1234abcd', 'hex').toString('base64url')}`);
    expect(certificateIdOf(pem)).toBe(renewalCertificateIdOf(der));
  });

  it('has no id for a certificate without an authority key identifier', () => {
    const { der, pem } = certificate('01');
    expect(renewalCertificateIdOf(der)).toBeUndefined();
    expect(certificateIdOf(pem)).toBeUndefined();
  });
});

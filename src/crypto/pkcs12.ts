import { createHash, createPrivateKey } from 'node:crypto';
import forge from 'node-forge';
import { asn1, Asn1, derBytes, explicit0, fromDer, octets, oid, seq } from './asn1';

const OID = {
  data: '1.2.840.113549.1.7.1',
  keyBag: '1.2.840.113549.1.12.10.1.1',
  certBag: '1.2.840.113549.1.12.10.1.3',
  x509Certificate: '1.2.840.113549.1.9.22.1',
  localKeyId: '1.2.840.113549.1.9.21',
  sha1: '1.3.14.3.2.26',
};

const dataContentInfo = (content: Asn1): Asn1 => seq([oid(OID.data), explicit0(octets(derBytes(content)))]);

/**
 * A password-less PKCS#12 (RFC 7292) with the key and the chain, leaf first, as Key Vault serves
 * a certificate's secret: unencrypted bags, a localKeyId pairing the key with the leaf, and a
 * SHA-1 MAC keyed with no password (OpenSSL and node's tls accept both "no" and "empty").
 */
export function toPkcs12(keyPem: string, chainDer: Buffer[]): Buffer {
  const localKeyId = createHash('sha1').update(chainDer[0]).digest();
  const attributes = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SET, true, [
    seq([oid(OID.localKeyId), asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SET, true, [octets(localKeyId)])]),
  ]);
  const certBags = chainDer.map((der, index) => {
    const bag = [oid(OID.certBag), explicit0(seq([oid(OID.x509Certificate), explicit0(octets(der))]))];
    return seq(index === 0 ? [...bag, attributes] : bag);
  });
  const pkcs8 = fromDer(createPrivateKey(keyPem).export({ type: 'pkcs8', format: 'der' }));
  const keyBag = seq([oid(OID.keyBag), explicit0(pkcs8), attributes]);
  const authenticatedSafe = seq([dataContentInfo(seq(certBags)), dataContentInfo(seq([keyBag]))]);

  const salt = forge.random.getBytesSync(8);
  const iterations = 2048;
  // Reason: forge's typings want a string password; its code takes null for "no password".
  const macKey = forge.pkcs12.generateKey(null as unknown as string, forge.util.createBuffer(salt), 3, iterations, 20);
  const hmac = forge.hmac.create();
  hmac.start('sha1', macKey.getBytes());
  hmac.update(asn1.toDer(authenticatedSafe).getBytes());
  const macData = seq([
    seq([seq([oid(OID.sha1), asn1.create(asn1.Class.UNIVERSAL, asn1.Type.NULL, false, '')]), octets(Buffer.from(hmac.digest().getBytes(), 'binary'))]),
    octets(Buffer.from(salt, 'binary')),
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.INTEGER, false, asn1.integerToDer(iterations).getBytes()),
  ]);
  const version = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.INTEGER, false, asn1.integerToDer(3).getBytes());
  return derBytes(seq([version, dataContentInfo(authenticatedSafe), macData]));
}


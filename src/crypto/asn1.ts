import forge from 'node-forge';

/** Small DER building blocks over node-forge's ASN.1 codec (forge's key types are RSA-only, its codec is not). */
export const { asn1 } = forge;
export type Asn1 = forge.asn1.Asn1;

export const derBytes = (node: Asn1): Buffer => Buffer.from(asn1.toDer(node).getBytes(), 'binary');
export const fromDer = (der: Buffer): Asn1 => asn1.fromDer(der.toString('binary'));
export const oid = (id: string): Asn1 => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(id).getBytes());
export const seq = (items: Asn1[]): Asn1 => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, items);
export const octets = (bytes: Buffer): Asn1 => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OCTETSTRING, false, bytes.toString('binary'));
export const explicit0 = (inner: Asn1): Asn1 => asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, true, [inner]);

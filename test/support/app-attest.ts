/**
 * A stand-in for Apple in tests: its own App Attestation root and intermediate CA, and
 * devices whose Secure-Enclave-like P-256 keys it certifies, producing attestation
 * objects and assertions exactly as DCAppAttestService does (CBOR, the credential
 * certificate with the nonce extension, authenticator data). The collector is given this
 * root instead of Apple's (buildApp's appAttestRoots).
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto'
import { encode } from 'cborg'
import { AsnConvert, OctetString } from '@peculiar/asn1-schema'
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  BasicConstraints,
  Certificate,
  Extension,
  Extensions,
  Name,
  RelativeDistinguishedName,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
} from '@peculiar/asn1-x509'
import * as asn1js from 'asn1js'

const ECDSA_SHA384 = '1.2.840.10045.4.3.3'
const NONCE_EXTENSION = '1.2.840.113635.100.8.2'
const AAGUID = { production: Buffer.from('appattest\0\0\0\0\0\0\0', 'latin1'), development: Buffer.from('appattestdevelop', 'latin1') }

const sha256 = (...parts: Uint8Array[]): Buffer => {
  const h = createHash('sha256')
  for (const p of parts) h.update(p)
  return h.digest()
}

const name = (cn: string): Name =>
  new Name([new RelativeDistinguishedName([new AttributeTypeAndValue({ type: '2.5.4.3', value: new AttributeValue({ utf8String: cn }) })])])

interface Issuer {
  name: string
  key: KeyObject
  /** ecdsa-with-SHA256 for P-256 keys, SHA384 for P-384. */
  alg: string
}

interface CertOptions {
  subject: string
  publicKey: KeyObject
  issuer: Issuer | 'self'
  ca: boolean
  notBefore?: Date
  notAfter?: Date
  extensions?: Extension[]
}

function certificate(o: CertOptions, selfKey?: KeyObject): Buffer {
  const issuer: Issuer = o.issuer === 'self' ? { name: o.subject, key: selfKey!, alg: ECDSA_SHA384 } : o.issuer
  const signature = new AlgorithmIdentifier({ algorithm: issuer.alg })
  const tbs = new TBSCertificate({
    version: 2,
    serialNumber: new Uint8Array([1, ...randomBytes(8)]).buffer,
    signature,
    issuer: name(issuer.name),
    validity: new Validity({ notBefore: o.notBefore ?? new Date('2020-01-01T00:00:00Z'), notAfter: o.notAfter ?? new Date('2045-01-01T00:00:00Z') }),
    subject: name(o.subject),
    subjectPublicKeyInfo: AsnConvert.parse(o.publicKey.export({ type: 'spki', format: 'der' }), SubjectPublicKeyInfo),
    extensions: new Extensions([
      new Extension({ extnID: '2.5.29.19', critical: true, extnValue: new OctetString(AsnConvert.serialize(new BasicConstraints({ cA: o.ca }))) }),
      ...(o.extensions ?? []),
    ]),
  })
  const der = Buffer.from(AsnConvert.serialize(tbs))
  const sig = sign(issuer.alg === ECDSA_SHA384 ? 'sha384' : 'sha256', der, { key: issuer.key, dsaEncoding: 'der' })
  return Buffer.from(AsnConvert.serialize(new Certificate({ tbsCertificate: tbs, signatureAlgorithm: signature, signatureValue: new Uint8Array(sig).buffer })))
}

const pem = (der: Buffer): string => `-----BEGIN CERTIFICATE-----\n${der.toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`

/** A certificate authority playing Apple: root and intermediate, both P-384. */
export class TestApple {
  readonly rootPem: string
  private readonly intermediate: Issuer
  readonly intermediateDer: Buffer

  constructor(readonly label = 'Test App Attestation') {
    const root = generateKeyPairSync('ec', { namedCurve: 'secp384r1' })
    const rootName = `${label} Root CA`
    const rootDer = certificate({ subject: rootName, publicKey: root.publicKey, issuer: 'self', ca: true }, root.privateKey)
    this.rootPem = pem(rootDer)
    const ca = generateKeyPairSync('ec', { namedCurve: 'secp384r1' })
    this.intermediate = { name: `${label} CA 1`, key: ca.privateKey, alg: ECDSA_SHA384 }
    this.intermediateDer = certificate({ subject: this.intermediate.name, publicKey: ca.publicKey, issuer: { name: rootName, key: root.privateKey, alg: ECDSA_SHA384 }, ca: true })
  }

  /** The credential certificate for a device key, carrying `nonce` in Apple's extension. */
  credentialCertificate(publicKey: KeyObject, nonce: Buffer, validity: { notBefore?: Date; notAfter?: Date } = {}): Buffer {
    const value = new asn1js.Sequence({ value: [new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 1 }, value: [new asn1js.OctetString({ valueHex: nonce })] })] })
    const extension = new Extension({ extnID: NONCE_EXTENSION, critical: false, extnValue: new OctetString(value.toBER()) })
    return certificate({ subject: 'test device key', publicKey, issuer: this.intermediate, ca: false, extensions: [extension], ...validity })
  }
}

export interface AttestOptions {
  /** Whose CA certifies the key (default: the device's own Apple). */
  apple?: TestApple
  /** The app id the authenticator data names (default: the device's). */
  appId?: string
  environment?: 'production' | 'development'
  /** Put this nonce in the certificate instead of the right one. */
  certificateNonce?: Buffer
  counter?: number
  validity?: { notBefore?: Date; notAfter?: Date }
}

/** An iPhone running the app: one App Attest key, attested once, then asserting with a counter. */
export class TestAppAttestDevice {
  readonly key = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  readonly keyId: Buffer
  counter = 0

  constructor(readonly apple: TestApple, readonly appId: string) {
    const { x, y } = this.key.publicKey.export({ format: 'jwk' })
    this.keyId = sha256(Buffer.from([4]), Buffer.from(x!, 'base64url'), Buffer.from(y!, 'base64url'))
  }

  /** DCAppAttestService.attestKey(keyId, clientDataHash: SHA-256(nonce)), as the bridge's token. */
  attest(nonce: string, o: AttestOptions = {}): string {
    const clientDataHash = sha256(Buffer.from(nonce, 'utf8'))
    const cose = encode(new Map<number, number | Uint8Array>([[1, 2], [3, -7], [-1, 1], [-2, Buffer.from(this.key.publicKey.export({ format: 'jwk' }).x!, 'base64url')], [-3, Buffer.from(this.key.publicKey.export({ format: 'jwk' }).y!, 'base64url')]]))
    const counter = Buffer.alloc(4)
    counter.writeUInt32BE(o.counter ?? 0)
    const idLength = Buffer.alloc(2)
    idLength.writeUInt16BE(this.keyId.length)
    const authData = Buffer.concat([sha256(Buffer.from(o.appId ?? this.appId)), Buffer.from([0x40]), counter, AAGUID[o.environment ?? 'production'], idLength, this.keyId, cose])
    const apple = o.apple ?? this.apple
    const credCert = apple.credentialCertificate(this.key.publicKey, o.certificateNonce ?? sha256(authData, clientDataHash), o.validity)
    const object = encode({ fmt: 'apple-appattest', attStmt: { x5c: [credCert, apple.intermediateDer], receipt: randomBytes(16) }, authData })
    return JSON.stringify({ keyId: this.keyId.toString('base64'), attestation: Buffer.from(object).toString('base64') })
  }

  /** DCAppAttestService.generateAssertion(keyId, clientDataHash: SHA-256(nonce)), with the next counter. */
  assert(nonce: string, o: { counter?: number; appId?: string; key?: KeyObject } = {}): string {
    this.counter = o.counter ?? this.counter + 1
    const counter = Buffer.alloc(4)
    counter.writeUInt32BE(this.counter)
    const authenticatorData = Buffer.concat([sha256(Buffer.from(o.appId ?? this.appId)), Buffer.from([0x00]), counter])
    const signature = sign('sha256', sha256(authenticatorData, sha256(Buffer.from(nonce, 'utf8'))), { key: o.key ?? this.key.privateKey, dsaEncoding: 'der' })
    const object = encode({ signature, authenticatorData })
    return JSON.stringify({ keyId: this.keyId.toString('base64'), assertion: Buffer.from(object).toString('base64') })
  }
}


/**
 * Apple App Attest (DeviceCheck): an iOS app proves it is the genuine app, unmodified,
 * on a genuine Apple device, with a key in the Secure Enclave that Apple certified.
 *
 * The app attests a key once (an attestation object: CBOR, with a certificate chain to
 * Apple's App Attestation root), then signs each later request with it (an assertion,
 * its counter increasing). Both are bound to our payload: the app's clientDataHash is
 * SHA-256 of the payload's attestation nonce (core/src/protocol/attestation.ts), and the
 * nonce carries the collector's challenge. The app hands the collector
 *
 *   {"keyId": "<base64>", "attestation": "<base64 CBOR>"}   the first time, then
 *   {"keyId": "<base64>", "assertion": "<base64 CBOR>"}     every time after
 *
 * as the bridge's token (docs/webview.md has the Swift side). The steps follow Apple's
 * "Validating apps that connect to your server"; each refusal has its own reason.
 */
import { X509Certificate, createHash, verify, type KeyObject } from 'node:crypto'
import { decode } from 'cborg'
import { AsnConvert } from '@peculiar/asn1-schema'
import { Certificate } from '@peculiar/asn1-x509'
import * as asn1js from 'asn1js'
import { failed, unverified, verified, type Verification } from './outcome'
import type { AttestedKeyStore } from '../stores/types'

/** The credential certificate's extension holding SHA-256(authData ‖ clientDataHash). */
const NONCE_EXTENSION = '1.2.840.113635.100.8.2'
const AAGUID = {
  production: Buffer.from('appattest\0\0\0\0\0\0\0', 'latin1'),
  development: Buffer.from('appattestdevelop', 'latin1'),
} as const

type AppAttestEnvironment = keyof typeof AAGUID

/** sites.json: `attestation.appAttest`. */
export interface AppAttestConfig {
  /** The Apple developer team id (10 characters). */
  teamId: string
  /** The apps' bundle ids; the app id Apple hashes is `teamId.bundleId`. */
  bundleIds: string[]
  /** Which AAGUID to accept: `production` (App Store, TestFlight; the default) or `development`. */
  environment?: AppAttestEnvironment
}

export interface AppAttestSettings {
  apps: ReadonlyArray<{ appId: string; rpIdHash: Buffer }>
  environment: AppAttestEnvironment
}

const sha256 = (...parts: Uint8Array[]): Buffer => {
  const h = createHash('sha256')
  for (const p of parts) h.update(p)
  return h.digest()
}

export function appAttestSettings(config: AppAttestConfig, where: string): AppAttestSettings {
  if (typeof config !== 'object' || config === null) throw new Error(`${where}: must be an object`)
  if (typeof config.teamId !== 'string' || !/^[A-Z0-9]{10}$/.test(config.teamId)) throw new Error(`${where}.teamId must be a 10-character Apple team id`)
  if (!Array.isArray(config.bundleIds) || config.bundleIds.length === 0 || !config.bundleIds.every((b) => typeof b === 'string' && /^[A-Za-z0-9.-]{1,155}$/.test(b))) {
    throw new Error(`${where}.bundleIds must list the apps' bundle ids`)
  }
  const environment = config.environment ?? 'production'
  if (!Object.hasOwn(AAGUID, environment)) throw new Error(`${where}.environment must be production or development`)
  const apps = config.bundleIds.map((bundleId) => {
    const appId = `${config.teamId}.${bundleId}`
    return { appId, rpIdHash: sha256(Buffer.from(appId, 'utf8')) }
  })
  return { apps, environment }
}

export interface AppAttestContext {
  /** Trust anchors: Apple's App Attestation root (apple-root.ts), or a test's own. */
  roots: readonly X509Certificate[]
  keys: AttestedKeyStore
  /** Epoch ms. */
  now: number
}

type Envelope = { keyId: Buffer; attestation: Buffer } | { keyId: Buffer; assertion: Buffer }

const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/

function bytesOf(value: unknown): Buffer | null {
  return typeof value === 'string' && BASE64.test(value) ? Buffer.from(value, 'base64') : null
}

function parseEnvelope(token: string): Envelope | null {
  let parsed: unknown
  try {
    parsed = JSON.parse(token)
  } catch {
    return null
  }
  const fields = parsed as Record<string, unknown> | null
  const keyId = bytesOf(fields?.['keyId'])
  if (!keyId || keyId.length !== 32) return null
  const attestation = bytesOf(fields?.['attestation'])
  const assertion = bytesOf(fields?.['assertion'])
  if (attestation && !assertion) return { keyId, attestation }
  if (assertion && !attestation) return { keyId, assertion }
  return null
}

function decodeCbor(bytes: Buffer): Record<string, unknown> | null {
  try {
    const value: unknown = decode(bytes, { rejectDuplicateMapKeys: true })
    return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array) ? (value as Record<string, unknown>) : null
  } catch {
    return null
  }
}

const isBytes = (v: unknown): v is Uint8Array => v instanceof Uint8Array

/** Checks the chain leaf → … → one of the roots, every certificate valid at `now`. Returns a failure, or null. */
function chainProblem(certs: X509Certificate[], roots: readonly X509Certificate[], now: number): string | null {
  const valid = (c: X509Certificate) => Date.parse(c.validFrom) <= now && now <= Date.parse(c.validTo)
  for (let i = 0; i < certs.length; i++) {
    const cert = certs[i]!
    if (!valid(cert)) return `certificate ${i} (${cert.subject.replace(/\n/g, ', ')}) is not valid now`
    const issuer = certs[i + 1]
    if (issuer) {
      if (!issuer.ca) return `certificate ${i + 1} is not a CA`
      if (!cert.checkIssued(issuer) || !cert.verify(issuer.publicKey)) return `certificate ${i} is not signed by certificate ${i + 1}`
    }
  }
  const top = certs[certs.length - 1]!
  const root = roots.find((r) => top.checkIssued(r) && top.verify(r.publicKey))
  if (!root) return 'the chain does not end at the App Attestation root'
  if (!valid(root)) return 'the root certificate is not valid now'
  return null
}

/** The nonce Apple put in the credential certificate: SEQUENCE { [1] EXPLICIT OCTET STRING }. */
function certificateNonce(der: Buffer): Buffer | null {
  try {
    const ext = AsnConvert.parse(der, Certificate).tbsCertificate.extensions?.find((e) => e.extnID === NONCE_EXTENSION)
    if (!ext) return null
    const { result, offset } = asn1js.fromBER(ext.extnValue.buffer)
    if (offset === -1 || !(result instanceof asn1js.Sequence)) return null
    const tagged = result.valueBlock.value[0]
    if (!(tagged instanceof asn1js.Constructed) || tagged.idBlock.tagClass !== 3 || tagged.idBlock.tagNumber !== 1) return null
    const inner = tagged.valueBlock.value[0]
    return inner instanceof asn1js.OctetString ? Buffer.from(inner.valueBlock.valueHexView) : null
  } catch {
    return null
  }
}

/** SHA-256 of the key's uncompressed point: how Apple names a key (the key id). */
function keyIdOf(key: KeyObject): Buffer | null {
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') return null
  const { x, y } = key.export({ format: 'jwk' })
  return sha256(Buffer.from([4]), Buffer.from(x!, 'base64url'), Buffer.from(y!, 'base64url'))
}

async function verifyAttestation(keyId: Buffer, object: Buffer, clientDataHash: Buffer, settings: AppAttestSettings, ctx: AppAttestContext): Promise<Verification> {
  const att = decodeCbor(object)
  const stmt = att?.['attStmt'] as Record<string, unknown> | undefined
  const x5c = stmt?.['x5c']
  const authData = att?.['authData']
  if (!att || att['fmt'] !== 'apple-appattest' || !Array.isArray(x5c) || x5c.length < 2 || !x5c.every(isBytes) || !isBytes(authData) || authData.length < 55) {
    return failed('malformed', 'not an apple-appattest attestation object')
  }
  // 1. The chain: credential certificate, intermediate, Apple's root.
  let certs: X509Certificate[]
  try {
    certs = x5c.map((der) => new X509Certificate(der))
  } catch {
    return failed('bad_chain', 'a certificate does not parse')
  }
  const problem = chainProblem(certs, ctx.roots, ctx.now)
  if (problem) return failed('bad_chain', problem)
  const credCert = certs[0]!
  // 2–4. The nonce in the credential certificate is SHA-256(authData ‖ clientDataHash).
  const nonce = certificateNonce(Buffer.from(x5c[0]!))
  if (!nonce || !nonce.equals(sha256(authData, clientDataHash))) return failed('nonce_mismatch', 'the certificate nonce is not this payload\'s')
  // 5. The key id names the certified key.
  const certKeyId = keyIdOf(credCert.publicKey)
  if (!certKeyId || !certKeyId.equals(keyId)) return failed('key_mismatch', 'the key id is not the certified key\'s')
  const data = Buffer.from(authData)
  // 6. The RP ID hash is SHA-256(teamId.bundleId) of an app this site accepts.
  const app = settings.apps.find((a) => a.rpIdHash.equals(data.subarray(0, 32)))
  if (!app) return failed('wrong_app', 'the attestation is for another app')
  // 7. A new key's counter is 0.
  if (data.readUInt32BE(33) !== 0) return failed('bad_counter', 'an attested key starts at counter 0')
  // 8. The AAGUID says App Store/TestFlight (production) or development, as the site expects.
  if (!data.subarray(37, 53).equals(AAGUID[settings.environment])) return failed('wrong_environment', `not a ${settings.environment} attestation`)
  // 9. The credential id is the key id.
  const idLength = data.readUInt16BE(53)
  if (data.length < 55 + idLength || !data.subarray(55, 55 + idLength).equals(keyId)) return failed('key_mismatch', 'the credential id is not the key id')
  const registered = await ctx.keys.register({
    keyId: keyId.toString('base64'),
    appId: app.appId,
    publicKey: credCert.publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
    counter: 0,
    at: ctx.now,
  })
  // Apple attests a key once: the same key again is a replayed attestation.
  if (!registered) return failed('replayed', 'this key was already attested')
  return verified(app.appId)
}

async function verifyAssertion(keyId: Buffer, object: Buffer, clientDataHash: Buffer, settings: AppAttestSettings, ctx: AppAttestContext): Promise<Verification> {
  const assertion = decodeCbor(object)
  const signature = assertion?.['signature']
  const authData = assertion?.['authenticatorData']
  if (!isBytes(signature) || !isBytes(authData) || authData.length < 37) return failed('malformed', 'not an App Attest assertion')
  const key = await ctx.keys.get(keyId.toString('base64'))
  // The attestation never reached this collector (or was refused): nothing to check against.
  if (!key) return unverified('unknown_key', 'no attested key with this id')
  const data = Buffer.from(authData)
  const app = settings.apps.find((a) => a.appId === key.appId)
  if (!app || !app.rpIdHash.equals(data.subarray(0, 32))) return failed('wrong_app', 'the assertion is for another app')
  const publicKey = { key: Buffer.from(key.publicKey, 'base64'), format: 'der', type: 'spki', dsaEncoding: 'der' } as const
  let good: boolean
  try {
    good = verify('sha256', sha256(data, clientDataHash), publicKey, signature)
  } catch {
    good = false
  }
  if (!good) return failed('bad_signature', 'the assertion signature does not verify')
  // The counter only goes up: an assertion seen before (or one older than it) is a replay.
  const counter = data.readUInt32BE(33)
  if (!(await ctx.keys.advance(key.keyId, counter, ctx.now))) return failed('counter_replayed', `counter ${counter} is not above the last one seen`)
  return verified(app.appId)
}

/** Verifies the bridge's App Attest token for this payload's nonce. */
export async function verifyAppAttest(token: string, nonce: string, settings: AppAttestSettings, ctx: AppAttestContext): Promise<Verification> {
  const envelope = parseEnvelope(token)
  if (!envelope) return failed('malformed', 'expected {"keyId", "attestation" | "assertion"}')
  const clientDataHash = sha256(Buffer.from(nonce, 'utf8'))
  return 'attestation' in envelope
    ? verifyAttestation(envelope.keyId, envelope.attestation, clientDataHash, settings, ctx)
    : verifyAssertion(envelope.keyId, envelope.assertion, clientDataHash, settings, ctx)
}

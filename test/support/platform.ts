/**
 * Platform evidence in tests: a stand-in for Google Play (its response keys, signing
 * integrity verdicts as Play does), a Private Access Token issuer (an RSA-PSS key of our
 * own, signing token inputs as the blind signature unblinds to), and a collect that
 * carries evidence and reads back the verdict and the event.
 */
import { constants, createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto'
import { CompactEncrypt, CompactSign } from 'jose'
import type { CollectPayload } from '@vigil-risk/core/protocol/schema'
import { attestationNonce } from '../../collector-server/src/evidence/check'
import { jwksResolver, verifyToken } from '../../verify/src/index'
import type { EvidenceOutcome } from '../../collector-server/src/evidence/outcome'
import type { TestApp } from './app'
import { TestDevice } from './device'

export const TEAM_ID = 'ABCDE12345'
export const BUNDLE_ID = 'com.shop.app'
export const APP_ID = `${TEAM_ID}.${BUNDLE_ID}`
export const PACKAGE = 'com.shop.app'

/** Google Play, as far as an app's integrity verdicts go. */
export class TestPlay {
  readonly decryptionKey = randomBytes(32)
  private readonly signing = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })

  /** What Play Console shows under "Response encryption": what sites.json takes. */
  get keys(): { decryptionKey: string; verificationKey: string } {
    return { decryptionKey: this.decryptionKey.toString('base64'), verificationKey: this.signing.publicKey.export({ type: 'spki', format: 'der' }).toString('base64') }
  }

  /** A good verdict for a classic request with `nonce`, minted at `at`. */
  verdict(nonce: string, at: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      requestDetails: { requestPackageName: PACKAGE, nonce, timestampMillis: String(at) },
      appIntegrity: { appRecognitionVerdict: 'PLAY_RECOGNIZED', packageName: PACKAGE, certificateSha256Digest: ['6a6a1474b5cbbb2b1aa57e0bc3'], versionCode: '42' },
      deviceIntegrity: { deviceRecognitionVerdict: ['MEETS_BASIC_INTEGRITY', 'MEETS_DEVICE_INTEGRITY'] },
      accountDetails: { appLicensingVerdict: 'LICENSED' },
      ...overrides,
    }
  }

  /** The integrity token: the verdict signed (ES256), then encrypted (A256KW, A256GCM). */
  async token(verdict: unknown, keys: { signing?: KeyObject; encryption?: Buffer } = {}): Promise<string> {
    const jws = await new CompactSign(new TextEncoder().encode(JSON.stringify(verdict))).setProtectedHeader({ alg: 'ES256' }).sign(keys.signing ?? this.signing.privateKey)
    return new CompactEncrypt(new TextEncoder().encode(jws)).setProtectedHeader({ alg: 'A256KW', enc: 'A256GCM' }).encrypt(keys.encryption ?? this.decryptionKey)
  }
}

/** A Private Access Token issuer (RFC 9578 type 0x0002) with a key of its own. */
export class TestIssuer {
  /** RSASSA-PSS with SHA-384 (its salt length defaults to the digest's, 48), as RFC 9578 issuers publish. */
  readonly key = generateKeyPairSync('rsa-pss', { modulusLength: 2048, hashAlgorithm: 'sha384', mgf1HashAlgorithm: 'sha384' })
  readonly spki = this.key.publicKey.export({ type: 'spki', format: 'der' })

  constructor(readonly name = 'pat-issuer.test') {}

  get tokenKey(): string {
    return this.spki.toString('base64url')
  }

  /** A token answering `challenge` (the TokenChallenge bytes): token_type ‖ nonce ‖ digest ‖ key id ‖ signature. */
  token(challenge: Uint8Array, o: { signWith?: KeyObject } = {}): Buffer {
    const head = Buffer.alloc(2)
    head.writeUInt16BE(0x0002)
    const input = Buffer.concat([head, randomBytes(32), createHash('sha256').update(challenge).digest(), createHash('sha256').update(this.spki).digest()])
    const authenticator = sign('sha384', input, { key: o.signWith ?? this.key.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 48 })
    return Buffer.concat([input, authenticator])
  }
}

/** The TokenChallenge in a `WWW-Authenticate: PrivateToken challenge="…", token-key="…"` header, for `issuer`. */
export function challengeFrom(header: string, issuerKey: string): Buffer {
  for (const m of header.matchAll(/PrivateToken challenge="([^"]+)", token-key="([^"]+)"/g)) if (m[2] === issuerKey) return Buffer.from(m[1]!, 'base64url')
  throw new Error(`no challenge for that key in ${header}`)
}

export interface EvidenceCollect {
  status: number
  code?: string
  verdict?: string
  score?: number
  reasons: string[]
  attestation?: string
  evidence: EvidenceOutcome[]
  payload: CollectPayload
}

export interface CollectOptions {
  siteKey: string
  secret: string
  device?: TestDevice
  action?: string
  /** The app's answer on the bridge, given the payload's nonce. */
  attest?: (nonce: string) => Promise<{ kind: string; platform: string; token: string; nonce?: string }> | { kind: string; platform: string; token: string; nonce?: string }
  /** Given the challenge: payload.privateToken. */
  privateToken?: (challenge: string) => Promise<string | undefined>
  /** Use this challenge instead of a fresh one. */
  challenge?: string
  overrides?: Partial<CollectPayload>
}

/** One collect with platform evidence, as the SDK in an app's webview would send it; then the verdict and the stored event. */
export async function collectWithEvidence(t: TestApp, o: CollectOptions): Promise<EvidenceCollect> {
  const device = o.device ?? new TestDevice()
  const challenge = o.challenge ?? (await t.challenge(o.siteKey))
  const payload = device.payload(challenge, { siteKey: o.siteKey, action: o.action ?? 'checkout', ...o.overrides })
  const receipt = o.privateToken ? await o.privateToken(challenge) : undefined
  if (receipt !== undefined) payload.privateToken = receipt
  if (o.attest) {
    const nonce = attestationNonce(payload)
    const answer = await o.attest(nonce)
    payload.attestation = { platform: answer.platform, kind: answer.kind, token: answer.token, nonce: answer.nonce ?? nonce }
  }
  const res = await t.app.inject({ method: 'POST', url: '/v1/collect', payload: { payload, sig: device.sign(payload) } })
  if (res.statusCode !== 200) return { status: res.statusCode, code: res.json<{ error: { code: string } }>().error.code, reasons: [], evidence: [], payload }
  const v = await verifyToken(res.json<{ token: string }>().token, { secret: o.secret, siteKey: o.siteKey, jwks: jwksResolver(t.keyring.jwks), now: t.clock.now(), action: null, hostname: null })
  const event = await t.store.events.get(v.jti)
  const detail = (event?.detail ?? {}) as { attestation?: string; evidence?: EvidenceOutcome[] }
  return { status: 200, verdict: v.verdict, score: v.score, reasons: v.reasons, attestation: detail.attestation ?? 'absent', evidence: detail.evidence ?? [], payload }
}

/**
 * A device key in Node, signing payloads exactly as the SDK does: for collector tests,
 * fuzzing and load generation. Uses node:crypto (the SDK uses WebCrypto or tweetnacl).
 */
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto'
import { signingInput, PROTOCOL_VERSION } from '@vigil-risk/core/protocol/payload'
import type { CollectBody, CollectPayload } from '@vigil-risk/core/protocol/schema'
import { deviceIdOf } from '../../collector-server/src/verify/signature'
import { TOKEN_SIGNALS, answerChallenge } from './proof'

export class TestDevice {
  readonly privateKey: KeyObject
  readonly pub: string
  readonly id: string

  constructor() {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519')
    this.privateKey = privateKey
    this.pub = (publicKey.export({ format: 'jwk' }) as { x: string }).x
    this.id = deviceIdOf(this.pub)!
  }

  /**
   * A payload for `challenge`, answered as an honest SDK would (proof of work, probes:
   * support/proof.ts) unless `overrides.proof` says otherwise; by default with only the
   * signals an SDK sends at every getToken.
   */
  payload(challenge: string, overrides: Partial<CollectPayload> = {}): CollectPayload {
    const signals: Record<string, unknown> = overrides.signals ?? TOKEN_SIGNALS
    const zone = (signals['worker'] as { value?: { zone?: unknown } } | undefined)?.value?.zone
    const proof = 'proof' in overrides ? overrides.proof : answerChallenge(challenge, typeof zone === 'string' ? zone : undefined)
    return {
      v: PROTOCOL_VERSION,
      siteKey: 'demo',
      action: 'checkout',
      challenge,
      ts: Date.now(),
      hostname: '127.0.0.1',
      sdk: 'test',
      device: { id: this.id, pub: this.pub, impl: 'webcrypto', persisted: true },
      fp: { visitorId: '0123456789abcdef0123456789abcdef', confidence: 0.6, ms: 40 },
      signals: TOKEN_SIGNALS,
      ...(proof ? { proof } : {}),
      ...overrides,
    }
  }

  /** Signs `message` (by default the payload's canonical signing input). */
  sign(payload: CollectPayload, message: string = signingInput(payload)): string {
    return sign(null, Buffer.from(message, 'utf8'), this.privateKey).toString('base64url')
  }

  body(challenge: string, overrides: Partial<CollectPayload> = {}): CollectBody {
    const payload = this.payload(challenge, overrides)
    return { payload, sig: this.sign(payload) }
  }
}

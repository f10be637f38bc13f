/**
 * Stateless challenges: the collector remembers nothing when it issues one. A
 * challenge is `base64url(body).base64url(HMAC-SHA256(key, context ‖ body))` where body
 * is {"s": siteKey, "n": 128-bit nonce, "e": expiry ms, "d": proof-of-work bits,
 * "k": the device id it was issued for ("" for any), "p": the probes asked for}. The
 * nonce doubles as the probes' seed. Any instance sharing the data directory can check
 * it; the nonce store makes it single use.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'
import { CHALLENGE_TTL_MS } from '@vigil-risk/core/protocol/payload'
import { fromBase64url } from '@vigil-risk/core/protocol/base64url'
import { PROBE_NAMES, PROBE_SEED_BYTES, type ProbeName } from '@vigil-risk/core/protocol/probes'
import { POW_MAX_BITS } from '@vigil-risk/core/protocol/pow'
import { randomPooled } from '../tokens/seal'

const CONTEXT = 'vigil/challenge/v2\n'

export interface Challenge {
  siteKey: string
  /** Single-use id, and the probes' seed (base64url). */
  nonce: string
  expiresAt: number
  /** Proof-of-work bits the collect must show (0: none). */
  difficulty: number
  /** The device the challenge was issued for, or null for any. */
  deviceId: string | null
  probes: ProbeName[]
}

export type ChallengeTerms = Pick<Challenge, 'difficulty' | 'deviceId' | 'probes'>

function mac(key: Buffer, body: string): Buffer {
  return createHmac('sha256', key).update(CONTEXT).update(body).digest()
}

export function mintChallenge(key: Buffer, siteKey: string, now: number, terms: ChallengeTerms): { challenge: string } & Challenge {
  const nonce = randomPooled(PROBE_SEED_BYTES).toString('base64url')
  const expiresAt = now + CHALLENGE_TTL_MS
  const body = Buffer.from(JSON.stringify({ s: siteKey, n: nonce, e: expiresAt, d: terms.difficulty, k: terms.deviceId ?? '', p: terms.probes })).toString('base64url')
  return { challenge: `${body}.${mac(key, body).toString('base64url')}`, siteKey, nonce, expiresAt, ...terms }
}

const isProbe = (p: unknown): p is ProbeName => (PROBE_NAMES as readonly unknown[]).includes(p)

/** Returns the challenge if this collector made it, else null. Expiry is the caller's check. */
export function openChallenge(key: Buffer, challenge: string): Challenge | null {
  const dot = challenge.indexOf('.')
  if (dot <= 0 || challenge.length > 512) return null
  const body = challenge.slice(0, dot)
  const tag = fromBase64url(challenge.slice(dot + 1))
  if (!tag || tag.length !== 32 || !timingSafeEqual(tag, mac(key, body))) return null
  const bytes = fromBase64url(body)
  if (!bytes) return null
  try {
    const { s, n, e, d, k, p } = JSON.parse(Buffer.from(bytes).toString('utf8')) as Record<string, unknown>
    if (typeof s !== 'string' || typeof n !== 'string' || typeof e !== 'number' || typeof k !== 'string') return null
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0 || d > POW_MAX_BITS || !Array.isArray(p) || !p.every(isProbe)) return null
    return { siteKey: s, nonce: n, expiresAt: e, difficulty: d, deviceId: k === '' ? null : k, probes: p }
  } catch {
    return null
  }
}

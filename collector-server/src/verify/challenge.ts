/**
 * Stateless challenges: the collector remembers nothing when it issues one. A
 * challenge is `base64url(body).base64url(HMAC-SHA256(key, context ‖ body))` where
 * body is {"s": siteKey, "n": 128-bit nonce, "e": expiry ms}. Any instance sharing
 * the data directory can check it; the nonce store makes it single use.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'
import { CHALLENGE_TTL_MS } from '@vigil-risk/core/protocol/payload'
import { fromBase64url } from '@vigil-risk/core/protocol/base64url'
import { randomPooled } from '../tokens/seal'

const CONTEXT = 'vigil/challenge/v1\n'

export interface Challenge {
  siteKey: string
  nonce: string
  expiresAt: number
}

function mac(key: Buffer, body: string): Buffer {
  return createHmac('sha256', key).update(CONTEXT).update(body).digest()
}

export function mintChallenge(key: Buffer, siteKey: string, now: number): { challenge: string; expiresAt: number; nonce: string } {
  const nonce = randomPooled(16).toString('base64url')
  const expiresAt = now + CHALLENGE_TTL_MS
  const body = Buffer.from(JSON.stringify({ s: siteKey, n: nonce, e: expiresAt })).toString('base64url')
  return { challenge: `${body}.${mac(key, body).toString('base64url')}`, expiresAt, nonce }
}

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
    const { s, n, e } = JSON.parse(Buffer.from(bytes).toString('utf8')) as Record<string, unknown>
    if (typeof s !== 'string' || typeof n !== 'string' || typeof e !== 'number') return null
    return { siteKey: s, nonce: n, expiresAt: e }
  } catch {
    return null
  }
}

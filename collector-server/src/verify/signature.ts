/**
 * Device signature verification with node:crypto (≈70× tweetnacl's pure-JS verify).
 * Public keys are imported as JWK (cheap) and cached: devices come back.
 */
import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto'
import { deviceIdFromDigest, deviceIdInput } from '../../../sdk/src/protocol/payload'
import { fromB64u } from '../../../verify/src/jose'

const CACHE_LIMIT = 10_000
const keyCache = new Map<string, KeyObject>()

/** Null when `pub` is not a valid Ed25519 public key. */
export function importDeviceKey(pub: string): KeyObject | null {
  let key = keyCache.get(pub)
  if (key) return key
  const raw = fromB64u(pub)
  if (!raw || raw.length !== 32) return null
  try {
    key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: pub }, format: 'jwk' })
  } catch {
    return null
  }
  if (keyCache.size >= CACHE_LIMIT) keyCache.delete(keyCache.keys().next().value as string)
  keyCache.set(pub, key)
  return key
}

export function verifyDeviceSignature(key: KeyObject, message: string, sig: string): boolean {
  const signature = fromB64u(sig)
  if (!signature || signature.length !== 64) return false
  return verify(null, Buffer.from(message, 'utf8'), key, signature)
}

/** The device id a public key owns (see protocol/payload.ts). */
export function deviceIdOf(pub: string): string | null {
  const raw = fromB64u(pub)
  if (!raw || raw.length !== 32) return null
  return deviceIdFromDigest(createHash('sha512').update(deviceIdInput(raw)).digest())
}

/**
 * Device signature verification with node:crypto (≈70× tweetnacl's pure-JS verify).
 * Public keys are imported as JWK (cheap) and cached: devices come back.
 */
import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto'
import { deviceIdFromDigest, deviceIdInput } from '@vigil-risk/core/protocol/payload'
import { fromBase64url } from '@vigil-risk/core/protocol/base64url'

const CACHE_LIMIT = 10_000
/** A device's public key, imported, and the device id it owns. */
export interface DeviceKey {
  key: KeyObject
  deviceId: string
}
const keyCache = new Map<string, DeviceKey>()

/**
 * The encodings of Ed25519's points of small order, sign bit cleared (libsodium's list,
 * two of them non-canonical: p and p + 1). Under such a "public key" R = identity, s = 0
 * verifies for every message, and node:crypto (OpenSSL) does not refuse them: a device
 * key whose signatures anybody can make. No device generates one; refuse them as keys.
 */
const SMALL_ORDER = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
].map((hex) => Buffer.from(hex, 'hex'))

function hasSmallOrder(raw: Uint8Array): boolean {
  const unsigned = Buffer.from(raw)
  unsigned[31]! &= 0x7f
  return SMALL_ORDER.some((point) => point.equals(unsigned))
}

/** Null when `pub` is not a valid Ed25519 public key (or is one of small order). Cached: devices come back. */
export function importDeviceKey(pub: string): DeviceKey | null {
  const cached = keyCache.get(pub)
  if (cached) return cached
  const raw = fromBase64url(pub)
  if (!raw || raw.length !== 32 || hasSmallOrder(raw)) return null
  let imported: DeviceKey
  try {
    imported = { key: createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: pub }, format: 'jwk' }), deviceId: deviceIdOfRaw(raw) }
  } catch {
    return null
  }
  if (keyCache.size >= CACHE_LIMIT) keyCache.delete(keyCache.keys().next().value as string)
  keyCache.set(pub, imported)
  return imported
}

export function verifyDeviceSignature(key: KeyObject, message: string, sig: string): boolean {
  const signature = fromBase64url(sig)
  if (!signature || signature.length !== 64) return false
  return verify(null, Buffer.from(message, 'utf8'), key, signature)
}

/** The device id a public key owns (see protocol/payload.ts). */
export function deviceIdOf(pub: string): string | null {
  const raw = fromBase64url(pub)
  if (!raw || raw.length !== 32) return null
  return deviceIdOfRaw(raw)
}

function deviceIdOfRaw(raw: Uint8Array): string {
  return deviceIdFromDigest(createHash('sha512').update(deviceIdInput(raw)).digest())
}

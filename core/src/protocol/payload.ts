/**
 * The collect protocol, version 1: its constants, and how the SDK signs what the
 * collector verifies. The message shapes are schema.ts. DOM-free and Node-free: both
 * sides (and the tests) import this one definition.
 */
import { canonicalize } from './canonical'
import { base64urlLength, toBase64url } from './base64url'

export const PROTOCOL_VERSION = 1

/** Prepended to the canonical payload before signing: a signature over anything else is useless here. */
export const COLLECT_SIGNING_CONTEXT = 'vigil/collect/v1\n'

/** deviceId = base64url(SHA-512(DEVICE_ID_CONTEXT ‖ raw public key)[0..16]). */
export const DEVICE_ID_CONTEXT = 'vigil/device/v1'
export const DEVICE_ID_BYTES = 16
export const DEVICE_ID_LENGTH = base64urlLength(DEVICE_ID_BYTES)
/** Ed25519 public keys and signatures, base64url. */
export const PUBLIC_KEY_LENGTH = base64urlLength(32)
export const SIGNATURE_LENGTH = base64urlLength(64)

/** Actions name what the user is doing ("checkout", "login", "coupon/claim"). */
export const ACTION_PATTERN = /^[A-Za-z0-9_./:-]{1,64}$/
export const SITE_KEY_PATTERN = /^[A-Za-z0-9_-]{1,64}$/

/**
 * Accounts never leave the page in the clear: the SDK sends
 * account = base64url(SHA-512(ACCOUNT_CONTEXT ‖ salt ‖ "\n" ‖ normalised account)[0..16]),
 * with the site's salt from the challenge. Same account, same site → same hash; the hash
 * means nothing on another site. Normalised: NFKC, trimmed, lower-cased.
 */
export const ACCOUNT_CONTEXT = 'vigil/account/v1\n'
export const ACCOUNT_HASH_BYTES = 16
export const ACCOUNT_HASH_PATTERN = new RegExp(`^[A-Za-z0-9_-]{${base64urlLength(ACCOUNT_HASH_BYTES)}}$`)

export function normaliseAccount(account: string): string {
  return account.normalize('NFKC').trim().toLowerCase()
}

/** UTF-8 bytes to hash for an account (the hash is the platform's SHA-512). */
export function accountHashInput(salt: string, account: string): Uint8Array {
  return utf8(ACCOUNT_CONTEXT + salt + '\n' + normaliseAccount(account))
}

function utf8(text: string): Uint8Array {
  const out: number[] = []
  for (const ch of text) {
    const c = ch.codePointAt(0)!
    if (c < 0x80) out.push(c)
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63))
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63))
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63))
  }
  return new Uint8Array(out)
}

/** A challenge is good for this long after it was minted: the freshness window. */
export const CHALLENGE_TTL_MS = 120_000
/** The largest collect body the collector reads. */
export const MAX_COLLECT_BYTES = 96 * 1024
/** How many recorded events a payload carries (the most recent ones). */
export const TRACE_EVENTS_PER_PAYLOAD = 600
/** The most events a trace column may hold on the wire. */
export const MAX_TRACE_EVENTS = 4096

/** The exact text whose UTF-8 bytes are signed (`payload` is a CollectPayload, schema.ts). */
export function signingInput(payload: object): string {
  return COLLECT_SIGNING_CONTEXT + canonicalize(payload)
}

/** The bytes to hash for a device id; the hash itself is the platform's SHA-512. */
export function deviceIdInput(publicKey: Uint8Array): Uint8Array {
  const out = new Uint8Array(DEVICE_ID_CONTEXT.length + publicKey.length)
  for (let i = 0; i < DEVICE_ID_CONTEXT.length; i++) out[i] = DEVICE_ID_CONTEXT.charCodeAt(i)
  out.set(publicKey, DEVICE_ID_CONTEXT.length)
  return out
}

export function deviceIdFromDigest(sha512: Uint8Array): string {
  return toBase64url(sha512.subarray(0, DEVICE_ID_BYTES))
}

/** An account hash from the SHA-512 of accountHashInput (the same truncation as device ids). */
export function accountHashFromDigest(sha512: Uint8Array): string {
  return toBase64url(sha512.subarray(0, ACCOUNT_HASH_BYTES))
}

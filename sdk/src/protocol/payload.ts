/**
 * The collect protocol, version 1: what the SDK signs and the collector verifies.
 * DOM-free and Node-free: both sides (and the tests) import this one definition.
 */
import { canonicalize } from './canonical'
import { toBase64url } from './base64url'
import type { CompactTrace } from './trace'
import type { AttestationClaim } from './attestation'

export const PROTOCOL_VERSION = 1

/** Prepended to the canonical payload before signing: a signature over anything else is useless here. */
export const COLLECT_SIGNING_CONTEXT = 'vigil/collect/v1\n'

/** deviceId = base64url(SHA-512(DEVICE_ID_CONTEXT ‖ raw public key)[0..16]). */
export const DEVICE_ID_CONTEXT = 'vigil/device/v1'
export const DEVICE_ID_BYTES = 16

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
export const ACCOUNT_HASH_PATTERN = /^[A-Za-z0-9_-]{22}$/

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
/** Verdict tokens never live longer than this (seconds), whatever the collector is told. */
export const TOKEN_MAX_TTL_S = 300
/** The largest collect body the collector reads. */
export const MAX_COLLECT_BYTES = 96 * 1024
/** How many recorded events a payload carries (the most recent ones). */
export const TRACE_EVENTS_PER_PAYLOAD = 600

export type KeyImpl = 'webcrypto' | 'tweetnacl'

export interface DeviceClaim {
  /** Derived from the first public key; stable for as long as the key is kept. */
  id: string
  /** Raw Ed25519 public key, base64url. */
  pub: string
  /** Where the private key lives: a non-extractable WebCrypto key, or tweetnacl in script memory. */
  impl: KeyImpl
  /** Whether the key survives a reload (IndexedDB or storage was available). */
  persisted: boolean
}

export interface FingerprintClaim {
  visitorId: string
  confidence: number
  /** How long the fingerprint took to collect, ms. */
  ms: number
}

export interface CollectPayload {
  v: typeof PROTOCOL_VERSION
  siteKey: string
  action: string
  /** The challenge string exactly as the collector issued it. */
  challenge: string
  /** Client clock, epoch ms: informational (clocks are wrong); freshness comes from the challenge. */
  ts: number
  /** location.hostname: never a path, never a query string. */
  hostname: string
  /** SDK version. */
  sdk: string
  device: DeviceClaim
  fp: FingerprintClaim | null
  /** Named signals (sdk/src/signals), judged by the collector's detectors; unknown names are ignored. */
  signals: Record<string, unknown>
  /** The salted hash of the page's account identifier, when getToken was given one. */
  account?: string
  /** What the behaviour recorder holds when the token is requested. */
  behavior?: BehaviorClaim
  /** A native app's platform attestation, bound to this payload. */
  attestation?: AttestationClaim
}

export interface BehaviorClaim {
  trace: CompactTrace
  summary: Record<string, unknown>
  /** The on-device classifier's score of `trace`: a hint, re-scored by the collector. */
  client?: { score: number | null; model: string; ms: number }
}

export interface CollectBody {
  payload: CollectPayload
  /** Ed25519 signature over signingInput(payload), base64url. */
  sig: string
}

/** The exact text whose UTF-8 bytes are signed. */
export function signingInput(payload: CollectPayload): string {
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

/**
 * Opening Vigil tokens with WebCrypto alone (globalThis.crypto.subtle: Node 20+, Deno, Bun,
 * Cloudflare Workers and other edge runtimes, browsers): JWS (EdDSA / Ed25519) nested in JWE
 * (dir, A256GCM). The format is core/src/protocol/token.ts; docs/tokens.md describes it.
 * No Buffer, no node:crypto.
 */
import { fromBase64url } from '@vigil-risk/core/protocol/base64url'
import { SEAL_KDF_SALT } from '@vigil-risk/core/protocol/token'

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

/** WebCrypto's types as the runtime's own library declares them (DOM, WebWorker or @types/node). */
type Subtle = typeof globalThis.crypto.subtle
export type WebKey = Awaited<ReturnType<Subtle['importKey']>>

/** WebCrypto, or a clear error where the runtime has none. */
export function subtle(): Subtle {
  const s = (globalThis as { crypto?: { subtle?: Subtle } }).crypto?.subtle
  if (!s) throw new Error('vigil verify needs WebCrypto (globalThis.crypto.subtle): Node 20+, Deno, Bun, Cloudflare Workers, browsers')
  return s
}

/** Bytes WebCrypto takes (BufferSource): backed by an ArrayBuffer, as every array made here is. */
type Bytes = Uint8Array<ArrayBuffer>

/** Strict base64url: null for anything that is not canonical unpadded base64url. */
export const fromB64u = (text: string): Bytes | null => (typeof text === 'string' ? (fromBase64url(text) as Bytes | null) : null)

export const ascii = (text: string): Bytes => encoder.encode(text)

export function parseJsonSegment(segment: string): Record<string, unknown> | null {
  const bytes = fromB64u(segment)
  if (!bytes) return null
  try {
    const value: unknown = JSON.parse(decoder.decode(bytes))
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null
  } catch {
    return null
  }
}

/** K = HKDF-SHA256(IKM = UTF-8(secret), salt = "vigil/token-seal/v1", info = UTF-8(siteKey), L = 32). */
export async function deriveSealKey(secret: string, siteKey: string): Promise<Bytes> {
  const ikm = await subtle().importKey('raw', encoder.encode(secret), 'HKDF', false, ['deriveBits'])
  const bits = await subtle().deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: encoder.encode(SEAL_KDF_SALT), info: encoder.encode(siteKey) }, ikm, 256)
  return new Uint8Array(bits)
}

/** The AES-256-GCM key a seal key's bytes make, for opening seals. */
export const importSealKey = (key: Bytes): Promise<WebKey> => subtle().importKey('raw', key, 'AES-GCM', false, ['decrypt'])

export interface ParsedJwe {
  header: Record<string, unknown>
  protectedHeader: string
  iv: Bytes
  ciphertext: Bytes
  tag: Bytes
}

/** Splits a JWE without decrypting it; null when it is not one. */
export function parseJwe(token: string): ParsedJwe | null {
  const parts = token.split('.')
  if (parts.length !== 5) return null
  const [protectedHeader, encryptedKey, ivText, ciphertextText, tagText] = parts as [string, string, string, string, string]
  const header = parseJsonSegment(protectedHeader)
  const iv = fromB64u(ivText)
  const ciphertext = fromB64u(ciphertextText)
  const tag = fromB64u(tagText)
  // A256GCM: a 96-bit IV and a 128-bit tag. Other lengths are a cut or garbled token, not a
  // seal that failed to open (bad_seal would send the site looking for a wrong secret).
  if (!header || encryptedKey !== '' || !iv || !ciphertext || !tag || iv.length !== 12 || tag.length !== 16) return null
  return { header, protectedHeader, iv, ciphertext, tag }
}

/** Returns the plaintext, or null when the key is wrong or anything was altered. */
export async function openJwe(jwe: ParsedJwe, key: WebKey): Promise<string | null> {
  if (jwe.iv.length !== 12 || jwe.tag.length !== 16) return null
  const sealed = new Uint8Array(jwe.ciphertext.length + 16)
  sealed.set(jwe.ciphertext)
  sealed.set(jwe.tag, jwe.ciphertext.length)
  try {
    const plain = await subtle().decrypt({ name: 'AES-GCM', iv: jwe.iv, additionalData: ascii(jwe.protectedHeader), tagLength: 128 }, key, sealed)
    return decoder.decode(plain)
  } catch {
    return null
  }
}

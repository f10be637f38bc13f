/**
 * Opening Vigil tokens on node:crypto alone: JWS (EdDSA / Ed25519) nested in JWE (dir,
 * A256GCM). The format is core/src/protocol/token.ts; docs/tokens.md describes it.
 */
import { createDecipheriv, hkdfSync } from 'node:crypto'
import { SEAL_KDF_SALT } from '@vigil-risk/core/protocol/token'

const B64U = /^[A-Za-z0-9_-]*$/
/** Strict decode: Buffer.from(…, 'base64url') silently skips junk, which we do not want. */
export function fromB64u(text: string): Buffer | null {
  if (!B64U.test(text) || text.length % 4 === 1) return null
  const bytes = Buffer.from(text, 'base64url')
  return bytes.toString('base64url') === text ? bytes : null
}

export function parseJsonSegment(segment: string): Record<string, unknown> | null {
  const bytes = fromB64u(segment)
  if (!bytes) return null
  try {
    const value: unknown = JSON.parse(bytes.toString('utf8'))
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null
  } catch {
    return null
  }
}

/** K = HKDF-SHA256(IKM = UTF-8(secret), salt = "vigil/token-seal/v1", info = UTF-8(siteKey), L = 32). */
export function deriveSealKey(secret: string, siteKey: string): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(secret, 'utf8'), SEAL_KDF_SALT, Buffer.from(siteKey, 'utf8'), 32))
}

export interface ParsedJwe {
  header: Record<string, unknown>
  protectedHeader: string
  iv: Buffer
  ciphertext: Buffer
  tag: Buffer
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
export function openJwe(jwe: ParsedJwe, key: Uint8Array): string | null {
  if (jwe.iv.length !== 12 || jwe.tag.length !== 16) return null
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, jwe.iv, { authTagLength: 16 })
    decipher.setAAD(Buffer.from(jwe.protectedHeader, 'ascii'))
    decipher.setAuthTag(jwe.tag)
    return Buffer.concat([decipher.update(jwe.ciphertext), decipher.final()]).toString('utf8')
  } catch {
    return null
  }
}

/**
 * The issuing half of the token format (core/src/protocol/token.ts), on node:crypto:
 * the seal key, the JWE seal and the random bytes for token ids and IVs. Opening lives in
 * vigil/verify (on WebCrypto: it runs on edge runtimes too).
 */
import { createCipheriv, hkdfSync, randomBytes } from 'node:crypto'
import { SEAL_ALG, SEAL_ENC, SEAL_KDF_SALT, type JweHeader } from '@vigil-risk/core/protocol/token'

/** K = HKDF-SHA256(IKM = UTF-8(secret), salt = "vigil/token-seal/v1", info = UTF-8(siteKey), L = 32): vigil/verify derives the same. */
export function deriveSealKey(secret: string, siteKey: string): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(secret, 'utf8'), SEAL_KDF_SALT, Buffer.from(siteKey, 'utf8'), 32))
}

export const b64u = (data: Uint8Array | string): string => Buffer.from(data).toString('base64url')

/**
 * Random bytes from a pool refilled 4 KiB at a time: one getrandom call serves hundreds
 * of token ids and IVs (a call per value showed as 4% of the collector's CPU).
 */
const POOL_SIZE = 4096
let pool = Buffer.alloc(0)
let poolOffset = 0
export function randomPooled(n: number): Buffer {
  if (poolOffset + n > pool.length) {
    pool = randomBytes(POOL_SIZE)
    poolOffset = 0
  }
  const out = Buffer.from(pool.subarray(poolOffset, poolOffset + n))
  poolOffset += n
  return out
}

/** JWE compact serialisation with direct key agreement: header..iv.ciphertext.tag */
export function sealCompact(plaintext: string, key: Uint8Array, siteKey: string): string {
  const header: JweHeader = { alg: SEAL_ALG, enc: SEAL_ENC, cty: 'JWT', kid: siteKey }
  const protectedHeader = b64u(JSON.stringify(header))
  const iv = randomPooled(12)
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  cipher.setAAD(Buffer.from(protectedHeader, 'ascii'))
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
  return `${protectedHeader}..${b64u(iv)}.${b64u(ciphertext)}.${b64u(cipher.getAuthTag())}`
}

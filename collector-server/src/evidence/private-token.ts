/**
 * Private Access Tokens: RFC 9577 (the `PrivateToken` HTTP authentication scheme) with
 * RFC 9578's issuance protocol 2, token type 0x0002, publicly verifiable (blind RSA,
 * 2048-bit, SHA-384, PSS). An issuer (Cloudflare's, Fastly's) signs a token for a device
 * its attester (Apple's, on Safari) vouched for, without learning which site it is for;
 * the token says "a real device", never which one.
 *
 * The collector challenges with a TokenChallenge whose redemption context is bound to its
 * own challenge: SHA-256("vigil/private-token/v1\n" ‖ the collector challenge). It checks
 * a presented token's challenge digest, token key id and RSA-PSS signature over the token
 * input, and answers with a receipt (an HMAC under the challenge key) that the SDK puts in
 * the next collect: routes/private-token.ts, docs/webview.md.
 */
import { createHash, createHmac, createPublicKey, constants, timingSafeEqual, verify, type KeyObject } from 'node:crypto'
import { fromBase64url } from '@vigil-risk/core/protocol/base64url'
import { privateTokenContextInput } from '@vigil-risk/core/protocol/private-token'
import { failed, unverified, verified, type Verification } from './outcome'

const TOKEN_TYPE = 0x0002
/** Nk: the authenticator is one RSA-2048 signature. */
const NK = 256
const TOKEN_LENGTH = 2 + 32 + 32 + 32 + NK
const RECEIPT_CONTEXT = 'vigil/private-token-receipt/v1\n'

/** sites.json: `attestation.privateTokens`. */
export interface PrivateTokenConfig {
  /** Issuers whose tokens the site accepts, each with its token keys (current first). */
  issuers: Array<{
    /** The issuer's name, as clients fetch tokens from it: `demo-pat.issuer.cloudflare.com`. */
    name: string
    /** base64url SubjectPublicKeyInfo, as the issuer's directory publishes them (`token-keys`). */
    tokenKeys: string[]
  }>
  /** Origins the tokens are for (TokenChallenge origin_info); empty (the default): any. */
  originInfo?: string
}

export interface IssuerKey {
  issuer: string
  key: KeyObject
  /** The key as published: its SHA-256 is the token key id. */
  spki: Buffer
  keyId: Buffer
}

export interface PrivateTokenSettings {
  issuers: ReadonlyArray<{ name: string; keys: readonly IssuerKey[] }>
  originInfo: string
}

const sha256 = (...parts: Array<Uint8Array | string>): Buffer => {
  const h = createHash('sha256')
  for (const p of parts) h.update(p)
  return h.digest()
}

/** Imports a published token key: RSA (PSS or plain rsaEncryption SPKI), 2048 bits. */
export function importTokenKey(issuer: string, spki: Uint8Array): IssuerKey {
  const key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' })
  if ((key.asymmetricKeyType !== 'rsa-pss' && key.asymmetricKeyType !== 'rsa') || key.asymmetricKeyDetails?.modulusLength !== NK * 8) {
    throw new Error('not an RSA-2048 key')
  }
  return { issuer, key, spki: Buffer.from(spki), keyId: sha256(spki) }
}

export function privateTokenSettings(config: PrivateTokenConfig, where: string): PrivateTokenSettings {
  if (typeof config !== 'object' || config === null || !Array.isArray(config.issuers) || config.issuers.length === 0) {
    throw new Error(`${where}.issuers must list at least one issuer`)
  }
  const originInfo = config.originInfo ?? ''
  if (typeof originInfo !== 'string' || originInfo.length > 1024) throw new Error(`${where}.originInfo must be a string`)
  const issuers = config.issuers.map((issuer, i) => {
    if (typeof issuer?.name !== 'string' || !/^[a-z0-9.-]{1,128}$/i.test(issuer.name)) throw new Error(`${where}.issuers[${i}].name must be the issuer's host name`)
    if (!Array.isArray(issuer.tokenKeys) || issuer.tokenKeys.length === 0) throw new Error(`${where}.issuers[${i}].tokenKeys must list its keys`)
    const keys = issuer.tokenKeys.map((text, k) => {
      const der = typeof text === 'string' ? fromBase64url(text.replace(/=+$/, '')) : null
      try {
        if (!der) throw new Error('not base64url')
        return importTokenKey(issuer.name, der)
      } catch (err) {
        throw new Error(`${where}.issuers[${i}].tokenKeys[${k}]: ${(err as Error).message}`, { cause: err })
      }
    })
    return { name: issuer.name, keys }
  })
  return { issuers, originInfo }
}

/** The redemption context binding a token to one collector challenge. */
export const redemptionContext = (challenge: string): Buffer => sha256(privateTokenContextInput(challenge))

/** RFC 9577 §2.1: token_type, issuer_name, redemption_context, origin_info, length-prefixed. */
export function tokenChallenge(issuerName: string, context: Uint8Array, originInfo: string): Buffer {
  const issuer = Buffer.from(issuerName, 'utf8')
  const origin = Buffer.from(originInfo, 'utf8')
  const out = Buffer.alloc(2 + 2 + issuer.length + 1 + context.length + 2 + origin.length)
  let at = out.writeUInt16BE(TOKEN_TYPE, 0)
  at = out.writeUInt16BE(issuer.length, at)
  at += issuer.copy(out, at)
  at = out.writeUInt8(context.length, at)
  at += Buffer.from(context).copy(out, at)
  at = out.writeUInt16BE(origin.length, at)
  origin.copy(out, at)
  return out
}

/** The WWW-Authenticate value: one challenge per issuer, with its current key. */
export function challengeHeader(settings: PrivateTokenSettings, context: Uint8Array): string {
  return settings.issuers
    .map((issuer) => `PrivateToken challenge="${tokenChallenge(issuer.name, context, settings.originInfo).toString('base64url')}", token-key="${issuer.keys[0]!.spki.toString('base64url')}"`)
    .join(', ')
}

/** The token from `Authorization: PrivateToken token="…"`, or null. */
export function tokenFromAuthorization(header: string | undefined): Buffer | null {
  const m = /^PrivateToken\s+token="?([A-Za-z0-9_\-+/]+=*)"?\s*$/i.exec(header ?? '')
  return m ? Buffer.from(m[1]!.replace(/\+/g, '-').replace(/\//g, '_'), 'base64url') : null
}

export interface Token {
  nonce: Buffer
  challengeDigest: Buffer
  keyId: Buffer
  authenticator: Buffer
  /** token_type ‖ nonce ‖ challenge_digest ‖ token_key_id: what the issuer signed. */
  input: Buffer
}

export function parseToken(bytes: Uint8Array): Token | null {
  const b = Buffer.from(bytes)
  if (b.length !== TOKEN_LENGTH || b.readUInt16BE(0) !== TOKEN_TYPE) return null
  return { nonce: b.subarray(2, 34), challengeDigest: b.subarray(34, 66), keyId: b.subarray(66, 98), authenticator: b.subarray(98), input: b.subarray(0, 98) }
}

/** RFC 9578 §6.4: the challenge digest, the token key id, then RSASSA-PSS (SHA-384, salt 48) over the token input. */
export function verifyToken(token: Token, challenge: Uint8Array, key: IssuerKey): Verification {
  if (!token.challengeDigest.equals(sha256(challenge))) return failed('wrong_challenge', 'the token answers another challenge')
  if (!token.keyId.equals(key.keyId)) return failed('key_mismatch', 'the token names another key')
  let good: boolean
  try {
    good = verify('sha384', token.input, { key: key.key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 48 }, token.authenticator)
  } catch {
    good = false
  }
  return good ? verified(key.issuer) : failed('bad_signature', 'the issuer signature does not verify')
}

/** Checks a presented token against the challenge the collector issued for `context`. */
export function verifyPrivateToken(bytes: Uint8Array, context: Uint8Array, settings: PrivateTokenSettings): Verification {
  const token = parseToken(bytes)
  if (!token) return failed('malformed', `not a type 0x0002 token of ${TOKEN_LENGTH} bytes`)
  for (const issuer of settings.issuers) {
    const key = issuer.keys.find((k) => k.keyId.equals(token.keyId))
    if (key) return verifyToken(token, tokenChallenge(issuer.name, context, settings.originInfo), key)
  }
  // Most likely an issuer rotated keys and sites.json has not caught up: not the device's doing.
  return unverified('unknown_key', 'no configured issuer has this token key')
}

interface ReceiptBody {
  c: string
  s: Verification['status']
  r?: string
  b?: string
}

const mac = (key: Buffer, body: string): Buffer => createHmac('sha256', key).update(RECEIPT_CONTEXT).update(body).digest()

/** What the SDK carries into the next collect: the outcome, bound to the challenge, MACed. */
export function sealReceipt(key: Buffer, context: Uint8Array, outcome: Verification): string {
  const body: ReceiptBody = { c: Buffer.from(context).toString('base64url'), s: outcome.status, ...(outcome.reason ? { r: outcome.reason } : {}), ...(outcome.by ? { b: outcome.by } : {}) }
  const encoded = Buffer.from(JSON.stringify(body)).toString('base64url')
  return `${encoded}.${mac(key, encoded).toString('base64url')}`
}

/** The outcome a receipt records, if this collector made it for this challenge. */
export function openReceipt(key: Buffer, receipt: string, challenge: string): Verification {
  const [encoded, tag, extra] = receipt.split('.')
  const expected = encoded ? mac(key, encoded) : null
  const given = tag ? fromBase64url(tag) : null
  if (extra !== undefined || !expected || !given || given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return failed('bad_receipt', 'the receipt is not one this collector made')
  }
  const body = JSON.parse(Buffer.from(encoded!, 'base64url').toString('utf8')) as ReceiptBody
  if (body.c !== redemptionContext(challenge).toString('base64url')) return failed('wrong_challenge', 'the receipt is for another challenge')
  return { status: body.s, ...(body.r ? { reason: body.r } : {}), ...(body.b ? { by: body.b } : {}) }
}

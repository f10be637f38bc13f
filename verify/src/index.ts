/**
 * vigil/verify — verify a Vigil verdict token on your backend, offline, with no
 * dependencies: WebCrypto only (globalThis.crypto.subtle), so it runs on Node 20+, Deno, Bun,
 * Cloudflare Workers and other edge runtimes alike.
 *
 *   import { verifyToken, remoteJwks } from 'vigil/verify'
 *   const jwks = remoteJwks('https://collector.example/.well-known/jwks.json')
 *   const v = await verifyToken(token, { secret, siteKey: 'shop', jwks, action: 'checkout', hostname: 'shop.example' })
 *   if (v.verdict === 'deny') …
 *
 * Checks, in order: the seal (AES-256-GCM under the site's key), the signature
 * (alg pinned to EdDSA, key by kid), lifetime (exp ≤ 300 s after iat), expiry,
 * audience, action and hostname (both required: pass null to accept any), and the
 * account when you name one. Offline verification cannot know whether a token
 * was already used: redeem it through POST /v1/siteverify where single use matters.
 */
import { accountHashFromDigest, accountHashInput } from '@vigil-risk/core/protocol/payload'
import { sha512 } from '@vigil-risk/core/protocol/sha512'
import { SIGN_ALG, SEAL_ALG, SEAL_ENC, TOKEN_MAX_TTL_S, type Verdict } from '@vigil-risk/core/protocol/token'
import { ascii, deriveSealKey, fromB64u, importSealKey, openJwe, parseJsonSegment, parseJwe, subtle, type WebKey } from './jose'

export { deriveSealKey } from './jose'
export { SEAL_KDF_SALT, type Verdict } from '@vigil-risk/core/protocol/token'

/** Tokens that claim to live longer than this are refused, whoever signed them. */
export const MAX_TOKEN_LIFETIME_S = TOKEN_MAX_TTL_S

export type TokenErrorCode =
  | 'malformed'
  | 'bad_seal'
  | 'unsupported_alg'
  | 'unknown_kid'
  | 'bad_signature'
  | 'expired'
  | 'not_yet_valid'
  | 'lifetime_too_long'
  | 'wrong_audience'
  | 'wrong_action'
  | 'wrong_hostname'
  | 'wrong_issuer'
  | 'wrong_account'
  | 'test_token'

export class TokenVerificationError extends Error {
  override readonly name = 'TokenVerificationError'
  constructor(readonly code: TokenErrorCode, message: string) {
    super(message)
  }
}

export interface Jwk {
  kty: string
  crv?: string
  x?: string
  kid?: string
  alg?: string
  use?: string
}

export interface Jwks {
  keys: Jwk[]
}

/**
 * A WebCrypto Ed25519 public key (a CryptoKey), described here so that the declarations need
 * no DOM or Node type library.
 */
export interface VerificationKey {
  readonly type: string
  readonly algorithm: { readonly name: string }
}

/** Finds the public key for a kid; may fetch. */
export type KeyResolver = (kid: string) => Promise<VerificationKey | undefined> | VerificationKey | undefined

export interface VerifyOptions {
  /**
   * The site's seal secret (`secrets.seal` in sites.json; the shorthand `secret` where there is
   * only one): derives the key that opens the seal. During a rotation, pass both, newest first.
   */
  secret: string | readonly string[]
  /** Your site key; the token's audience must equal it. */
  siteKey: string
  /** The collector's public keys: a JWKS object, or a resolver such as remoteJwks(url). */
  jwks: Jwks | KeyResolver
  /**
   * The action(s) this endpoint accepts tokens for. Required: a token obtained for `browse`
   * must not pass at checkout. `null` accepts any action (then check `action` yourself).
   */
  action: string | readonly string[] | null
  /** The hostname(s) your pages are served on. Required; `null` accepts any (then check `hostname`). */
  hostname: string | readonly string[] | null
  /** Expected issuer, if your collector sets one. */
  issuer?: string
  /**
   * The account this request acts for (user id, e-mail, as your page passed it to
   * getToken): the token must have been obtained for it. Tokens obtained without an
   * account fail this check too.
   */
  account?: string
  /**
   * Accept tokens minted by the collector's test keys (`test-allow`, `test-review`,
   * `test-deny`; docs/testing.md). Only in your own test runs: default false, and such a
   * token is then refused with `test_token`.
   */
  acceptTestTokens?: boolean
  /** Seconds of clock skew tolerated on iat/exp (default 5). */
  clockToleranceS?: number
  /** For tests: the current time, epoch ms. */
  now?: number
}

export interface VerifiedToken {
  score: number
  verdict: Verdict
  reasons: string[]
  action: string
  siteKey: string
  deviceId: string
  hostname: string
  issuer: string
  /** Epoch seconds. */
  issuedAt: number
  expiresAt: number
  /** Unique token id, for your own single-use bookkeeping. */
  jti: string
  /** The salted account hash the page named (compare with accountHash()), or null. */
  account: string | null
  /** Behaviour classifier: the collector's score (null: too little behaviour) and the page's hint. */
  behavior: { server: number | null; client: number | null; model: string } | null
  /** Minted by a test key (only ever true with `acceptTestTokens`). */
  test: boolean
  claims: Record<string, unknown>
}

const fail = (code: TokenErrorCode, message: string): never => {
  throw new TokenVerificationError(code, message)
}

const keyCache = new WeakMap<Jwks, Map<string, PromiseLike<WebKey | undefined>>>()

/** Imports a JWK as an Ed25519 verification key; undefined for anything that is not one. */
async function importEd25519(jwk: Jwk): Promise<WebKey | undefined> {
  // A raw 32-byte key, exactly: WebCrypto would also take other shapes of JWK.
  if (typeof jwk.x !== 'string' || fromB64u(jwk.x)?.length !== 32) return undefined
  try {
    return await subtle().importKey('jwk', { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, { name: 'Ed25519' }, false, ['verify'])
  } catch {
    // A malformed key in the set cannot verify anything; skip it.
    return undefined
  }
}

/** Imports the Ed25519 keys of a JWKS once per JWKS object (each on first use). */
export function jwksResolver(jwks: Jwks): KeyResolver {
  let byKid = keyCache.get(jwks)
  if (!byKid) {
    byKid = new Map()
    for (const jwk of jwks.keys ?? []) {
      if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string' || typeof jwk.kid !== 'string') continue
      if (jwk.alg !== undefined && jwk.alg !== SIGN_ALG) continue
      let imported: Promise<WebKey | undefined> | undefined
      byKid.set(jwk.kid, { then: (ok, fail) => (imported ??= importEd25519(jwk)).then(ok, fail) })
    }
    keyCache.set(jwks, byKid)
  }
  const keys = byKid
  return async (kid) => keys.get(kid)
}

/**
 * Fetches the collector's JWKS and caches it; refetches on an unknown kid (key
 * rotation) at most once per `minRefetchMs`.
 */
export function remoteJwks(url: string, options: { maxAgeMs?: number; minRefetchMs?: number } = {}): KeyResolver {
  const maxAgeMs = options.maxAgeMs ?? 10 * 60_000
  const minRefetchMs = options.minRefetchMs ?? 30_000
  let resolver: KeyResolver | undefined
  let fetchedAt = 0
  let pending: Promise<void> | undefined
  const refresh = (): Promise<void> =>
    (pending ??= (async () => {
      try {
        const response = await fetch(url, { headers: { accept: 'application/json' } })
        if (!response.ok) throw new Error(`JWKS fetch failed: HTTP ${response.status}`)
        resolver = jwksResolver((await response.json()) as Jwks)
        fetchedAt = Date.now()
      } finally {
        pending = undefined
      }
    })())
  return async (kid) => {
    const age = Date.now() - fetchedAt
    if (!resolver || age > maxAgeMs) await refresh()
    let key = await resolver!(kid)
    if (!key && Date.now() - fetchedAt > minRefetchMs) {
      await refresh()
      key = await resolver!(kid)
    }
    return key
  }
}

const matches = (expected: string | readonly string[] | null, actual: string): boolean =>
  expected === null || (typeof expected === 'string' ? expected === actual : expected.includes(actual))

/** Left out by mistake (JavaScript callers, or `undefined` from configuration): say so, never accept silently. */
function requireChoice(options: VerifyOptions): void {
  for (const name of ['action', 'hostname'] as const) {
    const value: unknown = options[name]
    if (value === undefined) throw new TypeError(`verifyToken: options.${name} is required: the ${name}(s) this endpoint accepts, or null to accept any`)
  }
}

const sealKeys = new Map<string, Promise<WebKey>>()
/** The AES key a seal secret derives for a site: HKDF once per secret, not per token. */
function sealKeyFor(secret: string, siteKey: string): Promise<WebKey> {
  const cacheKey = `${siteKey}\u0000${secret}`
  let key = sealKeys.get(cacheKey)
  if (!key) {
    if (sealKeys.size > 256) sealKeys.clear()
    key = deriveSealKey(secret, siteKey).then(importSealKey)
    sealKeys.set(cacheKey, key)
    key.catch(() => sealKeys.delete(cacheKey))
  }
  return key
}

/** Opens the seal (under any of the seal secrets given) and returns the JWS inside; rejects with TokenVerificationError. */
export async function unsealToken(token: string, secret: string | readonly string[], siteKey: string): Promise<string> {
  if (typeof token !== 'string' || token.length === 0 || token.length > 8192) fail('malformed', 'token must be a non-empty string')
  const jwe = parseJwe(token) ?? fail('malformed', 'not a compact JWE')
  if (jwe.header['alg'] !== SEAL_ALG || jwe.header['enc'] !== SEAL_ENC) fail('unsupported_alg', 'seal must be dir/A256GCM')
  if (jwe.header['crit'] !== undefined || jwe.header['zip'] !== undefined) fail('unsupported_alg', 'crit and zip are not supported')
  if (jwe.header['kid'] !== undefined && jwe.header['kid'] !== siteKey) fail('wrong_audience', 'token was sealed for another site')
  const secrets = typeof secret === 'string' ? [secret] : secret
  if (!Array.isArray(secrets) || secrets.length === 0 || !secrets.every((x) => typeof x === 'string')) throw new TypeError('verifyToken: secret must be the seal secret (a string), or a list of them')
  for (const candidate of secrets) {
    const opened = await openJwe(jwe, await sealKeyFor(candidate, siteKey))
    if (opened !== null) return opened
  }
  return fail('bad_seal', 'seal does not open with this site secret')
}

/** The site key a sealed token names in its header, without opening it. */
export function sealedSiteKey(token: string): string | undefined {
  const kid = typeof token === 'string' ? parseJwe(token)?.header['kid'] : undefined
  return typeof kid === 'string' ? kid : undefined
}

/**
 * The hash the SDK sends for an account on your site (docs/protocol.md): SHA-512 over the
 * site's account salt and the normalised identifier, first 16 bytes, base64url. The salt
 * comes with every challenge, and in each token that names an account (`asl`).
 */
export function accountHash(account: string, salt: string): string {
  return accountHashFromDigest(sha512(accountHashInput(salt, account)))
}

/** Ed25519 over WebCrypto; a key of another algorithm, or any error, does not verify. */
async function verifyEd25519(key: VerificationKey, signature: Uint8Array<ArrayBuffer>, data: Uint8Array<ArrayBuffer>): Promise<boolean> {
  try {
    // A resolver of the caller's own may hand anything back: WebCrypto refuses what is not a key.
    return await subtle().verify({ name: 'Ed25519' }, key as WebKey, signature, data)
  } catch {
    return false
  }
}

function readBehavior(value: unknown): VerifiedToken['behavior'] {
  if (typeof value !== 'object' || value === null) return null
  const v = value as Record<string, unknown>
  const score = (x: unknown): number | null => (typeof x === 'number' ? x : null)
  return { server: score(v['server']), client: score(v['client']), model: typeof v['model'] === 'string' ? v['model'] : '' }
}

export async function verifyToken(token: string, options: VerifyOptions): Promise<VerifiedToken> {
  requireChoice(options)
  const jws = await unsealToken(token, options.secret, options.siteKey)
  const parts = jws.split('.')
  if (parts.length !== 3) fail('malformed', 'sealed content is not a compact JWS')
  const [headerText, claimsText, sigText] = parts as [string, string, string]
  const header = parseJsonSegment(headerText) ?? fail('malformed', 'bad JWS header')
  // Pinned: never let the token choose its own algorithm (alg: none, HS256 with the public key, …).
  if (header['alg'] !== SIGN_ALG) fail('unsupported_alg', `alg must be ${SIGN_ALG}`)
  if (header['crit'] !== undefined) fail('unsupported_alg', 'crit is not supported')
  const kid = header['kid']
  if (typeof kid !== 'string') fail('malformed', 'kid missing')
  const resolver = typeof options.jwks === 'function' ? options.jwks : jwksResolver(options.jwks)
  const publicKey = (await resolver(kid as string)) ?? fail('unknown_kid', `no key ${String(kid)} in the JWKS`)
  const signature = fromB64u(sigText) ?? fail('malformed', 'bad signature encoding')
  if (signature.length !== 64 || !(await verifyEd25519(publicKey, signature, ascii(`${headerText}.${claimsText}`)))) fail('bad_signature', 'signature does not verify')

  const claims = parseJsonSegment(claimsText) ?? fail('malformed', 'bad claims')
  const { iss, aud, sub, act, score, verdict, reasons, hst, iat, exp, jti } = claims
  if (
    typeof iss !== 'string' || typeof aud !== 'string' || typeof sub !== 'string' || typeof act !== 'string' ||
    typeof score !== 'number' || typeof verdict !== 'string' || !Array.isArray(reasons) || typeof hst !== 'string' ||
    typeof iat !== 'number' || typeof exp !== 'number' || typeof jti !== 'string' ||
    !reasons.every((r) => typeof r === 'string') || !['allow', 'review', 'deny'].includes(verdict)
  ) {
    fail('malformed', 'claims missing or of the wrong type')
  }
  const now = (options.now ?? Date.now()) / 1000
  const tolerance = options.clockToleranceS ?? 5
  if ((exp as number) - (iat as number) > MAX_TOKEN_LIFETIME_S) fail('lifetime_too_long', 'token lifetime exceeds 300 s')
  if (now > (exp as number) + tolerance) fail('expired', 'token expired')
  if (now + tolerance < (iat as number)) fail('not_yet_valid', 'token issued in the future')
  if (aud !== options.siteKey) fail('wrong_audience', `token is for site ${String(aud)}`)
  if (options.issuer !== undefined && iss !== options.issuer) fail('wrong_issuer', 'unexpected issuer')
  if (claims['test'] !== undefined && !(claims['test'] === true && options.acceptTestTokens === true)) {
    fail('test_token', 'a test key minted this token: pass acceptTestTokens in your test runs only')
  }
  if (!matches(options.action, act as string)) fail('wrong_action', `token is for action ${String(act)}`)
  if (!matches(options.hostname, hst as string)) fail('wrong_hostname', `token was obtained on ${String(hst)}`)
  if (options.account !== undefined) {
    const { acc, asl } = claims
    if (typeof acc !== 'string' || typeof asl !== 'string' || acc !== accountHash(options.account, asl)) fail('wrong_account', 'token was not obtained for this account')
  }
  return {
    score: score as number,
    verdict: verdict as Verdict,
    reasons: reasons as string[],
    action: act as string,
    siteKey: aud as string,
    deviceId: sub as string,
    hostname: hst as string,
    issuer: iss as string,
    issuedAt: iat as number,
    expiresAt: exp as number,
    jti: jti as string,
    account: typeof claims['acc'] === 'string' ? claims['acc'] : null,
    behavior: readBehavior(claims['bhv']),
    test: claims['test'] === true,
    claims,
  }
}

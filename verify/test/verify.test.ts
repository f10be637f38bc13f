import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHmac, generateKeyPairSync, sign } from 'node:crypto'
import * as jose from 'jose'
import { makeTestApp, OTHER_SITE, type TestApp } from '../../test/support/app'
import { TestDevice } from '../../test/support/device'
import { verifyToken, TokenVerificationError, type VerifyOptions } from '../src/index'
import { deriveSealKey as verifierSealKey } from '../src/jose'
import { b64u, deriveSealKey, sealCompact } from '../../collector-server/src/tokens/seal'
import { signJwt, type VerdictClaims } from '../../collector-server/src/tokens/issue'
import { generateSigningKey, keyringFrom } from '../../collector-server/src/config/keyring'

let t: TestApp
let token: string
let device: TestDevice
let claims: VerdictClaims

beforeAll(async () => {
  t = await makeTestApp()
  device = new TestDevice()
  const res = await t.app.inject({ method: 'POST', url: '/v1/collect', payload: device.body(await t.challenge()) })
  token = (res.json<{ token: string }>()).token
  const jws = new TextDecoder().decode((await jose.compactDecrypt(token, deriveSealKey('demo-secret', 'demo'))).plaintext)
  claims = jose.decodeJwt(jws) as unknown as VerdictClaims
})
afterAll(async () => {
  await t.close()
})

const options = (over: Partial<VerifyOptions> = {}): VerifyOptions => ({
  secret: 'demo-secret',
  siteKey: 'demo',
  jwks: t.keyring.jwks,
  now: t.clock.now(),
  action: null,
  hostname: null,
  ...over,
})

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise
  } catch (err) {
    if (err instanceof TokenVerificationError) return err.code
    throw err
  }
  return 'accepted'
}

/** Seals a JWS for the demo site exactly as the collector would. */
const sealForDemo = (jws: string): string => sealCompact(jws, deriveSealKey('demo-secret', 'demo'), 'demo')
const segment = (value: unknown): string => b64u(JSON.stringify(value))

describe('the token format', () => {
  it('verifies with the jose library alone, from docs/tokens.md (independent implementation)', async () => {
    const { plaintext, protectedHeader } = await jose.compactDecrypt(token, deriveSealKey('demo-secret', 'demo'))
    expect(protectedHeader).toEqual({ alg: 'dir', enc: 'A256GCM', cty: 'JWT', kid: 'demo' })
    const jwks = jose.createLocalJWKSet(t.keyring.jwks)
    const { payload, protectedHeader: jwsHeader } = await jose.jwtVerify(new TextDecoder().decode(plaintext), jwks, {
      algorithms: ['EdDSA'],
      audience: 'demo',
      issuer: 'vigil',
      currentDate: new Date(t.clock.now()),
    })
    expect(jwsHeader).toMatchObject({ alg: 'EdDSA', typ: 'JWT', kid: t.keyring.active.kid })
    expect(payload).toMatchObject({ sub: device.id, act: 'checkout', verdict: 'allow', hst: '127.0.0.1', score: 0.2, reasons: ['no_interaction'] })
    expect(payload.exp! - payload.iat!).toBeLessThanOrEqual(300)
  })

  it('the seal key is HKDF-SHA256(secret, salt "vigil/token-seal/v1", info siteKey), as documented', async () => {
    const key = new Uint8Array(await crypto.subtle.deriveBits(
      { name: 'HKDF', hash: 'SHA-256', salt: new TextEncoder().encode('vigil/token-seal/v1'), info: new TextEncoder().encode('demo') },
      await crypto.subtle.importKey('raw', new TextEncoder().encode('demo-secret'), 'HKDF', false, ['deriveBits']),
      256,
    ))
    // Both halves: the collector seals with node:crypto, the verifier opens with WebCrypto.
    expect(Buffer.from(key)).toEqual(deriveSealKey('demo-secret', 'demo'))
    expect(Buffer.from(await verifierSealKey('demo-secret', 'demo'))).toEqual(Buffer.from(key))
  })
})

describe('verifyToken', () => {
  it('accepts the token and reports its verdict', async () => {
    const v = await verifyToken(token, options({ action: 'checkout', hostname: '127.0.0.1' }))
    expect(v).toMatchObject({ verdict: 'allow', score: 0.2, reasons: ['no_interaction'], action: 'checkout', siteKey: 'demo', deviceId: device.id, hostname: '127.0.0.1' })
    expect(v.jti).toBe(claims.jti)
  })

  it('refuses the wrong secret, another site, another action or hostname', async () => {
    expect(await codeOf(verifyToken(token, options({ secret: 'not-the-secret' })))).toBe('bad_seal')
    expect(await codeOf(verifyToken(token, options({ siteKey: OTHER_SITE.siteKey, secret: OTHER_SITE.secret })))).toBe('wrong_audience')
    expect(await codeOf(verifyToken(token, options({ action: 'login' })))).toBe('wrong_action')
    expect(await codeOf(verifyToken(token, options({ action: ['login', 'coupon'] })))).toBe('wrong_action')
    expect(await codeOf(verifyToken(token, options({ hostname: 'shop.example' })))).toBe('wrong_hostname')
    expect(await codeOf(verifyToken(token, options({ issuer: 'someone-else' })))).toBe('wrong_issuer')
  })

  it('refuses expired tokens and tokens from the future', async () => {
    expect(await codeOf(verifyToken(token, options({ now: claims.exp * 1000 + 6000 })))).toBe('expired')
    expect(await codeOf(verifyToken(token, options({ now: claims.iat * 1000 - 6000 })))).toBe('not_yet_valid')
  })

  it('refuses alg none and HS256, whatever the claims', async () => {
    const none = `${segment({ alg: 'none', typ: 'JWT' })}.${segment(claims)}.`
    expect(await codeOf(verifyToken(sealForDemo(none), options()))).toBe('unsupported_alg')
    // The classic confusion: HMAC keyed with the public key.
    const input = `${segment({ alg: 'HS256', typ: 'JWT', kid: t.keyring.active.kid })}.${segment(claims)}`
    const hs = `${input}.${createHmac('sha256', t.keyring.active.publicJwk.x!).update(input).digest('base64url')}`
    expect(await codeOf(verifyToken(sealForDemo(hs), options()))).toBe('unsupported_alg')
  })

  it('refuses edited claims, a swapped kid, and keys it does not know', async () => {
    const jws = signJwt(t.keyring.active, claims)
    const [h, , s] = jws.split('.')
    const edited = `${h}.${segment({ ...claims, verdict: 'allow', score: 0, reasons: [], act: 'payout' })}.${s}`
    expect(await codeOf(verifyToken(sealForDemo(edited), options()))).toBe('bad_signature')

    const stranger = keyringFrom([generateSigningKey()], Buffer.alloc(32, 1)).active
    const swapped = signJwt({ ...stranger, kid: t.keyring.active.kid }, claims)
    expect(await codeOf(verifyToken(sealForDemo(swapped), options()))).toBe('bad_signature')
    expect(await codeOf(verifyToken(sealForDemo(signJwt(stranger, claims)), options()))).toBe('unknown_kid')
  })

  it('refuses tokens that claim to live longer than 300 s, even when validly signed', async () => {
    const long = signJwt(t.keyring.active, { ...claims, exp: claims.iat + 3600 })
    expect(await codeOf(verifyToken(sealForDemo(long), options()))).toBe('lifetime_too_long')
  })

  it('refuses a tampered seal and anything that is not a token', async () => {
    const parts = token.split('.')
    const ct = Buffer.from(parts[3]!, 'base64url')
    ct[0]! ^= 1
    parts[3] = ct.toString('base64url')
    expect(await codeOf(verifyToken(parts.join('.'), options()))).toBe('bad_seal')
    for (const junk of ['', 'a.b.c', 'x'.repeat(9000), token.replace(/\./g, '!'), `${token}.`]) {
      expect(await codeOf(verifyToken(junk, options()))).toBe('malformed')
    }
    const other = `${segment({ alg: 'A256KW', enc: 'A256GCM', kid: 'demo' })}.${parts.slice(1).join('.')}`
    expect(await codeOf(verifyToken(other, options()))).toBe('unsupported_alg')
  })

  it('refuses an Ed25519 signature by a key outside the JWKS even with a valid-looking kid', async () => {
    const { privateKey } = generateKeyPairSync('ed25519')
    const input = `${segment({ alg: 'EdDSA', typ: 'JWT', kid: t.keyring.active.kid })}.${segment(claims)}`
    const forged = `${input}.${sign(null, Buffer.from(input), privateKey).toString('base64url')}`
    expect(await codeOf(verifyToken(sealForDemo(forged), options()))).toBe('bad_signature')
  })
})

describe('POST /v1/siteverify', () => {
  const siteverify = (body: unknown) => t.app.inject({ method: 'POST', url: '/v1/siteverify', payload: body as object })

  it('reports the same refusals as errorCodes', async () => {
    const none = sealForDemo(`${segment({ alg: 'none' })}.${segment(claims)}.`)
    expect((await siteverify({ secret: 'demo-secret', token: none })).json()).toEqual({ success: false, errorCodes: ['unsupported_alg'] })
    expect((await siteverify({ secret: 'wrong-secret', token })).json()).toEqual({ success: false, errorCodes: ['invalid_secret'] })
    expect((await siteverify({ secret: OTHER_SITE.secret, token })).json()).toEqual({ success: false, errorCodes: ['invalid_secret'] })
    expect((await siteverify({ secret: 'demo-secret', token: 'nonsense' })).json()).toEqual({ success: false, errorCodes: ['malformed'] })
    const missing = await siteverify({ token })
    expect([missing.statusCode, (missing.json<{ error: { code: string } }>()).error.code]).toEqual([400, 'bad_request'])
  })

  it('refuses an expired token', async () => {
    const fresh = await makeTestApp()
    try {
      const res = await fresh.app.inject({ method: 'POST', url: '/v1/collect', payload: new TestDevice().body(await fresh.challenge()) })
      const tok = (res.json<{ token: string }>()).token
      fresh.clock.advance(301_000)
      const out = await fresh.app.inject({ method: 'POST', url: '/v1/siteverify', payload: { secret: 'demo-secret', token: tok } })
      expect(out.json()).toEqual({ success: false, errorCodes: ['expired'] })
    } finally {
      await fresh.close()
    }
  })
})

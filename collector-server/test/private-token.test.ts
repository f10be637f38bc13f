/**
 * Private Access Tokens (RFC 9577/9578, type 0x0002): RFC 9578's published test vectors,
 * then the collector's own flow with an issuer key the test makes: the challenge bound to
 * the collector challenge, the verification, the receipt, and the evidence in the collect.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { makeTestApp, testSecret, type TestApp } from '../../test/support/app'
import { TestIssuer, challengeFrom, collectWithEvidence } from '../../test/support/platform'
import { DEMO_SITE, makeSite, siteRegistry, type SiteConfig } from '../src/config/sites'
import { importTokenKey, parseToken, redemptionContext, tokenChallenge, verifyToken } from '../src/evidence/private-token'

interface Vector {
  token_challenge: string
  nonce: string
  token: string
}
const RFC = JSON.parse(readFileSync('test/fixtures/privacy-pass/rfc9578-type2.json', 'utf8')) as { pkS: string; vectors: Vector[] }
const hex = (s: string) => Buffer.from(s, 'hex')

/** Reads a TokenChallenge's fields back, to check our encoder against the RFC's bytes. */
function readChallenge(b: Buffer): { type: number; issuer: string; context: Buffer; origin: string } {
  const issuerLength = b.readUInt16BE(2)
  const issuer = b.subarray(4, 4 + issuerLength).toString('utf8')
  const contextLength = b.readUInt8(4 + issuerLength)
  const context = b.subarray(5 + issuerLength, 5 + issuerLength + contextLength)
  const at = 5 + issuerLength + contextLength
  return { type: b.readUInt16BE(0), issuer, context, origin: b.subarray(at + 2, at + 2 + b.readUInt16BE(at)).toString('utf8') }
}

describe('RFC 9578 test vectors (issuance protocol 2, blind RSA 2048)', () => {
  const key = importTokenKey('issuer.example', hex(RFC.pkS))

  it.each(RFC.vectors.map((v, i) => [i + 1, v] as const))('vector %i: the token verifies under pkS, and our TokenChallenge encoding is byte-exact', (_, v) => {
    const token = parseToken(hex(v.token))!
    expect(token.nonce.toString('hex')).toBe(v.nonce)
    expect(verifyToken(token, hex(v.token_challenge), key)).toEqual({ status: 'verified', by: 'issuer.example' })
    const fields = readChallenge(hex(v.token_challenge))
    expect(fields.type).toBe(2)
    expect(tokenChallenge(fields.issuer, fields.context, fields.origin).toString('hex')).toBe(v.token_challenge)
  })

  it('and each, altered, is refused with its reason', () => {
    const v = RFC.vectors[0]!
    const flipped = hex(v.token)
    flipped[200]! ^= 1
    expect(verifyToken(parseToken(flipped)!, hex(v.token_challenge), key)).toMatchObject({ status: 'failed', reason: 'bad_signature' })
    expect(verifyToken(parseToken(hex(v.token))!, hex(RFC.vectors[1]!.token_challenge), key)).toMatchObject({ status: 'failed', reason: 'wrong_challenge' })
    const otherKey = importTokenKey('issuer.example', generateKeyPairSync('rsa-pss', { modulusLength: 2048, hashAlgorithm: 'sha384', mgf1HashAlgorithm: 'sha384' }).publicKey.export({ type: 'spki', format: 'der' }))
    expect(verifyToken(parseToken(hex(v.token))!, hex(v.token_challenge), otherKey)).toMatchObject({ status: 'failed', reason: 'key_mismatch' })
    expect(parseToken(hex(v.token).subarray(0, 300))).toBeNull()
    expect(parseToken(Buffer.concat([Buffer.from([0, 1]), hex(v.token).subarray(2)]))).toBeNull()
  })
})

const issuer = new TestIssuer()
const SITE: SiteConfig & { secret: string } = {
  siteKey: 'web',
  secret: testSecret('web'),
  origins: ['http://127.0.0.1:*', 'https://shop.example'],
  attestation: { privateTokens: { issuers: [{ name: issuer.name, tokenKeys: [issuer.tokenKey] }] } },
  policy: { actions: { 'coupon/claim': { requireAttestation: true }, 'app/checkout': { requireAttestation: ['app_attest', 'play_integrity'] } } },
}

describe('Private Access Tokens through the collector', () => {
  let t: TestApp
  beforeEach(async () => {
    t = await makeTestApp({ sites: siteRegistry([DEMO_SITE, SITE], { demo: true }) })
  })
  afterEach(async () => {
    await t.close()
  })

  const contextOf = (challenge: string) => redemptionContext(challenge).toString('base64url')
  const ask = (challenge: string, authorization?: string, siteKey = 'web') =>
    t.app.inject({ url: `/v1/private-token?siteKey=${siteKey}&context=${contextOf(challenge)}`, headers: { origin: 'https://shop.example', ...(authorization ? { authorization } : {}) } })

  /** What Safari does: read the challenge, get a token from the issuer, ask again with it. */
  async function redeem(challenge: string, mint: (tokenChallenge: Buffer) => Buffer = (c) => issuer.token(c)) {
    const first = await ask(challenge)
    const presented = mint(challengeFrom(first.headers['www-authenticate'] as string, issuer.tokenKey))
    return ask(challenge, `PrivateToken token="${presented.toString('base64url')}"`)
  }

  it('challenges with WWW-Authenticate: PrivateToken, bound to the collector challenge, for each issuer', async () => {
    const challenge = await t.challenge('web')
    expect((await t.app.inject('/v1/challenge?siteKey=web')).json()).toMatchObject({ privateToken: true })
    expect((await t.app.inject('/v1/challenge?siteKey=demo')).json()).not.toHaveProperty('privateToken')
    const res = await ask(challenge)
    expect(res.statusCode).toBe(401)
    expect(res.json()).toMatchObject({ error: { code: 'private_token_required' } })
    expect(res.headers['access-control-allow-origin']).toBe('https://shop.example')
    const header = res.headers['www-authenticate'] as string
    expect(header).toMatch(/^PrivateToken challenge="[A-Za-z0-9_-]+", token-key="[A-Za-z0-9_-]+"$/)
    expect(readChallenge(challengeFrom(header, issuer.tokenKey))).toEqual({ type: 2, issuer: issuer.name, context: redemptionContext(challenge), origin: '' })
  })

  it('a good token: verified, a receipt, and in the next collect it lowers the score', async () => {
    const plain = await collectWithEvidence(t, { siteKey: 'web', secret: SITE.secret })
    const r = await collectWithEvidence(t, {
      siteKey: 'web',
      secret: SITE.secret,
      privateToken: async (challenge) => {
        const res = await redeem(challenge)
        expect(res.statusCode).toBe(200)
        expect(res.json()).toMatchObject({ status: 'verified', issuer: issuer.name })
        return res.json<{ receipt: string }>().receipt
      },
    })
    expect(r.evidence).toEqual([{ kind: 'private_token', status: 'verified', by: issuer.name }])
    expect(r.attestation).toBe('absent')
    expect(r.score).toBeCloseTo(plain.score! * 0.7, 3)
  })

  describe('forgeries, each refused with its own reason', () => {
    it('a bad signature: a token naming the issuer key, signed by another', async () => {
      const forger = generateKeyPairSync('rsa-pss', { modulusLength: 2048, hashAlgorithm: 'sha384', mgf1HashAlgorithm: 'sha384' })
      const r = await collectWithEvidence(t, {
        siteKey: 'web',
        secret: SITE.secret,
        privateToken: async (challenge) => {
          const res = await redeem(challenge, (c) => issuer.token(c, { signWith: forger.privateKey }))
          expect(res.json()).toMatchObject({ status: 'failed', reason: 'bad_signature' })
          return res.json<{ receipt: string }>().receipt
        },
      })
      expect(r.evidence).toEqual([expect.objectContaining({ kind: 'private_token', status: 'failed', reason: 'bad_signature' })])
      expect(r.reasons).toContain('attestation_failed')
    })

    it('a PAT for another challenge: presented against this one', async () => {
      const mine = await t.challenge('web')
      const someoneElses = await t.challenge('web')
      const token = issuer.token(challengeFrom((await ask(someoneElses)).headers['www-authenticate'] as string, issuer.tokenKey))
      const res = await ask(mine, `PrivateToken token="${token.toString('base64url')}"`)
      expect(res.json()).toMatchObject({ status: 'failed', reason: 'wrong_challenge' })
    })

    it("a receipt for another challenge: carried into this challenge's collect", async () => {
      const other = await t.challenge('web')
      const receipt = (await redeem(other)).json<{ receipt: string }>().receipt
      const r = await collectWithEvidence(t, { siteKey: 'web', secret: SITE.secret, privateToken: async () => receipt })
      expect(r.evidence).toEqual([expect.objectContaining({ kind: 'private_token', status: 'failed', reason: 'wrong_challenge' })])
      expect(r.reasons).toContain('attestation_failed')
    })

    it('a receipt the page made up', async () => {
      const r = await collectWithEvidence(t, { siteKey: 'web', secret: SITE.secret, privateToken: async (challenge) => `${Buffer.from(JSON.stringify({ c: contextOf(challenge), s: 'verified' })).toString('base64url')}.${'A'.repeat(43)}` })
      expect(r.evidence).toEqual([expect.objectContaining({ status: 'failed', reason: 'bad_receipt' })])
    })

    it('garbage in the Authorization header', async () => {
      const challenge = await t.challenge('web')
      expect((await ask(challenge, `PrivateToken token="${Buffer.from('short').toString('base64url')}"`)).json()).toMatchObject({ status: 'failed', reason: 'malformed' })
      expect((await ask(challenge, 'Bearer abc')).statusCode).toBe(401)
    })
  })

  it("a token from a key the site does not list (an issuer rotated): unverified, no penalty", async () => {
    const stranger = new TestIssuer(issuer.name)
    const r = await collectWithEvidence(t, {
      siteKey: 'web',
      secret: SITE.secret,
      privateToken: async (challenge) => (await redeem(challenge, (c) => stranger.token(c))).json<{ receipt: string }>().receipt,
    })
    expect(r.evidence).toEqual([expect.objectContaining({ status: 'unverified', reason: 'unknown_key' })])
    expect(r.reasons).not.toContain('attestation_failed')
  })

  it('a site without issuers refuses the route; bad contexts are bad requests', async () => {
    const challenge = await t.challenge('demo')
    expect((await t.app.inject(`/v1/private-token?siteKey=demo&context=${contextOf(challenge)}`)).json()).toMatchObject({ error: { code: 'bad_request' } })
    expect((await t.app.inject('/v1/private-token?siteKey=web&context=short')).statusCode).toBe(400)
    expect((await t.app.inject(`/v1/private-token?siteKey=nope&context=${contextOf(challenge)}`)).json()).toMatchObject({ error: { code: 'unknown_site' } })
  })

  describe('requireAttestation', () => {
    it('an action that requires evidence: attestation_missing without it, none with a verified token', async () => {
      const bare = await collectWithEvidence(t, { siteKey: 'web', secret: SITE.secret, action: 'coupon/claim' })
      expect(bare.reasons).toContain('attestation_missing')
      expect(bare.verdict).toBe('review')
      const withToken = await collectWithEvidence(t, { siteKey: 'web', secret: SITE.secret, action: 'coupon/claim', privateToken: async (c) => (await redeem(c)).json<{ receipt: string }>().receipt })
      expect(withToken.reasons).not.toContain('attestation_missing')
      // Other actions do not require it.
      expect((await collectWithEvidence(t, { siteKey: 'web', secret: SITE.secret, action: 'browse' })).reasons).not.toContain('attestation_missing')
    })

    it('an action that requires app evidence is not satisfied by a Private Access Token', async () => {
      const r = await collectWithEvidence(t, { siteKey: 'web', secret: SITE.secret, action: 'app/checkout', privateToken: async (c) => (await redeem(c)).json<{ receipt: string }>().receipt })
      expect(r.evidence[0]).toMatchObject({ status: 'verified' })
      expect(r.reasons).toContain('attestation_missing')
    })
  })
})

describe('Private Access Token settings', () => {
  it('refuses keys that are not RSA-2048 and issuers without keys', () => {
    const make = (privateTokens: unknown) => () => makeSite({ ...SITE, attestation: { privateTokens: privateTokens as never } }, randomBytes(32))
    expect(make({ issuers: [] })).toThrow(/issuers/)
    expect(make({ issuers: [{ name: 'x.example', tokenKeys: [] }] })).toThrow(/tokenKeys/)
    const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'der' }).toString('base64url')
    expect(make({ issuers: [{ name: 'x.example', tokenKeys: [ec] }] })).toThrow(/RSA-2048/)
    expect(make({ issuers: [{ name: 'x.example', tokenKeys: [RFC.pkS] }] })).toThrow(/tokenKeys\[0\]/)
    expect(make({ issuers: [{ name: 'issuer.example', tokenKeys: [hex(RFC.pkS).toString('base64url')] }] })).not.toThrow()
    expect(createHash('sha256').update(hex(RFC.pkS)).digest()).toEqual(importTokenKey('issuer.example', hex(RFC.pkS)).keyId)
  })
})

/**
 * Test keys: real tokens with a fixed verdict and a `test` claim, for merchants' own suites;
 * refused by vigil/verify and siteverify unless the caller accepts test tokens.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { makeTestApp, STORE_KINDS, testSecret, type TestApp } from '../../test/support/app'
import { TestDevice } from '../../test/support/device'
import { TEST_SECRET, TEST_SITE_KEYS } from '../src/config/test-keys'
import { loadSites, siteRegistry } from '../src/config/sites'
import { TokenVerificationError, verifyToken } from '../../verify/src/index'

const CI_ORIGIN = 'http://localhost:3000'

describe.each(STORE_KINDS)('test keys on %s', (kind) => {
  let t: TestApp
  beforeEach(async () => {
    t = await makeTestApp({ store: kind })
  })
  afterEach(async () => {
    await t.close()
  })

  /** A collect for `siteKey` from a page on the merchant's CI origin. */
  async function mint(siteKey: string, device = new TestDevice(), origin = CI_ORIGIN) {
    const challenge = await t.challenge(siteKey, origin)
    const body = device.body(challenge, { siteKey, hostname: new URL(origin).hostname, action: 'checkout' })
    return t.app.inject({ method: 'POST', url: '/v1/collect', payload: body, headers: { origin } })
  }
  const siteverify = (token: string, extra: Record<string, unknown> = {}) =>
    t.app.inject({ method: 'POST', url: '/v1/siteverify', payload: { secret: TEST_SECRET, token, ...extra } }).then((r) => r.json<Record<string, unknown>>())
  const verify = (token: string, siteKey: string, acceptTestTokens?: boolean) =>
    verifyToken(token, { secret: TEST_SECRET, siteKey, jwks: t.keyring.jwks, now: t.clock.now(), action: 'checkout', hostname: 'localhost', ...(acceptTestTokens !== undefined ? { acceptTestTokens } : {}) })

  it.each(Object.entries(TEST_SITE_KEYS))('%s mints a real token with verdict %s, refused unless test tokens are accepted', async (siteKey, verdict) => {
    const res = await mint(siteKey)
    expect(res.statusCode).toBe(200)
    expect(res.headers['access-control-allow-origin']).toBe(CI_ORIGIN)
    const { token } = res.json<{ token: string }>()

    await expect(verify(token, siteKey)).rejects.toMatchObject({ name: 'TokenVerificationError', code: 'test_token' })
    const accepted = await verify(token, siteKey, true)
    expect(accepted).toMatchObject({ verdict, siteKey, test: true, reasons: [], action: 'checkout', hostname: 'localhost' })
    expect(accepted.claims['test']).toBe(true)

    expect(await siteverify(token)).toEqual({ success: false, errorCodes: ['test_token'] })
    expect(await siteverify(token, { acceptTestTokens: true })).toMatchObject({ success: true, verdict, test: true, siteKey })
    // Single use still holds.
    expect(await siteverify(token, { acceptTestTokens: true })).toEqual({ success: false, errorCodes: ['already_redeemed'] })
  })

  it('stores, links and counts nothing for a test token', async () => {
    const before = await t.store.events.count()
    expect((await mint('test-deny')).statusCode).toBe(200)
    expect(await t.store.events.count()).toBe(before)
    const snapshot = await t.store.stats.snapshot('test-deny', t.clock.now() - 60_000, t.clock.now())
    expect(snapshot.buckets.every((b) => Object.keys(b.counts).length === 0)).toBe(true)
  })

  it('checks everything before the verdict: a bad signature, a replay and a foreign site challenge are refused', async () => {
    const device = new TestDevice()
    const challenge = await t.challenge('test-allow', CI_ORIGIN)
    const body = device.body(challenge, { siteKey: 'test-allow', hostname: 'localhost' })
    const forged = { ...body, sig: new TestDevice().sign(body.payload) }
    const post = (b: unknown) => t.app.inject({ method: 'POST', url: '/v1/collect', payload: b as object, headers: { origin: CI_ORIGIN } })
    expect((await post(forged)).json()).toMatchObject({ error: { code: 'bad_signature' } })
    expect((await post(body)).statusCode).toBe(200)
    expect((await post(body)).json()).toMatchObject({ error: { code: 'replayed' } })
    const demoChallenge = device.body(await t.challenge('demo'), { siteKey: 'test-allow', hostname: 'localhost' })
    expect((await post(demoChallenge)).json()).toMatchObject({ error: { code: 'bad_challenge' } })
  })

  it("cannot be passed off to a real site's backend: the seal does not open with its secret", async () => {
    const { token } = (await mint('test-allow')).json<{ token: string }>()
    const err = await verifyToken(token, { secret: 'demo-secret', siteKey: 'demo', jwks: t.keyring.jwks, now: t.clock.now(), action: null, hostname: null, acceptTestTokens: true }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(TokenVerificationError)
    expect((err as TokenVerificationError).code).toBe('wrong_audience')
    expect(await t.app.inject({ method: 'POST', url: '/v1/siteverify', payload: { secret: 'demo-secret', token, acceptTestTokens: true } }).then((r) => r.json())).toEqual({
      success: false,
      errorCodes: ['invalid_secret'],
    })
  })

  it("a test key's any-origin rule does not open real sites to foreign origins", async () => {
    const foreign = await t.app.inject({ url: '/v1/challenge?siteKey=demo', headers: { origin: 'https://evil.example' } })
    expect(foreign.statusCode).toBe(403)
    expect(foreign.headers['access-control-allow-origin']).toBeUndefined()
  })
})

describe('reserved test keys', () => {
  it('sites.json cannot define or shadow them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-test-keys-'))
    writeFileSync(join(dir, 'sites.json'), JSON.stringify({ sites: [{ siteKey: 'test-allow', secret: testSecret('mine'), origins: ['https://shop.example'] }] }))
    expect(() => loadSites(dir)).toThrow(/reserved/)
    expect(() => siteRegistry([{ siteKey: 'mine', secret: testSecret('mine'), origins: ['https://shop.example'], testVerdict: 'allow' }])).toThrow(/built-in test keys/)
  })

  it('are absent when a collector is started without them', () => {
    expect(siteRegistry([]).get('test-allow')?.testVerdict).toBe('allow')
    expect(siteRegistry([], { testKeys: false }).get('test-allow')).toBeUndefined()
  })
})

/**
 * Finding 4: any secret of 8 characters was accepted, and the public account salt was an
 * unstretched HMAC of it, so `shopsecret` came back offline from one anonymous challenge;
 * one secret sealed tokens, redeemed them and read the dashboard. Now: weak secrets are
 * refused (but for development sites), the salt comes from the data directory's random
 * account key, each role has its own secret, and rotation keeps the old one for a grace period.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createHmac, randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { makeTestApp, testSecret, type TestApp } from '../../test/support/app'
import { TestDevice } from '../../test/support/device'
import { DEMO_SITE, generateSecret, loadSites, makeSite, siteRegistry, weakSecretReason, type SiteConfig } from '../src/config/sites'
import { addSite, rotateSecret } from '../src/config/site-admin'
import { verifyToken } from 'vigil/verify'

const SHOP = { seal: testSecret('seal'), siteverify: testSecret('siteverify'), dashboard: testSecret('dashboard') }
const shopSite = (extra: Partial<SiteConfig> = {}): SiteConfig => ({
  siteKey: 'shop',
  origins: ['https://shop.example'],
  secrets: { seal: [SHOP.seal], siteverify: [SHOP.siteverify], dashboard: [SHOP.dashboard] },
  ...extra,
})

let t: TestApp | undefined
let dir: string | undefined
afterEach(async () => {
  await t?.close()
  t = undefined
  if (dir) rmSync(dir, { recursive: true, force: true })
  dir = undefined
})

/** A token for the shop site, from the app's own challenge and collect. */
async function shopToken(app: TestApp, account?: string): Promise<string> {
  const ch = await app.app.inject({ url: '/v1/challenge?siteKey=shop', headers: { origin: 'https://shop.example' } })
  const { challenge } = ch.json<{ challenge: string }>()
  const body = new TestDevice().body(challenge, { siteKey: 'shop', hostname: 'shop.example', ...(account ? { account } : {}) })
  const res = await app.app.inject({ method: 'POST', url: '/v1/collect', payload: body, headers: { origin: 'https://shop.example' } })
  expect(res.statusCode).toBe(200)
  return res.json<{ token: string }>().token
}

const siteverify = (app: TestApp, secret: string, token: string) =>
  app.app.inject({ method: 'POST', url: '/v1/siteverify', payload: { secret, token } }).then((r) => r.json<{ success: boolean; errorCodes?: string[] }>())
const stats = (app: TestApp, key: string) => app.app.inject({ url: '/v1/stats?siteKey=shop', headers: { authorization: `Bearer ${key}` } }).then((r) => r.statusCode)

describe('secret strength', () => {
  it.each(['shopsecret', 'a-long-secret', 'shopsecret-shopsecret-2024', 'x'.repeat(64), 'correcthorsebatterystaple', 'Summer2024!Summer2024!'])('refuses %j', (secret) => {
    expect(weakSecretReason(secret)).not.toBeNull()
    expect(() => makeSite({ siteKey: 'shop', secret, origins: ['https://shop.example'] }, randomBytes(32))).toThrow(/weak/)
  })

  it('accepts generated secrets (256 bits) and openssl rand output', () => {
    for (const role of ['seal', 'siteverify', 'dashboard'] as const) expect(weakSecretReason(generateSecret(role))).toBeNull()
    expect(weakSecretReason(randomBytes(32).toString('base64'))).toBeNull()
    expect(weakSecretReason(randomBytes(16).toString('hex'))).toBeNull()
  })

  it("a development site may keep a weak secret, and only a collector in development mode (--demo) loads one", () => {
    expect(() => siteRegistry([DEMO_SITE])).toThrow(/development site/)
    expect(siteRegistry([DEMO_SITE], { demo: true }).get('demo')).toBeDefined()
    expect(() => siteRegistry([{ ...shopSite(), development: true }])).toThrow(/development site/)
  })
})

describe('the account salt', () => {
  it('is no longer an offline oracle for the secret: the check that recovered shopsecret finds nothing, even given the right guess', async () => {
    t = await makeTestApp({ sites: siteRegistry([shopSite()]) })
    const { accountSalt } = (await t.app.inject({ url: '/v1/challenge?siteKey=shop', headers: { origin: 'https://shop.example' } })).json<{ accountSalt: string }>()
    // The attack: HMAC each guess as the old salt was made, compare with the public salt.
    const oldSalt = (guess: string) => createHmac('sha256', guess).update('vigil/account-salt/v1\nshop').digest().subarray(0, 16).toString('base64url')
    const guesses = ['shopsecret', 'password', 'demo-secret', SHOP.seal, SHOP.siteverify, SHOP.dashboard]
    expect(guesses.filter((g) => oldSalt(g) === accountSalt)).toEqual([])
  })

  it('comes from the data directory, not from any secret: the same across rotations, different per site and per directory', () => {
    const key = randomBytes(32)
    const before = siteRegistry([shopSite()], { accountSecret: key }).get('shop')!
    const rotated = siteRegistry([shopSite({ secrets: { seal: [testSecret('new-seal')], siteverify: [testSecret('new-sv')], dashboard: [testSecret('new-dash')] } })], { accountSecret: key }).get('shop')!
    expect(rotated.accountSalt).toBe(before.accountSalt)
    expect(siteRegistry([shopSite({ siteKey: 'shop2' })], { accountSecret: key }).get('shop2')!.accountSalt).not.toBe(before.accountSalt)
    expect(siteRegistry([shopSite()], { accountSecret: randomBytes(32) }).get('shop')!.accountSalt).not.toBe(before.accountSalt)
  })
})

describe('three credentials, each for its own use', () => {
  it('the seal secret opens tokens, the siteverify secret redeems them, the dashboard key reads stats; none stands in for another', async () => {
    t = await makeTestApp({ sites: siteRegistry([shopSite()]) })
    const token = await shopToken(t)
    const jwks = t.keyring.jwks
    await expect(verifyToken(token, { secret: SHOP.siteverify, siteKey: 'shop', jwks, now: t.clock.now(), action: 'checkout', hostname: 'shop.example' })).rejects.toMatchObject({ code: 'bad_seal' })
    await expect(verifyToken(token, { secret: SHOP.dashboard, siteKey: 'shop', jwks, now: t.clock.now(), action: 'checkout', hostname: 'shop.example' })).rejects.toMatchObject({ code: 'bad_seal' })
    expect((await verifyToken(token, { secret: SHOP.seal, siteKey: 'shop', jwks, now: t.clock.now(), action: 'checkout', hostname: 'shop.example' })).siteKey).toBe('shop')

    expect(await siteverify(t, SHOP.seal, token)).toEqual({ success: false, errorCodes: ['invalid_secret'] })
    expect(await siteverify(t, SHOP.dashboard, token)).toEqual({ success: false, errorCodes: ['invalid_secret'] })
    expect((await siteverify(t, SHOP.siteverify, token)).success).toBe(true)

    expect(await stats(t, SHOP.siteverify)).toBe(401)
    expect(await stats(t, SHOP.seal)).toBe(401)
    expect(await stats(t, SHOP.dashboard)).toBe(200)
  })
})

describe('rotation with a grace period (vigil-collector sites rotate)', () => {
  const setUp = async (now: number) => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-rotate-'))
    const file = join(dir, 'sites.json')
    const first = addSite(file, 'shop', ['https://shop.example'], now)
    return { file, first }
  }

  it('sites add writes generated secrets, one per role, that the collector loads', async () => {
    const now = Date.UTC(2026, 10, 26, 12)
    const { file, first } = await setUp(now)
    expect(new Set(Object.values(first)).size).toBe(3)
    for (const s of Object.values(first)) expect(weakSecretReason(s)).toBeNull()
    expect(readFileSync(file, 'utf8')).toContain(first.siteverify)
    expect(loadSites(dir!).get('shop')!.secretMatches('siteverify', first.siteverify, now)).toBe(true)
  })

  it('siteverify: the old secret works for the grace period, then only the new one', async () => {
    const start = Date.UTC(2026, 10, 26, 12)
    const { file, first } = await setUp(start)
    const rotation = rotateSecret(file, 'shop', 'siteverify', 3600_000, start)
    expect(rotation.oldUntil).toBe(start + 3600_000)
    const site = loadSites(dir!).get('shop')!
    const at = (ms: number, secret: string) => site.secretMatches('siteverify', secret, start + ms)
    expect([at(3599_000, first.siteverify), at(3599_000, rotation.secret)]).toEqual([true, true])
    expect([at(3600_000, first.siteverify), at(3600_000, rotation.secret)]).toEqual([false, true])
    // The other roles kept theirs.
    expect(site.secretMatches('dashboard', first.dashboard, start + 10 * 3600_000)).toBe(true)
    expect(site.sealingSecret(start + 10 * 3600_000)).toBe(first.seal)
  })

  it('seal: tokens stay under the old secret until the grace ends, then the new one; the old opens them one token lifetime longer', async () => {
    t = await makeTestApp({ sites: siteRegistry([]) })
    const start = t.clock.now()
    const { file, first } = await setUp(start)
    const rotation = rotateSecret(file, 'shop', 'seal', 3600_000, start)
    expect(rotation.activeFrom).toBe(start + 3600_000)
    await t.close()
    t = await makeTestApp({ sites: loadSites(dir!) })
    const jwks = t.keyring.jwks
    const opens = async (token: string, secret: string | string[]) =>
      verifyToken(token, { secret, siteKey: 'shop', jwks, now: t!.clock.now(), action: 'checkout', hostname: 'shop.example' }).then(() => true, () => false)

    const during = await shopToken(t)
    expect([await opens(during, first.seal), await opens(during, rotation.secret)]).toEqual([true, false])
    // A backend given both, newest first, opens every token of the rotation.
    expect(await opens(during, [rotation.secret, first.seal])).toBe(true)

    t.clock.advance(3600_000)
    const after = await shopToken(t)
    expect([await opens(after, first.seal), await opens(after, rotation.secret)]).toEqual([false, true])
    // siteverify opens tokens under either while the old seal lives, then only new ones.
    expect(t.sites.get('shop')!.openingSecrets(t.clock.now())).toEqual([rotation.secret, first.seal])
    expect(t.sites.get('shop')!.openingSecrets(rotation.oldUntil)).toEqual([rotation.secret])
  })

  it('refuses to rotate to nothing, and a site whose every secret has expired', () => {
    expect(() => makeSite(shopSite({ secrets: { seal: [{ secret: SHOP.seal, expiresAt: '2026-01-01T00:00:00Z' }], siteverify: [SHOP.siteverify], dashboard: [SHOP.dashboard] } }), randomBytes(32))).toThrow(/every seal secret expires/)
  })
})

/**
 * The risk areas a shop cares about, played through the collect route on both stores:
 * each scenario must end in the reason that names it, and only once its limit is reached.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { LIGHT_DEMO_SITE, makeTestApp, STORE_KINDS, testSecret, type TestApp } from '../../test/support/app'
import { TestDevice } from '../../test/support/device'
import { DEMO_SITE, siteRegistry } from '../src/config/sites'
import { accountHash } from '../../verify/src/index'

const TIGHT = { siteKey: 'tight', secret: testSecret('tight'), origins: ['http://127.0.0.1:*'], policy: { rateLimits: { devicePerMinute: 3, ipPerMinute: 8 }, proofOfWork: { newDevice: 10 } } }

describe.each(STORE_KINDS)('risk areas on %s', (kind) => {
  let t: TestApp
  beforeEach(async () => {
    t = await makeTestApp({ store: kind, sites: siteRegistry([LIGHT_DEMO_SITE, TIGHT], { demo: true }) })
  })
  afterEach(async () => {
    await t.close()
  })

  interface Act {
    device: TestDevice
    action?: string
    account?: string
    visitorId?: string
    ip?: string
    siteKey?: string
  }

  /** One token for this device/account/fingerprint; returns the verdict siteverify reports. */
  async function act({ device, action = 'login', account, visitorId, ip = '203.0.113.7', siteKey = 'demo' }: Act) {
    const ch = await t.app.inject({ url: `/v1/challenge?siteKey=${siteKey}&device=${device.id}`, remoteAddress: ip })
    if (ch.statusCode !== 200) return { status: ch.statusCode, code: (ch.json<{ error: { code: string } }>()).error.code, headers: ch.headers, reasons: [] as string[], verdict: '' }
    const challenge = (ch.json<{ challenge: string }>()).challenge
    const body = device.body(challenge, {
      siteKey,
      action,
      ...(account ? { account: accountHash(account, t.sites.get(siteKey)!.accountSalt) } : {}),
      fp: { visitorId: visitorId ?? `fp-${device.id}`, confidence: 0.5, ms: 10 },
    })
    const res = await t.app.inject({ method: 'POST', url: '/v1/collect', payload: body, remoteAddress: ip })
    if (res.statusCode !== 200) return { status: res.statusCode, code: (res.json<{ error: { code: string } }>()).error.code, headers: res.headers, reasons: [] as string[], verdict: '' }
    const token = (res.json<{ token: string }>()).token
    const v = (await t.app.inject({ method: 'POST', url: '/v1/siteverify', payload: { secret: siteKey === 'demo' ? DEMO_SITE.secret : TIGHT.secret, token } })).json<{ reasons: string[]; verdict: string; account: string | null }>()
    return { status: 200, code: '', headers: res.headers, reasons: v.reasons, verdict: v.verdict, account: v.account }
  }

  it('multi-accounting: the third account on one device', async () => {
    const device = new TestDevice()
    expect((await act({ device, account: 'ann@example.com' })).reasons).not.toContain('multi_account')
    expect((await act({ device, account: 'bob@example.com' })).reasons).not.toContain('multi_account')
    const third = await act({ device, account: 'cat@example.com' })
    expect(third.reasons).toContain('multi_account')
    expect(third.verdict).toBe('review')
    // The token names the account's hash, never the account.
    expect(third.account).toBe(accountHash('CAT@example.com ', t.sites.get('demo')!.accountSalt))
    // A day later the device starts afresh.
    t.clock.advance(25 * 3600_000)
    expect((await act({ device, account: 'dan@example.com' })).reasons).not.toContain('multi_account')
  })

  it('coupon abuse: a second account claiming the same coupon from one device', async () => {
    const device = new TestDevice()
    expect((await act({ device, action: 'coupon/claim', account: 'ann@example.com' })).reasons).not.toContain('coupon_abuse')
    const second = await act({ device, action: 'coupon/claim', account: 'bob@example.com' })
    expect(second.reasons).toContain('coupon_abuse')
    // The same two accounts signing in is not coupon abuse.
    expect((await act({ device, action: 'login', account: 'bob@example.com' })).reasons).not.toContain('coupon_abuse')
  })

  it('coupon abuse across wiped browsers: one fingerprint, new device keys', async () => {
    const fp = 'fp-reset-browser'
    expect((await act({ device: new TestDevice(), visitorId: fp, action: 'coupon/claim', account: 'ann@example.com' })).reasons).not.toContain('coupon_abuse')
    expect((await act({ device: new TestDevice(), visitorId: fp, action: 'coupon/claim', account: 'bob@example.com' })).reasons).toContain('coupon_abuse')
  })

  it('click farm: many device keys on one fingerprint with many accounts', async () => {
    const fp = 'fp-identical-phones'
    let last: string[] = []
    for (let i = 0; i < 5; i++) last = (await act({ device: new TestDevice(), visitorId: fp, account: `worker${i}@example.com`, ip: `198.51.100.${i}` })).reasons
    expect(last).toContain('click_farm')
  })

  it('click farm: many accounts behind one IP', async () => {
    let reasons: string[] = []
    for (let i = 0; i < 10; i++) reasons = (await act({ device: new TestDevice(), account: `farm${i}@example.com`, ip: '192.0.2.50' })).reasons
    expect(reasons).toContain('click_farm')
  })

  it('brushing: orders from three linked accounts within an hour', async () => {
    const fp = 'fp-brusher'
    const order = (i: number) => act({ device: new TestDevice(), visitorId: fp, action: 'checkout', account: `buyer${i}@example.com`, ip: `198.51.100.${10 + i}` })
    expect((await order(0)).reasons).not.toContain('brushing')
    expect((await order(1)).reasons).not.toContain('brushing')
    const third = await order(2)
    expect(third.reasons).toContain('brushing')
    expect(third.reasons).not.toContain('multi_account')
  })

  it('velocity: twenty tokens from one device in a minute', async () => {
    const device = new TestDevice()
    let reasons: string[] = []
    for (let i = 0; i < 20; i++) reasons = (await act({ device, action: 'browse' })).reasons
    expect(reasons).toContain('velocity')
    t.clock.advance(61_000)
    expect((await act({ device, action: 'browse' })).reasons).not.toContain('velocity')
  })

  it('account takeover signal: an account on its third device in a week', async () => {
    const account = 'victim@example.com'
    await act({ device: new TestDevice(), account })
    await act({ device: new TestDevice(), account })
    expect((await act({ device: new TestDevice(), account })).reasons).toContain('new_device')
  })

  it('rate limits: per device after the limit, with Retry-After; per IP on challenges too', async () => {
    const device = new TestDevice()
    for (let i = 0; i < 3; i++) expect((await act({ device, siteKey: 'tight', ip: '203.0.113.20' })).status).toBe(200)
    const limited = await act({ device, siteKey: 'tight', ip: '203.0.113.20' })
    expect([limited.status, limited.code]).toEqual([429, 'rate_limited'])
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1)
    // The IP has spent 8 of its 8 (4 challenges, 4 collects): its next challenge is refused too.
    const res = await t.app.inject({ url: '/v1/challenge?siteKey=tight', remoteAddress: '203.0.113.20' })
    expect([res.statusCode, (res.json<{ error: { code: string } }>()).error.code]).toEqual([429, 'rate_limited'])
    expect(res.headers['retry-after']).toBeDefined()
    // Another IP is not affected.
    expect((await t.app.inject({ url: '/v1/challenge?siteKey=tight', remoteAddress: '203.0.113.21' })).statusCode).toBe(200)
    t.clock.advance(60_000)
    expect((await act({ device, siteKey: 'tight', ip: '203.0.113.20' })).status).toBe(200)
  })
})

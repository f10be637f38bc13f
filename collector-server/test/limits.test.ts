/**
 * Finding 5: limits came after validation, or were missing. 1,000 bad collect bodies made
 * 1,000 dashboard failures (each refused before the IP limit was reached); 1,000 wrong
 * bearer tokens on /v1/stats got no 429; one telemetry POST counted a million dropped
 * reports. Each attack, scaled down, refused.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { makeTestApp, type TestApp } from '../../test/support/app'
import { TestDevice } from '../../test/support/device'
import { DEMO_SITE, siteRegistry } from '../src/config/sites'

let t: TestApp | undefined
afterEach(async () => {
  await t?.close()
  t = undefined
})

const statuses = (list: number[]) => list.reduce<Record<number, number>>((acc, s) => ({ ...acc, [s]: (acc[s] ?? 0) + 1 }), {})

describe('limits before validation', () => {
  it('bad collect bodies meet the IP limit before validation: 100 of them write 20 failures, not 100', async () => {
    t = await makeTestApp({ sites: siteRegistry([{ ...DEMO_SITE, policy: { rateLimits: { ipPerMinute: 20 } } }], { demo: true }) })
    const good = new TestDevice().body(await t.challenge())
    // The site key is right, the rest fails the schema: each used to reach the dashboard.
    const bad = JSON.stringify({ ...good, payload: { ...good.payload, ts: 'not a number' } })
    const seen: number[] = []
    for (let i = 0; i < 100; i++) {
      seen.push((await t.app.inject({ method: 'POST', url: '/v1/collect', payload: bad, headers: { 'content-type': 'application/json' } })).statusCode)
    }
    expect(statuses(seen)).toEqual({ 400: 20, 429: 80 })
    const snapshot = await t.store.stats.snapshot('demo', t.clock.now() - 60_000, t.clock.now())
    const failures = snapshot.buckets.reduce((sum, b) => sum + (b.counts['fail:bad_request'] ?? 0) + (b.counts['fail:rate_limited'] ?? 0), 0)
    expect(failures).toBe(20)
  })

  it('so do oversized bodies: refused by the limit before they are read', async () => {
    t = await makeTestApp({ sites: siteRegistry([{ ...DEMO_SITE, policy: { rateLimits: { ipPerMinute: 3 } } }], { demo: true }) })
    const huge = '{"pad":"' + 'x'.repeat(200_000) + '"}'
    const seen: number[] = []
    for (let i = 0; i < 6; i++) seen.push((await t.app.inject({ method: 'POST', url: '/v1/collect', payload: huge, headers: { 'content-type': 'application/json' } })).statusCode)
    expect(statuses(seen)).toEqual({ 413: 3, 429: 3 })
  })

  it('/v1/stats: wrong bearer tokens meet a per-IP limit (120 a minute) before the secret is checked', async () => {
    t = await makeTestApp()
    const seen: number[] = []
    for (let i = 0; i < 200; i++) {
      seen.push((await t.app.inject({ url: '/v1/stats?siteKey=demo', headers: { authorization: `Bearer guess-${i}` } })).statusCode)
    }
    expect(statuses(seen)).toEqual({ 401: 120, 429: 80 })
    // Another address is not held back, and the window ends.
    expect((await t.app.inject({ url: '/v1/stats?siteKey=demo', remoteAddress: '203.0.113.5', headers: { authorization: 'Bearer demo-secret' } })).statusCode).toBe(200)
    t.clock.advance(60_000)
    expect((await t.app.inject({ url: '/v1/stats?siteKey=demo', headers: { authorization: 'Bearer demo-secret' } })).statusCode).toBe(200)
  })

  it('telemetry: one POST cannot claim a million dropped reports', async () => {
    t = await makeTestApp()
    const body = { v: 1, siteKey: 'demo', sdk: 'test', reports: [{ code: 'timeout', action: 'checkout', ms: 5000, at: t.clock.now() }], dropped: 1_000_000 }
    const res = await t.app.inject({ method: 'POST', url: '/v1/telemetry', payload: body })
    expect(res.statusCode).toBe(202)
    const metrics = await t.metrics()
    const dropped = Number(/^vigil_sdk_failures_dropped_total (\d+)$/m.exec(metrics)?.[1])
    expect(dropped).toBeGreaterThan(0)
    expect(dropped).toBeLessThanOrEqual(32)
  })

  it('telemetry meets its IP limit before parsing too', async () => {
    t = await makeTestApp({ sites: siteRegistry([{ ...DEMO_SITE, policy: { rateLimits: { ipPerMinute: 5 } } }], { demo: true }) })
    const seen: number[] = []
    for (let i = 0; i < 10; i++) seen.push((await t.app.inject({ method: 'POST', url: '/v1/telemetry', payload: '{"v":', headers: { 'content-type': 'application/json' } })).statusCode)
    expect(statuses(seen)).toEqual({ 400: 5, 429: 5 })
  })
})

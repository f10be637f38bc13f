/**
 * Finding 1: behind `--trust-proxy` (then a boolean) the client chose its own address by
 * writing the leftmost X-Forwarded-For entry: 20 of 20 challenges passed a limit of 5, and
 * twelve coupon claims from "different" addresses were all allowed. Load balancers append
 * what they saw; the collector now believes only the entries its own proxies wrote.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createHash, randomBytes } from 'node:crypto'
import { makeTestApp, type TestApp } from '../../test/support/app'
import { TestDevice } from '../../test/support/device'
import { DEMO_SITE, siteRegistry } from '../src/config/sites'
import { fastifyTrustProxy, parseTrustProxy, type TrustProxy } from '../src/net/trust-proxy'
import { accountHashFromDigest } from '@vigil-risk/core/protocol/payload'
import { verifyToken } from 'vigil/verify'

const LOAD_BALANCER = '10.0.0.2'
const REAL_CLIENT = '203.0.113.9'
/** What reaches the collector: the client's own X-Forwarded-For, with the load balancer's entry appended. */
const viaLoadBalancer = (spoofed: string) => ({ remoteAddress: LOAD_BALANCER, headers: { 'x-forwarded-for': `${spoofed}, ${REAL_CLIENT}` } })

let t: TestApp | undefined
afterEach(async () => {
  await t?.close()
  t = undefined
})

const limited = (ipPerMinute: number) => siteRegistry([{ ...DEMO_SITE, policy: { rateLimits: { ipPerMinute } } }], { demo: true })

describe.each<[string, TrustProxy]>([
  ['one hop', 1],
  ['the proxy CIDR', ['10.0.0.0/8']],
])('trust proxy by %s', (_, trustProxy) => {
  it('a client writing its own X-Forwarded-For entries still gets one rate-limit bucket', async () => {
    t = await makeTestApp({ sites: limited(5), trustProxy })
    const statuses: number[] = []
    for (let i = 0; i < 20; i++) {
      const res = await t.app.inject({ url: '/v1/challenge?siteKey=demo', ...viaLoadBalancer(`198.51.100.${i}`) })
      statuses.push(res.statusCode)
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(5)
    expect(statuses.filter((s) => s === 429)).toHaveLength(15)
  })

  it('twelve coupon claims under twelve made-up addresses are linked to the one real address', async () => {
    t = await makeTestApp({ trustProxy })
    const verdicts: string[] = []
    for (let i = 0; i < 12; i++) {
      const challenge = (await t.app.inject({ url: '/v1/challenge?siteKey=demo', ...viaLoadBalancer(`198.51.100.${i}`) })).json<{ challenge: string }>().challenge
      const account = accountHashFromDigest(createHash('sha512').update(randomBytes(16)).digest())
      // Twelve devices, twelve fingerprints, twelve accounts: only the address links them.
      const fp = { visitorId: randomBytes(16).toString('hex'), confidence: 0.6, ms: 40 }
      const body = new TestDevice().body(challenge, { action: 'coupon/claim', account, fp })
      const res = await t.app.inject({ method: 'POST', url: '/v1/collect', payload: body, ...viaLoadBalancer(`198.51.100.${i}`) })
      expect(res.statusCode).toBe(200)
      const { token } = res.json<{ token: string }>()
      const verified = await verifyToken(token, { secret: 'demo-secret', siteKey: 'demo', jwks: t.keyring.jwks, now: t.clock.now(), action: 'coupon/claim', hostname: '127.0.0.1' })
      verdicts.push(verified.verdict)
      // The stored event (and the log line) name the address the load balancer saw.
      expect((await t.store.events.get(verified.jti))?.ip).toBe(REAL_CLIENT)
    }
    // accountsPerIp (10 accounts behind one address in an hour) turns the last claims to review.
    expect(verdicts.slice(0, 9)).not.toContain('review')
    expect(verdicts.slice(9).every((v) => v !== 'allow')).toBe(true)
  })

  it('a client that reaches the collector directly cannot name an address at all', async () => {
    t = await makeTestApp({ sites: limited(5), trustProxy: ['10.0.0.0/8'] })
    const statuses: number[] = []
    for (let i = 0; i < 10; i++) {
      const res = await t.app.inject({ url: '/v1/challenge?siteKey=demo', remoteAddress: REAL_CLIENT, headers: { 'x-forwarded-for': `198.51.100.${i}` } })
      statuses.push(res.statusCode)
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(5)
  })
})

describe('an X-Forwarded-For entry that is not a bare address', () => {
  /** The address stored with the event of a collect that came through the load balancer with `entry`. */
  const stored = async (t: TestApp, entry: string): Promise<string | undefined> => {
    const via = { remoteAddress: LOAD_BALANCER, headers: { 'x-forwarded-for': entry } }
    const challenge = (await t.app.inject({ url: '/v1/challenge?siteKey=demo', ...via })).json<{ challenge: string }>().challenge
    const res = await t.app.inject({ method: 'POST', url: '/v1/collect', payload: new TestDevice().body(challenge), ...via })
    expect(res.statusCode, res.body).toBe(200)
    const { jti } = await verifyToken(res.json<{ token: string }>().token, { secret: 'demo-secret', siteKey: 'demo', jwks: t.keyring.jwks, now: t.clock.now(), action: 'checkout', hostname: '127.0.0.1' })
    return (await t.store.events.get(jti))?.ip
  }

  it('address:port (as some load balancers write it) is the address', async () => {
    t = await makeTestApp({ trustProxy: 1 })
    expect(await stored(t, '203.0.113.9:4711')).toBe('203.0.113.9')
    expect(await stored(t, '[2001:db8::1]:443')).toBe('2001:db8::1')
  })

  it('anything else is keyed on the proxy that passed it on: no bucket of its own per string', async () => {
    t = await makeTestApp({ sites: limited(5), trustProxy: 1 })
    const statuses: number[] = []
    for (const entry of ['garbage', 'unknown', 'a'.repeat(4000), 'ä', '1.2.3.4.5', 'x1', 'x2', 'x3']) {
      statuses.push((await t.app.inject({ url: '/v1/challenge?siteKey=demo', remoteAddress: LOAD_BALANCER, headers: { 'x-forwarded-for': entry } })).statusCode)
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(5)
  })
})

describe('--trust-proxy / VIGIL_TRUST_PROXY', () => {
  it('takes a hop count or a list of addresses and CIDRs', () => {
    expect(parseTrustProxy('1')).toBe(1)
    expect(parseTrustProxy(' 2 ')).toBe(2)
    expect(parseTrustProxy('10.0.0.0/8, 192.168.1.7,2001:db8::/32')).toEqual(['10.0.0.0/8', '192.168.1.7', '2001:db8::/32'])
  })

  it.each(['true', 'all', '*', 'yes', '0.0.0.0/0', '::/0', '10.0.0.0/33', 'proxy.internal', '11', '-1', '1.5', '', ','])('refuses %j', (text) => {
    expect(() => parseTrustProxy(text)).toThrow(/trust proxy/)
  })

  it('a hop count trusts exactly that many proxies, counted from the collector', () => {
    const trust = fastifyTrustProxy(2) as (address: string, i: number) => boolean
    expect([0, 1, 2].map((i) => trust('10.0.0.1', i))).toEqual([true, true, false])
    expect(fastifyTrustProxy(0)).toBe(false)
    expect(fastifyTrustProxy(undefined)).toBe(false)
  })
})

/**
 * Finding 10: the demo backend, which merchants copy, took the account to bind a token to
 * from the request body: anyone could claim Bob's coupon by naming Bob. The account now
 * comes from the shop's own session (an HttpOnly cookie set at sign-in).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestCollector, type TestCollector } from '../../test/support/collector'
import { TestDevice } from '../../test/support/device'
import { accountHash } from 'vigil/verify'
import { randomBytes } from 'node:crypto'

let collector: TestCollector
let salt: string
beforeAll(async () => {
  collector = await startTestCollector()
  salt = ((await (await fetch(`${collector.url}/v1/challenge?siteKey=demo`)).json()) as { accountSalt: string }).accountSalt
})
afterAll(async () => {
  await collector?.close()
})

/** A demo-site token for `action`, obtained (by anyone: the hash is public) for `account`. */
async function token(action: string, account?: string): Promise<string> {
  const { challenge } = (await (await fetch(`${collector.url}/v1/challenge?siteKey=demo`)).json()) as { challenge: string }
  // A device and fingerprint of its own each time: only the session links these requests.
  const fp = { visitorId: randomBytes(16).toString('hex'), confidence: 0.6, ms: 10 }
  const body = new TestDevice().body(challenge, { action, fp, ...(account ? { account: accountHash(account, salt) } : {}) })
  const res = await fetch(`${collector.url}/v1/collect`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  expect(res.status).toBe(200)
  return ((await res.json()) as { token: string }).token
}

async function shop(path: string, body: Record<string, unknown>, cookie?: string) {
  const res = await fetch(`${collector.url}/demo/api/${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) }, body: JSON.stringify(body) })
  return { status: res.status, cookie: res.headers.get('set-cookie')?.split(';')[0], body: (await res.json()) as Record<string, unknown> }
}

async function signIn(email: string): Promise<string> {
  const res = await shop('login', { token: await token('login', email), email })
  expect(res.body['outcome']).toBe('allowed')
  expect(res.cookie).toMatch(/^demo_session=[A-Za-z0-9_-]{43}$/)
  return res.cookie!
}

describe('the demo shop binds tokens to its own session', () => {
  it("naming Bob in the body claims nothing: no session, no coupon", async () => {
    const res = await shop('coupon', { token: await token('coupon/claim', 'bob@example.com'), account: 'bob@example.com' })
    expect([res.status, res.body['error']]).toEqual([400, 'sign_in_first'])
  })

  it("signed in as Mallory, a token for Bob (and Bob's name in the body) is refused: the session says Mallory", async () => {
    const mallory = await signIn('mallory@example.com')
    const res = await shop('coupon', { token: await token('coupon/claim', 'bob@example.com'), account: 'bob@example.com' }, mallory)
    expect([res.status, res.body['error']]).toEqual([403, 'wrong_account'])
    // Mallory's own claim is Mallory's; Bob's coupon is still his to claim.
    expect((await shop('coupon', { token: await token('coupon/claim', 'mallory@example.com') }, mallory)).body['outcome']).toBe('allowed')
    const bob = await signIn('bob@example.com')
    expect((await shop('coupon', { token: await token('coupon/claim', 'bob@example.com') }, bob)).body['outcome']).toBe('allowed')
  })

  it('signing out ends the session', async () => {
    const ann = await signIn('ann@example.com')
    const session = async () => (await (await fetch(`${collector.url}/demo/api/session`, { headers: { cookie: ann } })).json()) as { account: string | null }
    expect(await session()).toEqual({ account: 'ann@example.com' })
    await fetch(`${collector.url}/demo/api/logout`, { method: 'POST', headers: { cookie: ann } })
    expect(await session()).toEqual({ account: null })
  })
})

describe("beside the shop's files at /*", () => {
  it('a route asked with another method is 405, a path nothing serves is 404', async () => {
    const ask = async (method: string, path: string) => {
      const res = await fetch(`${collector.url}${path}`, { method })
      return [res.status, res.headers.get('allow'), ((await res.json()) as { error: { code: string } }).error.code]
    }
    expect(await ask('GET', '/v1/collect')).toEqual([405, 'OPTIONS, POST', 'method_not_allowed'])
    expect(await ask('GET', '/v1/%63ollect')).toEqual([405, 'OPTIONS, POST', 'method_not_allowed'])
    expect(await ask('POST', '/healthz')).toEqual([405, 'GET, HEAD', 'method_not_allowed'])
    expect(await ask('POST', '/v2/collect')).toEqual([404, null, 'not_found'])
    expect(await ask('GET', '/nothing.html')).toEqual([404, null, 'not_found'])
    expect(await ask('DELETE', '/nothing')).toEqual([404, null, 'not_found'])
  })
})

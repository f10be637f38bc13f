/**
 * Two collector processes on one Redis and one data directory behave as one collector:
 * a challenge, a nonce or a token spent on one is spent on both; rate limits, velocity
 * counters and linking are shared; a key rotation reaches both.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startRedis, type RedisServer } from '../support/redis'
import { runCli, startCli, type CliCollector } from '../support/cli'
import { TestDevice } from '../support/device'
import { DEMO_SITE } from '../../collector-server/src/config/sites'
import { accountHash } from '../../verify/src/index'
import { testSecret } from '../support/app'
import { inOneRateWindow } from '../support/rate-window'

let redis: RedisServer
let a: CliCollector
let b: CliCollector
let dataDir: string
const TIGHT = { siteKey: 'tight', secret: testSecret('tight'), origins: ['http://127.0.0.1:*'], policy: { rateLimits: { ipPerMinute: 6, devicePerMinute: 100 } } }

beforeAll(async () => {
  redis = await startRedis()
  dataDir = mkdtempSync(join(tmpdir(), 'vigil-instances-'))
  writeFileSync(join(dataDir, 'sites.json'), JSON.stringify({ sites: [DEMO_SITE, TIGHT] }))
  ;[a, b] = (await Promise.all([0, 1].map(() => startCli(['--data-dir', dataDir, '--demo', '--store', redis.url])))) as [CliCollector, CliCollector]
})
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()])
  await redis?.stop()
})

const json = async (url: string, init?: RequestInit) => {
  const res = await fetch(url, init)
  return { status: res.status, body: (await res.json()) as Record<string, any>, headers: res.headers }
}
const challenge = async (at: CliCollector, siteKey = 'demo') => (await json(`${at.url}/v1/challenge?siteKey=${siteKey}`)).body['challenge'] as string
const post = (at: CliCollector, path: string, body: unknown) => json(`${at.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })

describe('two instances, one Redis', () => {
  it('a challenge from A works on B once, and a replay on A is refused', async () => {
    const body = new TestDevice().body(await challenge(a))
    expect((await post(b, '/v1/collect', body)).status).toBe(200)
    const replay = await post(a, '/v1/collect', body)
    expect([replay.status, replay.body['error'].code]).toEqual([409, 'replayed'])
  })

  it('a token redeemed on A is already redeemed on B', async () => {
    const token = (await post(a, '/v1/collect', new TestDevice().body(await challenge(b)))).body['token']
    expect((await post(a, '/v1/siteverify', { secret: 'demo-secret', token })).body).toMatchObject({ success: true })
    expect((await post(b, '/v1/siteverify', { secret: 'demo-secret', token })).body).toEqual({ success: false, errorCodes: ['already_redeemed'] })
  })

  it('rate limits count on both: the IP spends its budget on A and B together', async () => {
    const statuses: number[] = []
    await inOneRateWindow()
    for (let i = 0; i < 8; i++) statuses.push((await json(`${(i % 2 ? a : b).url}/v1/challenge?siteKey=tight`)).status)
    expect(statuses.slice(0, 6)).toEqual([200, 200, 200, 200, 200, 200])
    expect(statuses.slice(6)).toEqual([429, 429])
  })

  it('linking and velocity count on both: accounts on one device across instances', async () => {
    const device = new TestDevice()
    const reasons: string[][] = []
    for (const [i, account] of ['ann', 'bob', 'cat'].entries()) {
      const at = i % 2 ? a : b
      const { accountSalt } = (await json(`${at.url}/v1/challenge?siteKey=demo`)).body as { accountSalt: string }
      const body = device.body(await challenge(at), { action: 'login', account: accountHash(account, accountSalt) })
      const token = (await post(at, '/v1/collect', body)).body['token']
      reasons.push((await post(i % 2 ? b : a, '/v1/siteverify', { secret: 'demo-secret', token })).body['reasons'])
    }
    expect(reasons[1]).not.toContain('multi_account')
    expect(reasons[2]).toContain('multi_account')
  })

  it('a key rotation reaches both instances; tokens signed with the old key still verify', async () => {
    const oldToken = (await post(a, '/v1/collect', new TestDevice().body(await challenge(a)))).body['token']
    const before = (await json(`${a.url}/.well-known/jwks.json`)).body['keys'] as Array<{ kid: string }>
    const rotated = runCli(['keys', 'rotate', '--data-dir', dataDir])
    expect(rotated.status).toBe(0)
    const newKid = /new active key (\S+);/.exec(rotated.stdout)![1]!
    for (const at of [a, b]) {
      let kids: string[] = []
      for (let i = 0; i < 40 && !kids.includes(newKid); i++) {
        await new Promise((r) => setTimeout(r, 150))
        kids = ((await json(`${at.url}/.well-known/jwks.json`)).body['keys'] as Array<{ kid: string }>).map((k) => k.kid)
      }
      expect(kids).toEqual([newKid, before[0]!.kid])
    }
    expect((await post(b, '/v1/siteverify', { secret: 'demo-secret', token: oldToken })).body).toMatchObject({ success: true })
    const retired = runCli(['keys', 'retire', before[0]!.kid, '--data-dir', dataDir])
    expect(retired.status).toBe(0)
    expect(runCli(['keys', 'list', '--data-dir', dataDir]).stdout).not.toContain(before[0]!.kid)
  })

  it('both report the Redis store on /healthz, and events land in the vigil:events stream', async () => {
    for (const at of [a, b]) expect((await json(`${at.url}/healthz`)).body).toEqual({ status: 'ok', store: 'redis' })
    const { Redis } = await import('ioredis')
    const client = new Redis(redis.url)
    expect(await client.xlen('vigil:events')).toBeGreaterThanOrEqual(6)
    const groups = (await client.xinfo('GROUPS', 'vigil:events')) as unknown[][]
    expect(groups.map((g) => g[1])).toContain('risk')
    client.disconnect()
  })

  it('a Redis that hangs: collects and /healthz are 503 store_unavailable within 5 s, not held; after it, collects work', { timeout: 30_000 }, async () => {
    const { Redis } = await import('ioredis')
    const client = new Redis(redis.url)
    const device = new TestDevice()
    const first = await challenge(a)
    // Every client's commands wait for 8 s, as on a node that stopped answering.
    await client.call('CLIENT', 'PAUSE', '8000', 'ALL')
    const pausedAt = performance.now()
    try {
      const [collect, health] = await Promise.all([post(a, '/v1/collect', device.body(first)), json(`${a.url}/healthz`)])
      expect(performance.now() - pausedAt).toBeLessThan(7_000)
      expect([collect.status, collect.body['error']?.code]).toEqual([503, 'store_unavailable'])
      expect([health.status, health.body]).toEqual([503, { status: 'unavailable', store: 'redis' }])
    } finally {
      await client.call('CLIENT', 'UNPAUSE')
      client.disconnect()
    }
    const again = await post(a, '/v1/collect', device.body(await challenge(a)))
    expect(again.status).toBe(200)
  })
})

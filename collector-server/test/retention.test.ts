/**
 * Retention and erasure (docs/privacy.md), on both stores: events and devices are purged
 * after their retention, the Redis event stream is bounded and stays readable by consumer
 * groups, and POST /v1/erase deletes one account's or one device's data on one site.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { inject } from 'vitest'
import { Cluster, Redis } from 'ioredis'
import { randomBytes } from 'node:crypto'
import { makeTestApp, makeTestStore, OTHER_SITE, STORE_KINDS, type TestApp } from '../../test/support/app'
import { TestDevice } from '../../test/support/device'
import { connectCluster } from '../../test/support/redis-cluster'
import { openRedisStore } from '../src/stores/redis'
import type { CollectEvent, Store } from '../src/stores/types'
import { accountHash, verifyToken } from '../../verify/src/index'
import { DEMO_SITE } from '../src/config/sites'

const DAY = 24 * 3600_000
const A = 'a'.repeat(22)
const B = 'b'.repeat(22)
const D1 = '1'.repeat(22)
const D2 = '2'.repeat(22)

const event = (id: string, at: number, fields: Partial<CollectEvent> = {}): CollectEvent => ({
  id,
  at,
  siteKey: 'demo',
  action: 'checkout',
  deviceId: D1,
  visitorId: 'fp',
  account: null,
  ip: '127.0.0.1',
  hostname: '127.0.0.1',
  verdict: 'allow',
  score: 0.1,
  reasons: [],
  keyImpl: 'webcrypto',
  sdk: 'test',
  detail: {},
  ...fields,
})

describe.each(STORE_KINDS)('retention on %s', (kind) => {
  const start = 1_800_000_000_000
  let offset = 0
  let store: Store
  const now = () => start + offset
  beforeEach(async () => {
    offset = 0
    store = await makeTestStore(kind, now, undefined, { eventsMs: 30 * DAY, devicesMs: 90 * DAY })
  })
  afterEach(async () => {
    await store.close()
  })

  it('purges events after their retention, and keeps the rest', async () => {
    for (const id of ['e1', 'e2', 'e3']) await store.events.append(event(id, now()))
    offset = 10 * DAY
    await store.events.append(event('e4', now()))
    expect(await store.purge()).toMatchObject({ events: 0 })
    expect(await store.events.count()).toBe(4)
    offset = 31 * DAY
    expect((await store.purge()).events).toBe(3)
    expect(await store.events.count()).toBe(1)
    expect(await store.events.get('e1')).toBeNull()
    expect(await store.events.get('e4')).not.toBeNull()
  })

  it('forgets a device not seen within its retention', async () => {
    const sighting = { deviceId: D1, publicKey: 'pk', keyImpl: 'webcrypto', visitorId: 'fp', ip: '10.0.0.1', at: now() }
    expect(await store.devices.touch(sighting)).toBeNull()
    if (kind !== 'sqlite') {
      // Redis expires the device itself, retention after its last sighting.
      const redis = kind === 'redis' ? new Redis(inject('redisUrl')) : await connectCluster(inject('redisClusterUrl'))
      const nodes = redis instanceof Cluster ? redis.nodes('master') : [redis]
      const keys = (await Promise.all(nodes.map((n) => n.keys(`*device:${D1}`)))).flat()
      const ttl = await redis.pttl(keys[keys.length - 1]!)
      await redis.quit()
      expect(ttl).toBeGreaterThan(90 * DAY - 60_000)
      expect(ttl).toBeLessThanOrEqual(90 * DAY)
      return
    }
    offset = 89 * DAY
    await store.purge()
    expect(await store.devices.touch({ ...sighting, at: now() })).not.toBeNull() // seen 89 days ago: kept, and seen again now
    offset = 89 * DAY + 91 * DAY
    expect((await store.purge()).devices).toBe(1)
    expect(await store.devices.touch({ ...sighting, at: now() })).toBeNull() // a first sighting again
  })
})

describe.each(['redis', 'redis-cluster'] as const)('the Redis event stream on %s', (kind) => {
  const prefix = () => `test-${randomBytes(6).toString('hex')}:`
  const url = () => inject(kind === 'redis' ? 'redisUrl' : 'redisClusterUrl')
  /** A plain client of the test's own: one Redis, or the Cluster (the stream is one key: any command on it works). */
  const connectTo = async (): Promise<Redis | Cluster> => (kind === 'redis' ? new Redis(inject('redisUrl')) : connectCluster(inject('redisClusterUrl')))

  it("ids events by their own time, in order even when instances' clocks disagree", async () => {
    const p = prefix()
    const store = await openRedisStore({ url: url(), prefix: p })
    const redis = await connectTo()
    try {
      await store.events.append(event('ahead', 1_800_000_005_000))
      await store.events.append(event('behind', 1_800_000_000_000)) // another instance, 5 s slow
      const ids = (await redis.xrange(`${p}events`, '-', '+')).map(([id]) => id)
      expect(ids).toEqual(['1800000005000-0', '1800000005000-1'])
      expect(await store.events.get('behind')).toMatchObject({ at: 1_800_000_000_000 })
    } finally {
      await redis.quit()
      await store.close()
    }
  })

  it('stays within MAXLEN, and a consumer group reads what is there', async () => {
    const p = prefix()
    const store = await openRedisStore({ url: url(), prefix: p, retention: { streamMaxLen: 100 } })
    const redis = await connectTo()
    try {
      for (let i = 0; i < 500; i++) await store.events.append(event(`e${i}`, Date.now()))
      const length = await redis.xlen(`${p}events`)
      // MAXLEN ~ trims whole stream nodes (100 entries by default): at least 100 stay, never much more.
      expect(length).toBeGreaterThanOrEqual(100)
      expect(length).toBeLessThanOrEqual(200)
      // The collector created the group `risk` at the end of the stream; a risk backend reading
      // from the start gets every surviving entry, the newest included.
      await redis.xgroup('SETID', `${p}events`, 'risk', '0')
      const read = (await redis.xreadgroup('GROUP', 'risk', 'backend-1', 'COUNT', 1000, 'STREAMS', `${p}events`, '>')) as Array<[string, Array<[string, string[]]>]>
      const entries = read[0]![1]
      expect(entries).toHaveLength(length)
      expect(JSON.parse(entries[entries.length - 1]![1][3]!)).toMatchObject({ id: 'e499' })
      // Trimming after the read: pending entries that went are reported as deleted, not lost silently.
      for (let i = 500; i < 1000; i++) await store.events.append(event(`e${i}`, Date.now()))
      const pending = (await redis.xreadgroup('GROUP', 'risk', 'backend-1', 'COUNT', 1000, 'STREAMS', `${p}events`, '0')) as Array<[string, Array<[string, string[] | null]>]>
      expect(pending[0]![1].some(([, fields]) => fields === null)).toBe(true)
    } finally {
      await redis.quit()
      await store.close()
    }
  })
})

describe.each(STORE_KINDS)('erasure on %s', (kind) => {
  let t = 1_800_000_000_000
  let store: Store
  beforeEach(async () => {
    t = 1_800_000_000_000
    store = await makeTestStore(kind, () => t)
  })
  afterEach(async () => {
    await store.close()
  })

  async function seed(): Promise<void> {
    await store.devices.touch({ deviceId: D1, publicKey: 'pk1', keyImpl: 'webcrypto', visitorId: 'fp', ip: '10.0.0.1', at: t })
    await store.devices.touch({ deviceId: D2, publicKey: 'pk2', keyImpl: 'webcrypto', visitorId: 'fp', ip: '10.0.0.2', at: t })
    await store.events.append(event('a-d1', t, { account: A, deviceId: D1 }))
    await store.events.append(event('b-d1', t, { account: B, deviceId: D1 }))
    await store.events.append(event('b-d2', t, { account: B, deviceId: D2 }))
    await store.events.append(event('a-other', t, { account: A, deviceId: D1, siteKey: 'other' }))
    const link = (k: string, key: string, member: string) => ({ kind: k, key, member, windowMs: DAY })
    await store.links.observe([link('demo:acc:dev', D1, A), link('demo:acc:dev', D1, B), link('demo:dev:acc', A, D1), link('demo:dev:acc', B, D2), link('other:acc:dev', D1, A)], t)
    await store.stats.recordEvent('demo', t, { verdict: 'allow', reasons: [], score: 0, behavior: null, deviceId: D2, accountsOnDevice: 2 })
  }

  it('by account hash: its events and link entries on that site, nothing of other accounts or sites', async () => {
    await seed()
    expect(await store.erase({ siteKey: 'demo', account: A })).toEqual({ events: 1, links: 2, devices: 0 })
    expect(await store.events.get('a-d1')).toBeNull()
    expect(await store.events.get('b-d1')).not.toBeNull()
    expect(await store.events.get('a-other')).not.toBeNull()
    // D1 is now linked to B alone; the other site's link to A is untouched.
    expect(await store.links.observe([{ kind: 'demo:acc:dev', key: D1, member: B, windowMs: DAY }, { kind: 'other:acc:dev', key: D1, member: A, windowMs: DAY }], t + 1)).toEqual([1, 1])
    expect(await store.erase({ siteKey: 'demo', account: A })).toEqual({ events: 0, links: 0, devices: 0 })
  })

  it('by device id: its events, link entries, device record and dashboard entry', async () => {
    await seed()
    expect(await store.erase({ siteKey: 'demo', deviceId: D2 })).toEqual({ events: 1, links: 1, devices: 1 })
    expect(await store.events.get('b-d2')).toBeNull()
    expect(await store.events.get('b-d1')).not.toBeNull()
    expect((await store.stats.snapshot('demo', t - 60_000, t)).topDevices).toEqual([])
    expect(await store.devices.touch({ deviceId: D2, publicKey: 'pk2', keyImpl: 'webcrypto', visitorId: 'fp', ip: '10.0.0.2', at: t + 1 })).toBeNull()
    expect(await store.devices.touch({ deviceId: D1, publicKey: 'pk1', keyImpl: 'webcrypto', visitorId: 'fp', ip: '10.0.0.1', at: t + 1 })).not.toBeNull()
  })
})

describe.each(STORE_KINDS)('POST /v1/erase on %s', (kind) => {
  let app: TestApp
  beforeEach(async () => {
    app = await makeTestApp({ store: kind })
  })
  afterEach(async () => {
    await app.close()
  })
  const erase = (body: unknown, secret?: string) =>
    app.app.inject({ method: 'POST', url: '/v1/erase', payload: body as object, headers: secret ? { authorization: `Bearer ${secret}` } : {} })
  /** A collect on the demo site; returns the stored event's id (the token's jti). */
  async function collect(device: TestDevice, account?: string): Promise<string> {
    const res = await app.app.inject({ method: 'POST', url: '/v1/collect', payload: device.body(await app.challenge(), account ? { account } : {}) })
    const { token } = res.json<{ token: string }>()
    const { jti } = await verifyToken(token, { secret: DEMO_SITE.secret, siteKey: 'demo', jwks: app.keyring.jwks, now: app.clock.now(), action: null, hostname: null })
    expect(await app.store.events.get(jti)).not.toBeNull()
    return jti
  }

  it("deletes a shopper's events by account, with the site's siteverify secret only", async () => {
    // The page sends its salted hash; the backend names the account as it knows it.
    const salt = app.sites.get('demo')!.accountSalt
    const id = await collect(new TestDevice(), accountHash('ann@example.com', salt))
    const other = await collect(new TestDevice(), accountHash('bob@example.com', salt))
    const account = 'Ann@Example.com ' // normalised as the SDK does

    expect((await erase({ siteKey: 'demo', account })).json()).toEqual({ error: { code: 'unauthorized', message: "Send the site's siteverify secret as a bearer token." } })
    expect((await erase({ siteKey: 'demo', account }, OTHER_SITE.secret)).statusCode).toBe(401)
    expect((await erase({ siteKey: 'demo' }, DEMO_SITE.secret)).json()).toMatchObject({ error: { code: 'bad_request' } })
    expect((await erase({ siteKey: 'demo', account: 'x'.repeat(257) }, DEMO_SITE.secret)).json()).toMatchObject({ error: { code: 'bad_request' } })

    const done = await erase({ siteKey: 'demo', account }, DEMO_SITE.secret)
    expect(done.statusCode).toBe(200)
    const { erased } = done.json<{ erased: { events: number; links: number; devices: number } }>()
    expect(erased).toMatchObject({ events: 1, devices: 0 })
    expect(erased.links).toBeGreaterThan(0)
    expect(await app.store.events.get(id)).toBeNull()
    expect(await app.store.events.get(other)).not.toBeNull()
  })

  it('deletes a device by id', async () => {
    const device = new TestDevice()
    const id = await collect(device)
    const done = await erase({ siteKey: 'demo', deviceId: device.id }, DEMO_SITE.secret)
    expect(done.json()).toMatchObject({ erased: { events: 1, devices: 1 } })
    expect(await app.store.events.get(id)).toBeNull()
  })
})

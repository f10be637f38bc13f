/** The store contract, run against both adapters. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { makeTestApp, makeTestStore, STORE_KINDS } from '../../test/support/app'
import { startRedis } from '../../test/support/redis'
import { TestDevice } from '../../test/support/device'
import { inject } from 'vitest'
import { openRedisStore, redisTarget } from '../src/stores/redis'
import { openStore, parseSqliteUrl } from '../src/stores/index'
import { mkdtempSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LINK_COUNT_CAP, linkTimeStep, StoreUnavailableError, type CollectEvent, type Store } from '../src/stores/types'

const event = (id: string, at: number): CollectEvent => ({
  id,
  at,
  siteKey: 'demo',
  action: 'checkout',
  deviceId: 'd'.repeat(22),
  visitorId: null,
  account: null,
  ip: '127.0.0.1',
  hostname: '127.0.0.1',
  verdict: 'allow',
  score: 0.1,
  reasons: ['no_interaction'],
  keyImpl: 'webcrypto',
  sdk: 'test',
  detail: { nested: { ok: true } },
})

describe.each(STORE_KINDS)('%s store', (kind) => {
  let now = 1_800_000_000_000
  let store: Store
  beforeEach(async () => {
    now = 1_800_000_000_000
    store = await makeTestStore(kind, () => now)
  })
  afterEach(async () => {
    await store.close()
  })

  it('consumes a nonce once, and again only after it expired', async () => {
    expect(await store.nonces.consume('n1', now + 1000)).toBe(true)
    expect(await store.nonces.consume('n1', now + 1000)).toBe(false)
    expect(await store.nonces.consume('n2', now + 1000)).toBe(true)
    const results = await Promise.all(Array.from({ length: 20 }, () => store.nonces.consume('race', now + 1000)))
    expect(results.filter(Boolean)).toHaveLength(1)
  })

  it('touches devices and returns the state before the sighting', async () => {
    const s = { deviceId: 'dev-1', publicKey: 'pk', keyImpl: 'webcrypto', visitorId: 'fp', ip: '10.0.0.1', at: now }
    expect(await store.devices.touch(s)).toBeNull()
    expect(await store.devices.touch({ ...s, at: now + 5 })).toEqual({ deviceId: 'dev-1', publicKey: 'pk', firstSeen: now, lastSeen: now, seenCount: 1, allowed: 0, denied: 0, lastVerdict: null })
    expect((await store.devices.touch({ ...s, at: now + 9 }))!.seenCount).toBe(2)
  })

  it("keeps a device's reputation: verdicts so far and the last one", async () => {
    const s = { deviceId: 'dev-r', publicKey: 'pk', keyImpl: 'webcrypto', visitorId: null, ip: '10.0.0.1', at: now }
    expect(await store.devices.get('dev-r')).toBeNull()
    await store.devices.touch(s)
    for (const v of ['allow', 'allow', 'review', 'deny'] as const) await store.devices.recordVerdict('dev-r', v)
    expect(await store.devices.get('dev-r')).toMatchObject({ seenCount: 1, allowed: 2, denied: 1, lastVerdict: 'deny' })
  })

  it("remembers a device's first glyph widths and reports them back", async () => {
    expect(await store.devices.glyphs('dev-g', { 'serif/a': 8.5, 'serif/b': 9 })).toEqual({})
    expect(await store.devices.glyphs('dev-g', { 'serif/a': 7, 'serif/c': 6 })).toEqual({ 'serif/a': 8.5 })
    expect(await store.devices.glyphs('dev-g', { 'serif/a': 1, 'serif/b': 1, 'serif/c': 1 })).toEqual({ 'serif/a': 8.5, 'serif/b': 9, 'serif/c': 6 })
    expect(await store.devices.glyphs('dev-other', { 'serif/a': 1 })).toEqual({})
  })

  it('counts members without recording', async () => {
    const w = { kind: 'deny:net', key: 'n1', windowMs: 1000 }
    await store.links.observe([{ ...w, member: 'e1' }, { ...w, member: 'e2' }], now)
    expect(await store.links.count(w.kind, w.key, w.windowMs, now + 10)).toBe(2)
    expect(await store.links.count(w.kind, w.key, w.windowMs, now + 1500)).toBe(0)
    expect(await store.links.count(w.kind, 'nobody', w.windowMs, now)).toBe(0)
  })

  it('counts distinct members in sliding windows', async () => {
    const w = (member: string, windowMs = 1000) => ({ kind: 'acc:dev', key: 'd1', member, windowMs })
    expect(await store.links.observe([w('a')], now)).toEqual([1])
    expect(await store.links.observe([w('a'), w('b')], now + 10)).toEqual([1, 2])
    expect(await store.links.observe([w('c')], now + 500)).toEqual([3])
    // a and b were last seen at now+10: out of a 1 s window at now+1200.
    expect(await store.links.observe([w('c')], now + 1200)).toEqual([1])
    // Keys and kinds are separate sets.
    expect(await store.links.observe([{ kind: 'acc:dev', key: 'd2', member: 'a', windowMs: 1000 }, { kind: 'x', key: 'd1', member: 'a', windowMs: 1000 }], now + 1200)).toEqual([1, 1])
    // Counted without being added: the set's count, and nothing recorded.
    expect(await store.links.observe([{ ...w('z'), countOnly: true }, w('y'), { ...w('x'), countOnly: true }], now + 1200)).toEqual([1, 2, 2])
    expect(await store.links.observe([{ ...w('z'), countOnly: true }], now + 1201)).toEqual([2])
  })

  it('keeps a member seen again to within 1/64 of its window (linkTimeStep), never longer than a window', async () => {
    const windowMs = 64_000
    const step = linkTimeStep(windowMs)
    const w = { kind: 'dev:fp', key: 'fp-again', member: 'd1', windowMs }
    await store.links.observe([w], now)
    await store.links.observe([w], now + step / 2)
    await store.links.observe([w], now + step * 3)
    // The last sighting counts for at least the window less one step, and not past the window.
    expect(await store.links.count(w.kind, w.key, windowMs, now + step * 3 + windowMs - step)).toBe(1)
    expect(await store.links.count(w.kind, w.key, windowMs, now + step * 3 + windowMs + 1)).toBe(0)
  })

  it('saturates a count at the cap, recorded or not', async () => {
    const members = Array.from({ length: LINK_COUNT_CAP + 5 }, (_, i) => ({ kind: 'dev:net', key: 'n-big', member: `d${i}`, windowMs: 60_000 }))
    const counts = await store.links.observe(members, now)
    expect(counts[LINK_COUNT_CAP - 2]).toBe(LINK_COUNT_CAP - 1)
    expect(counts.slice(-6)).toEqual(Array(6).fill(LINK_COUNT_CAP))
    expect(await store.links.count('dev:net', 'n-big', 60_000, now + 1)).toBe(LINK_COUNT_CAP)
  })

  it('registers an attested key once, and moves its counter only up, once per value across racing callers', async () => {
    const key = { keyId: 'k'.repeat(43) + '=', appId: 'ABCDE12345.com.shop.app', publicKey: 'spki', counter: 0, at: now }
    expect(await store.attestedKeys.get(key.keyId)).toBeNull()
    expect(await store.attestedKeys.register(key)).toBe(true)
    expect(await store.attestedKeys.register({ ...key, publicKey: 'another' })).toBe(false)
    expect(await store.attestedKeys.get(key.keyId)).toEqual(key)
    expect(await store.attestedKeys.advance(key.keyId, 1, now + 1)).toBe(true)
    expect(await store.attestedKeys.advance(key.keyId, 1, now + 2)).toBe(false)
    expect(await store.attestedKeys.advance(key.keyId, 0, now + 3)).toBe(false)
    const raced = await Promise.all(Array.from({ length: 20 }, () => store.attestedKeys.advance(key.keyId, 7, now + 4)))
    expect(raced.filter(Boolean)).toHaveLength(1)
    expect(await store.attestedKeys.get(key.keyId)).toEqual({ ...key, counter: 7, at: now + 4 })
    expect(await store.attestedKeys.advance('unknown', 5, now)).toBe(false)
  })

  it('counts rate-limit hits per fixed window', async () => {
    const start = now - (now % 60_000)
    expect(await store.rateLimits.hit('ip:1', 60_000, start + 1)).toEqual({ count: 1, resetAt: start + 60_000 })
    expect((await store.rateLimits.hit('ip:1', 60_000, start + 2)).count).toBe(2)
    expect((await store.rateLimits.hit('ip:2', 60_000, start + 2)).count).toBe(1)
    expect((await store.rateLimits.hit('ip:1', 60_000, start + 60_001)).count).toBe(1)
  })

  it('keeps per-minute dashboard counters and the devices with the most accounts', async () => {
    const minute = now - (now % 60_000)
    await store.stats.recordEvent('demo', minute + 5, { verdict: 'deny', reasons: ['automation', 'emulator'], score: 0.98, behavior: 0.91, deviceId: 'd1', accountsOnDevice: 1 })
    await store.stats.recordEvent('demo', minute + 6, { verdict: 'allow', reasons: [], score: 0.1, behavior: null, deviceId: 'd2', accountsOnDevice: 0 })
    await store.stats.recordEvent('demo', minute + 60_001, { verdict: 'deny', reasons: ['automation'], score: 0.97, behavior: 0.05, deviceId: 'd1', accountsOnDevice: 0 })
    await store.stats.recordFailure('demo', minute + 60_002, 'replayed')
    await store.stats.recordEvent('other', minute + 7, { verdict: 'review', reasons: ['tampering'], score: 0.6, behavior: 0.5, deviceId: 'd9', accountsOnDevice: 0 })
    await store.stats.recordEvent('demo', minute + 8, { verdict: 'review', reasons: ['multi_account'], score: 0.5, behavior: null, deviceId: 'd1', accountsOnDevice: 3 })
    await store.stats.recordEvent('demo', minute + 9, { verdict: 'allow', reasons: [], score: 0, behavior: null, deviceId: 'd3', accountsOnDevice: 1 })
    const snap = await store.stats.snapshot('demo', minute, minute + 60_010)
    expect(snap.buckets.map((b) => b.t)).toEqual([minute, minute + 60_000])
    expect(snap.buckets[0]!.counts).toEqual({ 'verdict:deny': 1, 'verdict:allow': 2, 'verdict:review': 1, 'reason:automation': 1, 'reason:emulator': 1, 'reason:multi_account': 1, 'risk:9': 1, 'risk:1': 1, 'risk:5': 1, 'risk:0': 1, 'bhv:9': 1 })
    expect(snap.buckets[1]!.counts).toEqual({ 'verdict:deny': 1, 'reason:automation': 1, 'risk:9': 1, 'bhv:0': 1, 'fail:replayed': 1 })
    expect(snap.topDevices).toEqual([{ deviceId: 'd1', accounts: 3 }, { deviceId: 'd3', accounts: 1 }])
  })

  it('ranks top devices the same way: most accounts in their current run of activity, then device id', async () => {
    const day = 86_400_000
    const t0 = now - (now % 60_000)
    const seen = (deviceId: string, accountsOnDevice: number, at: number) =>
      store.stats.recordEvent('demo', at, { verdict: 'allow', reasons: [], score: 0, behavior: null, deviceId, accountsOnDevice })
    // Ties break by device id; a later, lower count does not lower a device's entry.
    for (const id of ['dz', 'db', 'dm']) await seen(id, 2, t0)
    await seen('dm', 1, t0 + 1000)
    // A device idle for more than a day starts over; one last seen over a day ago is gone.
    await seen('dr', 9, t0 - 2 * day)
    await seen('dr', 1, t0 + 2000)
    await seen('old', 7, t0 - day - 5000)
    for (let i = 0; i < 12; i++) await seen(`n${String(i).padStart(2, '0')}`, 1, t0 + 3000 + i)
    const top = (await store.stats.snapshot('demo', t0, t0 + 10_000)).topDevices
    expect(top).toEqual([
      { deviceId: 'db', accounts: 2 },
      { deviceId: 'dm', accounts: 2 },
      { deviceId: 'dz', accounts: 2 },
      { deviceId: 'dr', accounts: 1 },
      ...['n00', 'n01', 'n02', 'n03', 'n04', 'n05'].map((deviceId) => ({ deviceId, accounts: 1 })),
    ])
  })

  it('keeps every appended event, readable by id', async () => {
    for (let i = 0; i < 25; i++) await store.events.append(event(`e${i}`, now + i))
    expect(await store.events.count()).toBe(25)
    expect(await store.events.get('e17')).toEqual(event('e17', now + 17))
    expect(await store.events.get('nope')).toBeNull()
  })
})

describe('when Redis goes away', () => {
  it('refuses to start against an unreachable Redis, with a clear message', async () => {
    await expect(openRedisStore({ url: 'redis://127.0.0.1:1', redis: { retryStrategy: () => null } })).rejects.toThrow(/cannot use Redis at redis:\/\/127\.0\.0\.1:1/)
  })

  it('answers 503 store_unavailable, never acknowledging an event it could not store', async () => {
    const redis = await startRedis()
    const store = await openRedisStore({ url: redis.url, redis: { retryStrategy: () => null, maxRetriesPerRequest: 0 } })
    await expect(store.ping()).resolves.toBeUndefined()
    await redis.kill()
    await expect(store.nonces.consume('x', Date.now() + 1000)).rejects.toBeInstanceOf(StoreUnavailableError)
    await store.close()
    await redis.stop()
  })
})

describe('on a Redis Cluster', () => {
  it('reads seed nodes, and credentials, from redis+cluster:// URLs', () => {
    expect(redisTarget('redis://127.0.0.1:6379/2')).toEqual({ cluster: false, url: 'redis://127.0.0.1:6379/2' })
    expect(redisTarget('redis+cluster://10.0.0.1:7000,redis-b.internal:7001')).toEqual({
      cluster: true,
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: 'redis-b.internal', port: 7001 },
      ],
    })
    expect(redisTarget('redis+cluster://vigil:p%40ss@[::1]:7000/')).toEqual({ cluster: true, nodes: [{ host: '::1', port: 7000 }], username: 'vigil', password: 'p@ss' })
    expect(redisTarget('redis+cluster://:secret@h:1')).toMatchObject({ password: 'secret' })
    for (const bad of ['redis+cluster://', 'redis+cluster://h', 'redis+cluster://h:0', 'redis+cluster://h:70000', 'redis+cluster://h:1,,h:2', 'memcached://h:1']) {
      expect(() => redisTarget(bad), bad).toThrow()
    }
  })

  it('refuses a key prefix with a hash tag of its own', async () => {
    await expect(openRedisStore({ url: inject('redisClusterUrl'), prefix: '{x}:' })).rejects.toThrow(/may not contain \{ or \}/)
  })

  it('refuses to start against unreachable seed nodes, with a clear message', async () => {
    await expect(openRedisStore({ url: 'redis+cluster://127.0.0.1:1,127.0.0.1:2' })).rejects.toThrow(/cannot use Redis at redis\+cluster:\/\/127\.0\.0\.1:1/)
  })

  it('acknowledges no event that fewer replicas than asked for have: 503, never a silent success', async () => {
    // Each master of the test cluster has one replica: two cannot acknowledge.
    const store = await openRedisStore({ url: inject('redisClusterUrl'), prefix: `test-${Date.now()}:`, replicas: 2, replicaTimeoutMs: 50 })
    try {
      const failed = await store.events.append(event('e1', Date.now())).then(
        () => null,
        (err: unknown) => err,
      )
      expect(failed).toBeInstanceOf(StoreUnavailableError)
      expect((failed as Error).message).toMatch(/reached 1 of 2 replicas/)
    } finally {
      await store.close()
    }
    // One replica can (the default on a Cluster).
    const one = await openRedisStore({ url: inject('redisClusterUrl'), prefix: `test-${Date.now()}-1:` })
    try {
      await Promise.all(Array.from({ length: 50 }, (_, i) => one.events.append(event(`e${i}`, Date.now()))))
      expect(await one.events.count()).toBe(50)
    } finally {
      await one.close()
    }
  })
})

describe.each(STORE_KINDS)('collect while the %s store fails', (kind) => {
  let t: Awaited<ReturnType<typeof makeTestApp>>
  beforeEach(async () => {
    t = await makeTestApp({ store: kind })
  })
  afterEach(async () => {
    await t.close().catch(() => undefined)
  })

  it('is a 503 with store_unavailable and a Retry-After-free error body', async () => {
    const body = new TestDevice().body(await t.challenge())
    const failing = new StoreUnavailableError('simulated outage')
    t.store.nonces.consume = async () => {
      throw failing
    }
    const res = await t.app.inject({ method: 'POST', url: '/v1/collect', payload: body })
    expect(res.statusCode).toBe(503)
    expect(res.json()).toEqual({ error: { code: 'store_unavailable', message: 'The store is unavailable; retry later.' } })
  })
})

describe('VIGIL_STORE for SQLite', () => {
  it('takes a path, and synchronous=full for an fsync per commit; anything else is refused', () => {
    expect(parseSqliteUrl('sqlite:./data/vigil.db')).toEqual({ path: './data/vigil.db', synchronous: 'NORMAL' })
    expect(parseSqliteUrl('sqlite:/var/lib/vigil/vigil.db?synchronous=full')).toEqual({ path: '/var/lib/vigil/vigil.db', synchronous: 'FULL' })
    expect(parseSqliteUrl('sqlite:x.db?synchronous=NORMAL')).toEqual({ path: 'x.db', synchronous: 'NORMAL' })
    // A `?` that is not a setting is the path's (a data directory may have one).
    expect(parseSqliteUrl('sqlite:/srv/a?b/vigil.db')).toEqual({ path: '/srv/a?b/vigil.db', synchronous: 'NORMAL' })
    expect(parseSqliteUrl('sqlite:/srv/a?b/vigil.db?synchronous=full')).toEqual({ path: '/srv/a?b/vigil.db', synchronous: 'FULL' })
    expect(() => parseSqliteUrl('sqlite:')).toThrow(/needs a path/)
    expect(() => parseSqliteUrl('sqlite:?synchronous=full')).toThrow(/needs a path/)
    expect(() => parseSqliteUrl('sqlite:x.db?synchronous=off')).toThrow(/synchronous=normal\|full/)
    expect(() => parseSqliteUrl('sqlite:x.db?journal=memory')).toThrow(/the one setting/)
  })

  it('opens a store that keeps events with synchronous=full, and says so', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-full-'))
    const normal = await openStore(`sqlite:${join(dir, 'normal.db')}`, dir)
    expect(normal.durability).toBe('journal_mode=wal, synchronous=normal')
    await normal.close()
    const store = await openStore(`sqlite:${join(dir, 'vigil.db')}?synchronous=full`, dir)
    try {
      expect(store.durability).toBe('journal_mode=wal, synchronous=full')
      await store.events.append(event('full-1', Date.now()))
      expect((await store.events.get('full-1'))?.verdict).toBe('allow')
      // The setting is not part of the file's name.
      expect(readdirSync(dir).filter((f) => f.startsWith('vigil.db')).sort()).toEqual(['vigil.db', 'vigil.db-shm', 'vigil.db-wal'])
    } finally {
      await store.close()
    }
  })
})

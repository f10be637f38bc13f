/**
 * What a collect writes to the SQLite file, kept small: rate-limit windows in the memory of
 * a file's only writer (in the file when processes share it), a device's last sighting in
 * steps, and token ids that sort by issue time.
 */
import { afterEach, describe, expect, it } from 'vitest'
import Database from 'better-sqlite3'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openSqliteStore } from '../src/stores/sqlite/index'
import { memoryWindows } from '../src/stores/sqlite/rate-limits'
import { linkTimeStep, type Store } from '../src/stores/types'
import { newTokenId } from '../src/tokens/issue'

const open: Store[] = []
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()))
})

function storeAt(path: string, options: { shared?: boolean; now?: () => number; devicesMs?: number } = {}): Store {
  const store = openSqliteStore({
    path,
    checkpoints: false,
    ...(options.shared ? { shared: true } : {}),
    ...(options.now ? { now: options.now } : {}),
    ...(options.devicesMs ? { retention: { devicesMs: options.devicesMs } } : {}),
  })
  open.push(store)
  return store
}

const newFile = () => join(mkdtempSync(join(tmpdir(), 'vigil-writes-')), 'vigil.db')
const rows = (path: string, table: string): number => {
  const db = new Database(path, { readonly: true })
  try {
    return (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n
  } finally {
    db.close()
  }
}

describe('rate-limit windows', () => {
  it("a file's only writer counts them in memory: the same counts, no rows", async () => {
    const path = newFile()
    const store = storeAt(path)
    const start = 1_800_000_000_000
    expect(await store.rateLimits.hit('ip:1', 60_000, start + 1)).toEqual({ count: 1, resetAt: start + 60_000 })
    expect(await store.rateLimits.hit('ip:1', 60_000, start + 2)).toEqual({ count: 2, resetAt: start + 60_000 })
    expect((await store.rateLimits.hit('ip:2', 60_000, start + 3)).count).toBe(1)
    expect(await store.rateLimits.hit('ip:1', 60_000, start + 60_000)).toEqual({ count: 1, resetAt: start + 120_000 })
    await store.durable()
    expect(rows(path, 'rate_limits')).toBe(0)
  })

  it('processes that share the file count together, in it, per window', async () => {
    const path = newFile()
    const [a, b] = [storeAt(path, { shared: true }), storeAt(path, { shared: true })]
    const start = 1_800_000_000_000
    expect(await a.rateLimits.hit('ip:1', 60_000, start)).toEqual({ count: 1, resetAt: start + 60_000 })
    expect((await b.rateLimits.hit('ip:1', 60_000, start + 1)).count).toBe(2)
    expect((await a.rateLimits.hit('ip:1', 60_000, start + 2)).count).toBe(3)
    expect((await b.rateLimits.hit('ip:2', 60_000, start + 2)).count).toBe(1)
    expect(await b.rateLimits.hit('ip:1', 60_000, start + 60_000)).toEqual({ count: 1, resetAt: start + 120_000 })
    expect(rows(path, 'rate_limits')).toBe(2)
  })

  it('in memory, a new window drops the ended ones whole: a stream of new addresses does not grow the map', async () => {
    const windows = memoryWindows(() => undefined)
    const start = 1_800_000_000_000
    for (let minute = 0; minute < 10; minute++) {
      for (let i = 0; i < 100; i++) await windows.hit(`ip:${minute}:${i}`, 60_000, start + minute * 60_000 + i)
      // Only this minute's addresses: the last minute's window ended with it.
      expect(windows.size).toBe(100)
    }
    windows.purge(start + 11 * 60_000)
    expect(windows.size).toBe(0)
  })

  it('in memory, one key counted over two window lengths keeps a count for each', async () => {
    const windows = memoryWindows(() => undefined)
    const start = 1_800_000_000_000
    expect(await windows.hit('ip:1', 60_000, start)).toEqual({ count: 1, resetAt: start + 60_000 })
    expect(await windows.hit('ip:1', 30_000, start + 1)).toEqual({ count: 1, resetAt: start + 30_000 })
    expect(await windows.hit('ip:1', 60_000, start + 2)).toEqual({ count: 2, resetAt: start + 60_000 })
    // A second 30 s window; the minute goes on.
    expect(await windows.hit('ip:1', 30_000, start + 30_000)).toEqual({ count: 1, resetAt: start + 60_000 })
    expect(await windows.hit('ip:1', 60_000, start + 30_001)).toEqual({ count: 3, resetAt: start + 60_000 })
    // The first 30 s window ended, and went when the second began.
    expect(windows.size).toBe(2)
  })

  it("an only writer clears the rows processes that shared the file left, when it purges", async () => {
    const path = newFile()
    let now = 1_800_000_000_000
    const shared = storeAt(path, { shared: true, now: () => now })
    await shared.rateLimits.hit('ip:1', 60_000, now)
    await shared.close()
    open.splice(open.indexOf(shared), 1)
    now += 2 * 24 * 3600_000
    const alone = storeAt(path, { now: () => now })
    await alone.purge()
    expect(rows(path, 'rate_limits')).toBe(0)
  })
})

describe("a device's last sighting", () => {
  it('moves once it is a step (1/64 of the retention) old, and never back', async () => {
    const devicesMs = 64_000
    const step = linkTimeStep(devicesMs)
    expect(step).toBe(1_000)
    const store = storeAt(newFile(), { devicesMs })
    const t = 1_800_000_000_000
    const sighting = { deviceId: 'd1', publicKey: 'pk', keyImpl: 'webcrypto', visitorId: null, ip: '203.0.113.9' }
    await store.devices.touch({ ...sighting, at: t })
    await store.devices.touch({ ...sighting, at: t + step - 1 })
    expect(await store.devices.get('d1')).toMatchObject({ lastSeen: t, seenCount: 2 })
    await store.devices.touch({ ...sighting, at: t + step })
    expect(await store.devices.get('d1')).toMatchObject({ lastSeen: t + step, seenCount: 3 })
    await store.devices.touch({ ...sighting, at: t })
    expect(await store.devices.get('d1')).toMatchObject({ lastSeen: t + step, seenCount: 4 })
  })
})

describe('token ids', () => {
  it('sort as their issue times do, across digit boundaries, and are otherwise random', () => {
    const times = [0, 35, 36, 1_295, 1_296, 1_700_000_000_000, 1_800_000_000_000, 1_800_000_000_001, 2_821_109_907_455, 2_821_109_907_456]
    const ids = times.map((t) => newTokenId(t))
    expect([...ids].sort()).toEqual(ids)
    for (const id of ids) expect(id).toMatch(/^[0-9a-z]{9}[A-Za-z0-9_-]{14}$/)
    const same = Array.from({ length: 100 }, () => newTokenId(1_800_000_000_000))
    expect(new Set(same).size).toBe(100)
  })
})

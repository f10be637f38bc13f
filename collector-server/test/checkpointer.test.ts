/**
 * WAL checkpoints on their own thread (stores/sqlite/checkpointer.ts), on real files: the
 * writer never checkpoints by itself, the WAL still starts over under a writer that never
 * pauses, and a dead thread gives the writer its automatic checkpoints back.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import { Checkpointer } from '../src/stores/sqlite/checkpointer'
import { openSqliteStore } from '../src/stores/sqlite/index'
import type { Store } from '../src/stores/types'

const tick = () => new Promise<void>((resolve) => setImmediate(resolve))
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
const PAGE = 4096

let store: Store | null = null
afterEach(async () => {
  await store?.close()
  store = null
})

/**
 * Scattered link writes, one batch per event-loop turn (the collector's write pattern), for
 * `ms`, or until the WAL has started over once; the turns and the WAL's largest size, in pages.
 */
async function writeFor(s: Store, path: string, ms: number, untilRestart = false): Promise<{ turns: number; maxWalPages: number; restarts: number; writtenPages: number }> {
  let maxWalPages = 0
  let turns = 0
  let restarts = 0
  let writtenPages = 0
  let last = statSync(`${path}-wal`).size / PAGE
  for (const end = Date.now() + ms; Date.now() < end && !(untilRestart && restarts > 0); turns++) {
    await s.links.observe(
      Array.from({ length: 20 }, (_, i) => ({ kind: 'site:dev:trace', key: `k${(turns * 7919 + i * 104729) % 50_000}`, member: `d${turns}`, windowMs: 60_000 })),
      Date.now(),
    )
    await s.durable()
    const pages = statSync(`${path}-wal`).size / PAGE
    // The file shrinks only when a restart truncates it (journal_size_limit); it then holds
    // only what was written since.
    if (pages < last) restarts++
    writtenPages += pages < last ? pages : pages - last
    last = pages
    maxWalPages = Math.max(maxWalPages, pages)
    await tick()
  }
  return { turns, maxWalPages, restarts, writtenPages }
}

describe('WAL checkpoints on a thread of their own', () => {
  it('keeps the WAL bounded under a writer that never pauses, and the writer never checkpoints itself', { timeout: 30_000 }, async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'vigil-ckpt-')), 'vigil.db')
    store = openSqliteStore({ path, checkpoints: { intervalMs: 10, restartPages: 64 } })
    // The thread takes a moment to start (longer on a busy machine); meanwhile the WAL grows
    // unchecked. Measured from its first restart on.
    expect((await writeFor(store, path, 20_000, true)).restarts).toBeGreaterThan(0)
    const steady = await writeFor(store, path, 1000)
    // Each turn scatters 20 rows over a growing index: without restarts the WAL would hold
    // every page written in the second, tens of thousands here; with them it is cut back at
    // each restart and holds only what was written since the last. How much that is, the
    // checkpoint thread's pace decides (its passes end with a sync of the database file): on
    // this machine, 54–74 restarts a second and at most 1,237–1,741 of 39,321–44,583 pages
    // written; it was bounded by a fixed 2,000 pages, which a slower sync broke.
    expect(steady.turns).toBeGreaterThan(50)
    expect(steady.restarts).toBeGreaterThanOrEqual(3)
    expect(steady.maxWalPages).toBeLessThan(steady.writtenPages / 4)
  })

  it('the writer checkpoints by itself again when the thread is gone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-ckpt-'))
    const db = new Database(join(dir, 'writer.db'))
    db.pragma('journal_mode = WAL')
    // The thread cannot open a file that does not exist: it dies at once, and says so.
    const errors: Error[] = []
    const checkpointer = new Checkpointer(db, join(dir, 'missing.db'), (fn) => fn(), { onError: (err) => errors.push(err) })
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(0)
    for (let i = 0; i < 100 && db.pragma('wal_autocheckpoint', { simple: true }) === 0; i++) await sleep(20)
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000)
    expect(errors.map((e) => e.message)).toEqual(['the checkpoint thread failed: SQLITE_CANTOPEN'])
    await checkpointer.stop()
    db.close()
  })

  it('does not keep a process alive: a script that never closes its store still exits', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-ckpt-'))
    const script = join(dir, 'open-and-leave.mts')
    const store = resolve('collector-server/src/stores/sqlite/index.ts')
    writeFileSync(
      script,
      `import { openSqliteStore } from ${JSON.stringify(store)}
const s = openSqliteStore({ path: ${JSON.stringify(join(dir, 'vigil.db'))} })
await s.links.observe([{ kind: 'k', key: 'a', member: 'b', windowMs: 1000 }], Date.now())
console.log('written')
`,
    )
    const run = spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8', timeout: 20_000 })
    expect(run.stdout).toContain('written')
    expect(run.signal).toBeNull()
    expect(run.status).toBe(0)
  })
})

/**
 * The embedded store: one SQLite file (WAL) holding nonces, devices, links, rate limits,
 * attested App Attest keys, the event feed and the dashboard's counters, one adapter per port beside this file.
 * Analysts can open it read-only while the collector runs; docs/operations.md documents
 * the schema (migrations.ts).
 *
 * Durability: WAL with synchronous=NORMAL survives a killed process (every commit is in
 * the WAL before the collector answers); set `synchronous: 'FULL'` to survive power loss
 * as well, at the cost of an fsync per commit. Writes are batched (group-commit.ts), and the
 * WAL is copied into the file by a thread of its own (checkpointer.ts).
 */
import Database from 'better-sqlite3'
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs'
import { dirname } from 'node:path'
import { DEFAULT_RETENTION, type Erased, type ErasureSubject, type Purged, type Retention, type Store } from '../types'
import { Checkpointer, type CheckpointerOptions } from './checkpointer'
import { GroupCommit } from './group-commit'
import { migrate } from './migrations'
import { unavailable, type Sqlite } from './db'
import { sqliteNonces } from './nonces'
import { sqliteDevices } from './devices'
import { sqliteLinks } from './links'
import { sqliteRateLimits } from './rate-limits'
import { sqliteAttestedKeys } from './attested-keys'
import { sqliteEvents } from './events'
import { sqliteStats } from './stats'

export interface SqliteOptions {
  path: string
  synchronous?: 'NORMAL' | 'FULL'
  /** Current time, epoch ms (tests inject one). */
  now?: () => number
  /** How long events and devices are kept (default DEFAULT_RETENTION). */
  retention?: Partial<Retention>
  /** Other processes write to this file too (`--workers`): no write batch spans an event-loop turn (group-commit.ts). */
  shared?: boolean
  /** WAL checkpoints on a thread of their own (checkpointer.ts); `false` leaves them to SQLite, in the committing thread. Files only. */
  checkpoints?: CheckpointerOptions | false
}

/** PRAGMA synchronous's values, by number. */
const SYNCHRONOUS = ['off', 'normal', 'full', 'extra']

/** Expired rows are purged at most this often, by the write that notices. */
const PURGE_EVERY_MS = 30_000

/**
 * The database holds IP addresses, device ids and account hashes: owner-only. SQLite gives
 * the -wal and -shm files it creates the main file's mode, so the main file is created
 * 0600 before SQLite opens it; files an older collector left readable are tightened.
 */
function createPrivately(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  closeSync(openSync(path, 'a', 0o600))
  for (const file of [path, `${path}-wal`, `${path}-shm`]) if (existsSync(file)) chmodSync(file, 0o600)
}

export function openSqliteStore(options: SqliteOptions): Store {
  if (options.path !== ':memory:') createPrivately(options.path)
  const db = new Database(options.path)
  // First: switching a new file to WAL takes an exclusive lock, and a second collector
  // starting at the same moment must wait for it rather than fail with SQLITE_BUSY.
  db.pragma('busy_timeout = 5000')
  db.pragma('journal_mode = WAL')
  db.pragma(`synchronous = ${options.synchronous ?? 'NORMAL'}`)
  migrate(db)
  // Read back rather than echoed: what the connection really does (':memory:' has no WAL).
  const durability = `journal_mode=${String(db.pragma('journal_mode', { simple: true }))}, synchronous=${SYNCHRONOUS[Number(db.pragma('synchronous', { simple: true }))] ?? 'unknown'}`

  const batch = new GroupCommit(db, setImmediate, options.shared === true)
  const checkpointer = options.path !== ':memory:' && options.checkpoints !== false ? new Checkpointer(db, options.path, (fn) => batch.between(fn), options.checkpoints) : null
  const sqlite: Sqlite = { db, batch, now: options.now ?? Date.now }
  const retention = { ...DEFAULT_RETENTION, ...options.retention }
  const links = sqliteLinks(sqlite)
  const rateLimits = sqliteRateLimits(sqlite, options.shared === true)
  const stats = sqliteStats(sqlite)
  const attestedKeys = sqliteAttestedKeys(sqlite)
  const events = sqliteEvents(sqlite)
  const devices = sqliteDevices(sqlite, retention.devicesMs)
  /** Expired rows and what retention no longer allows; runs inside the open write batch. */
  const purgeAll = (t: number): Purged => {
    for (const port of [nonces, links, rateLimits, stats, attestedKeys]) port.purge(t)
    return { events: events.purge(t - retention.eventsMs), devices: devices.purge(t - retention.devicesMs) }
  }
  let lastPurge = 0
  const nonces = sqliteNonces(sqlite, (t) => {
    if (t - lastPurge < PURGE_EVERY_MS) return
    lastPurge = t
    purgeAll(t)
  })
  const erase = db.transaction((subject: ErasureSubject): Erased => {
    const erased: Erased = { events: 0, links: 0, devices: 0 }
    if (subject.account) {
      erased.events += events.erase(subject.siteKey, 'account', subject.account)
      erased.links += links.erase(subject.siteKey, subject.account)
    }
    if (subject.deviceId) {
      erased.events += events.erase(subject.siteKey, 'device_id', subject.deviceId)
      erased.links += links.erase(subject.siteKey, subject.deviceId)
      erased.devices += devices.erase(subject.deviceId)
      stats.eraseDevice(subject.siteKey, subject.deviceId)
    }
    return erased
  })

  return {
    kind: 'sqlite',
    durability,
    nonces,
    devices,
    links,
    rateLimits,
    attestedKeys,
    events,
    stats,
    durable: unavailable(() => batch.durable()),
    purge: unavailable(async () => {
      const purged = batch.run(() => purgeAll(sqlite.now()))
      await batch.durable()
      return purged
    }),
    erase: unavailable(async (subject: ErasureSubject) => {
      const erased = batch.run(() => erase(subject))
      await batch.durable()
      return erased
    }),
    ping: unavailable(() => {
      db.prepare('SELECT 1').get()
    }),
    async close() {
      await checkpointer?.stop()
      await batch.durable()
      db.close()
    },
  }
}

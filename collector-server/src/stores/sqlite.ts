/**
 * The embedded store: one SQLite file (WAL) holding nonces, devices and the event
 * feed. Analysts can open it read-only while the collector runs; the schema is
 * documented in docs/operations.md.
 *
 * Durability: WAL with synchronous=NORMAL survives a killed process (every commit is
 * in the WAL before the collector answers); set `synchronous: 'FULL'` to survive
 * power loss as well, at the cost of an fsync per commit.
 */
import Database from 'better-sqlite3'
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import type { CollectEvent, DeviceRecord, DeviceSighting, Store } from './types'

export interface SqliteOptions {
  path: string
  synchronous?: 'NORMAL' | 'FULL'
  /** Current time, epoch ms (tests inject one). */
  now?: () => number
}

const MIGRATIONS: string[] = [
  `CREATE TABLE nonces (
     id TEXT PRIMARY KEY,
     expires_at INTEGER NOT NULL
   ) WITHOUT ROWID;
   CREATE INDEX nonces_expires_at ON nonces (expires_at);

   CREATE TABLE devices (
     device_id TEXT PRIMARY KEY,
     public_key TEXT NOT NULL,
     key_impl TEXT NOT NULL,
     visitor_id TEXT,
     last_ip TEXT,
     first_seen INTEGER NOT NULL,
     last_seen INTEGER NOT NULL,
     seen_count INTEGER NOT NULL
   ) WITHOUT ROWID;

   CREATE TABLE events (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     id TEXT NOT NULL UNIQUE,
     at INTEGER NOT NULL,
     site_key TEXT NOT NULL,
     action TEXT NOT NULL,
     device_id TEXT NOT NULL,
     visitor_id TEXT,
     ip TEXT NOT NULL,
     hostname TEXT NOT NULL,
     verdict TEXT NOT NULL,
     score REAL NOT NULL,
     reasons TEXT NOT NULL,
     key_impl TEXT NOT NULL,
     sdk TEXT NOT NULL,
     detail TEXT NOT NULL
   );
   CREATE INDEX events_at ON events (at);
   CREATE INDEX events_device ON events (device_id, at);`,
]

const PURGE_EVERY_MS = 30_000

export function openSqliteStore(options: SqliteOptions): Store {
  const now = options.now ?? Date.now
  if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true })
  const db = new Database(options.path)
  db.pragma('journal_mode = WAL')
  db.pragma(`synchronous = ${options.synchronous ?? 'NORMAL'}`)
  db.pragma('busy_timeout = 5000')
  migrate(db)

  const insertNonce = db.prepare('INSERT OR IGNORE INTO nonces (id, expires_at) VALUES (?, ?)')
  const reclaimNonce = db.prepare('UPDATE nonces SET expires_at = ? WHERE id = ? AND expires_at <= ?')
  const purgeNonces = db.prepare('DELETE FROM nonces WHERE expires_at <= ?')
  const getDevice = db.prepare<[string], { device_id: string; public_key: string; first_seen: number; last_seen: number; seen_count: number }>(
    'SELECT device_id, public_key, first_seen, last_seen, seen_count FROM devices WHERE device_id = ?',
  )
  const upsertDevice = db.prepare(
    `INSERT INTO devices (device_id, public_key, key_impl, visitor_id, last_ip, first_seen, last_seen, seen_count)
     VALUES (@deviceId, @publicKey, @keyImpl, @visitorId, @ip, @at, @at, 1)
     ON CONFLICT (device_id) DO UPDATE SET visitor_id = excluded.visitor_id, last_ip = excluded.last_ip,
       last_seen = MAX(last_seen, excluded.last_seen), seen_count = seen_count + 1`,
  )
  const insertEvent = db.prepare(
    `INSERT INTO events (id, at, site_key, action, device_id, visitor_id, ip, hostname, verdict, score, reasons, key_impl, sdk, detail)
     VALUES (@id, @at, @siteKey, @action, @deviceId, @visitorId, @ip, @hostname, @verdict, @score, @reasons, @keyImpl, @sdk, @detail)`,
  )
  const touch = db.transaction((s: DeviceSighting): DeviceRecord | null => {
    const before = getDevice.get(s.deviceId)
    upsertDevice.run(s)
    return before
      ? { deviceId: before.device_id, publicKey: before.public_key, firstSeen: before.first_seen, lastSeen: before.last_seen, seenCount: before.seen_count }
      : null
  })

  let lastPurge = 0
  return {
    kind: 'sqlite',
    nonces: {
      async consume(id, expiresAt) {
        const t = now()
        if (t - lastPurge > PURGE_EVERY_MS) {
          lastPurge = t
          purgeNonces.run(t)
        }
        if (insertNonce.run(id, expiresAt).changes === 1) return true
        // An expired entry not yet purged does not block reuse after expiry.
        return reclaimNonce.run(expiresAt, id, t).changes === 1
      },
    },
    devices: {
      touch: async (sighting) => touch(sighting),
    },
    events: {
      async append(event: CollectEvent) {
        insertEvent.run({ ...event, reasons: JSON.stringify(event.reasons), detail: JSON.stringify(event.detail) })
      },
    },
    async ping() {
      db.prepare('SELECT 1').get()
    },
    async close() {
      db.close()
    },
  }
}

function migrate(db: Database.Database): void {
  // IMMEDIATE takes the write lock first, so two collectors starting together migrate once.
  db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number
    for (let v = version; v < MIGRATIONS.length; v++) db.exec(MIGRATIONS[v]!)
    if (version < MIGRATIONS.length) db.pragma(`user_version = ${MIGRATIONS.length}`)
  }).immediate()
}

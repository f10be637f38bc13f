/**
 * The embedded store: one SQLite file (WAL) holding nonces, devices, links, rate limits
 * and the event feed. Analysts can open it read-only while the collector runs; the
 * schema is documented in docs/operations.md.
 *
 * Durability: WAL with synchronous=NORMAL survives a killed process (every commit is
 * in the WAL before the collector answers); set `synchronous: 'FULL'` to survive
 * power loss as well, at the cost of an fsync per commit.
 */
import Database from 'better-sqlite3'
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { STATS_BUCKET_MS, StoreUnavailableError, statsFields, type CollectEvent, type DeviceRecord, type DeviceSighting, type LinkObservation, type StatsEntry, type StatsSnapshot, type Store } from './types'

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
  `ALTER TABLE events ADD COLUMN account TEXT;
   CREATE INDEX events_account ON events (account, at);

   CREATE TABLE links (
     kind TEXT NOT NULL,
     key TEXT NOT NULL,
     member TEXT NOT NULL,
     at INTEGER NOT NULL,
     PRIMARY KEY (kind, key, member)
   ) WITHOUT ROWID;
   CREATE INDEX links_at ON links (at);

   CREATE TABLE rate_limits (
     key TEXT PRIMARY KEY,
     window_start INTEGER NOT NULL,
     count INTEGER NOT NULL
   ) WITHOUT ROWID;`,
  `CREATE TABLE stats (
     site_key TEXT NOT NULL,
     minute INTEGER NOT NULL,
     field TEXT NOT NULL,
     count INTEGER NOT NULL,
     PRIMARY KEY (site_key, minute, field)
   ) WITHOUT ROWID;`,
]

const PURGE_EVERY_MS = 30_000
/** Links older than this are forgotten whatever their window (the longest window is 7 days). */
const LINK_RETENTION_MS = 8 * 24 * 3600_000

interface EventRow {
  id: string
  at: number
  site_key: string
  action: string
  device_id: string
  visitor_id: string | null
  account: string | null
  ip: string
  hostname: string
  verdict: CollectEvent['verdict']
  score: number
  reasons: string
  key_impl: string
  sdk: string
  detail: string
}

function unavailable<A extends unknown[], R>(fn: (...args: A) => R | Promise<R>): (...args: A) => Promise<R> {
  return async (...args) => {
    try {
      return await fn(...args)
    } catch (err) {
      if (err instanceof StoreUnavailableError) throw err
      const code = (err as { code?: unknown }).code
      // SQLite's own failures (busy, I/O, full disk) mean the store is unusable right now;
      // constraint violations and programming errors are bugs and surface as such.
      if (typeof code !== 'string' || !code.startsWith('SQLITE_') || code.startsWith('SQLITE_CONSTRAINT')) throw err
      throw new StoreUnavailableError(`sqlite: ${(err as Error).message}`, { cause: err })
    }
  }
}

/**
 * Group commit. Every write joins one transaction that is open for the rest of the event
 * loop turn (BEGIN on the first write, COMMIT on setImmediate), so N concurrent collects
 * cost one commit instead of 6N. Writes resolve at once; an event resolves only after the
 * COMMIT that makes it — and everything written before it — durable, and `durable()`
 * waits for the same: an answer is never sent before what it reports is stored.
 */
class GroupCommit {
  private waiters: Array<{ resolve: () => void; reject: (err: unknown) => void }> | null = null
  constructor(private readonly db: Database.Database) {}

  /** Runs `fn` inside the open batch. */
  run<T>(fn: () => T): T {
    if (!this.waiters) {
      this.db.exec('BEGIN IMMEDIATE')
      this.waiters = []
      setImmediate(() => this.commit())
    }
    return fn()
  }

  /** Resolves once the batch holding everything written so far is committed. */
  durable(): Promise<void> {
    if (!this.waiters) return Promise.resolve()
    const waiters = this.waiters
    return new Promise((resolve, reject) => waiters.push({ resolve, reject }))
  }

  private commit(): void {
    const waiters = this.waiters ?? []
    this.waiters = null
    try {
      this.db.exec('COMMIT')
    } catch (err) {
      try {
        this.db.exec('ROLLBACK')
      } catch {
        // Already rolled back by SQLite.
      }
      const failure = new StoreUnavailableError(`sqlite: commit failed: ${(err as Error).message}`, { cause: err })
      for (const w of waiters) w.reject(failure)
      return
    }
    for (const w of waiters) w.resolve()
  }
}

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
  const purgeLinks = db.prepare('DELETE FROM links WHERE at < ?')
  const purgeRates = db.prepare('DELETE FROM rate_limits WHERE window_start < ?')
  const getDevice = db.prepare<[string], { device_id: string; public_key: string; first_seen: number; last_seen: number; seen_count: number }>(
    'SELECT device_id, public_key, first_seen, last_seen, seen_count FROM devices WHERE device_id = ?',
  )
  const upsertDevice = db.prepare(
    `INSERT INTO devices (device_id, public_key, key_impl, visitor_id, last_ip, first_seen, last_seen, seen_count)
     VALUES (@deviceId, @publicKey, @keyImpl, @visitorId, @ip, @at, @at, 1)
     ON CONFLICT (device_id) DO UPDATE SET visitor_id = excluded.visitor_id, last_ip = excluded.last_ip,
       last_seen = MAX(last_seen, excluded.last_seen), seen_count = seen_count + 1`,
  )
  const upsertLink = db.prepare(
    `INSERT INTO links (kind, key, member, at) VALUES (?, ?, ?, ?)
     ON CONFLICT (kind, key, member) DO UPDATE SET at = MAX(at, excluded.at)`,
  )
  const countLinks = db.prepare<[string, string, number], { n: number }>('SELECT COUNT(*) AS n FROM links WHERE kind = ? AND key = ? AND at >= ?')
  const hitRate = db.prepare<[string, number], { window_start: number; count: number }>(
    `INSERT INTO rate_limits (key, window_start, count) VALUES (?, ?, 1)
     ON CONFLICT (key) DO UPDATE SET
       count = CASE WHEN window_start = excluded.window_start THEN count + 1 ELSE 1 END,
       window_start = excluded.window_start
     RETURNING window_start, count`,
  )
  const insertEvent = db.prepare(
    `INSERT INTO events (id, at, site_key, action, device_id, visitor_id, account, ip, hostname, verdict, score, reasons, key_impl, sdk, detail)
     VALUES (@id, @at, @siteKey, @action, @deviceId, @visitorId, @account, @ip, @hostname, @verdict, @score, @reasons, @keyImpl, @sdk, @detail)`,
  )
  const getEvent = db.prepare<[string], EventRow>('SELECT * FROM events WHERE id = ?')
  const bumpStat = db.prepare('INSERT INTO stats (site_key, minute, field, count) VALUES (?, ?, ?, 1) ON CONFLICT (site_key, minute, field) DO UPDATE SET count = count + 1')
  const readStats = db.prepare<[string, number, number], { minute: number; field: string; count: number }>(
    'SELECT minute, field, count FROM stats WHERE site_key = ? AND minute >= ? AND minute <= ? ORDER BY minute',
  )
  const topDevices = db.prepare<[string, number], { key: string; n: number }>(
    'SELECT key, COUNT(*) AS n FROM links WHERE kind = ? AND at >= ? GROUP BY key ORDER BY n DESC, key LIMIT 10',
  )
  const purgeStats = db.prepare('DELETE FROM stats WHERE minute < ?')
  const countEvents = db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM events')

  const touch = db.transaction((s: DeviceSighting): DeviceRecord | null => {
    const before = getDevice.get(s.deviceId)
    upsertDevice.run(s)
    return before
      ? { deviceId: before.device_id, publicKey: before.public_key, firstSeen: before.first_seen, lastSeen: before.last_seen, seenCount: before.seen_count }
      : null
  })
  const observe = db.transaction((observations: readonly LinkObservation[], at: number): number[] =>
    observations.map((o) => {
      upsertLink.run(o.kind, o.key, o.member, at)
      return countLinks.get(o.kind, o.key, at - o.windowMs)!.n
    }),
  )

  const batch = new GroupCommit(db)
  let lastPurge = 0
  const purge = (t: number): void => {
    if (t - lastPurge < PURGE_EVERY_MS) return
    lastPurge = t
    purgeNonces.run(t)
    purgeLinks.run(t - LINK_RETENTION_MS)
    purgeRates.run(t - 24 * 3600_000)
    purgeStats.run(t - LINK_RETENTION_MS)
  }

  return {
    kind: 'sqlite',
    nonces: {
      consume: unavailable((id: string, expiresAt: number) => {
        return batch.run(() => {
          const t = now()
          purge(t)
          if (insertNonce.run(id, expiresAt).changes === 1) return true
          // An expired entry not yet purged does not block reuse after expiry.
          return reclaimNonce.run(expiresAt, id, t).changes === 1
        })
      }),
    },
    devices: { touch: unavailable((s: DeviceSighting) => batch.run(() => touch(s))) },
    links: { observe: unavailable((observations: readonly LinkObservation[], at: number) => batch.run(() => observe(observations, at))) },
    rateLimits: {
      hit: unavailable((key: string, windowMs: number, at: number) => {
        const start = at - (at % windowMs)
        const row = batch.run(() => hitRate.get(key, start)!)
        return { count: row.count, resetAt: row.window_start + windowMs }
      }),
    },
    events: {
      append: unavailable((event: CollectEvent) => {
        batch.run(() => insertEvent.run({ ...event, reasons: JSON.stringify(event.reasons), detail: JSON.stringify(event.detail) }))
        return batch.durable()
      }),
      get: unavailable((id: string) => {
        const r = getEvent.get(id)
        if (!r) return null
        return {
          id: r.id,
          at: r.at,
          siteKey: r.site_key,
          action: r.action,
          deviceId: r.device_id,
          visitorId: r.visitor_id,
          account: r.account,
          ip: r.ip,
          hostname: r.hostname,
          verdict: r.verdict,
          score: r.score,
          reasons: JSON.parse(r.reasons) as string[],
          keyImpl: r.key_impl,
          sdk: r.sdk,
          detail: JSON.parse(r.detail) as Record<string, unknown>,
        }
      }),
      count: unavailable(() => countEvents.get()!.n),
    },
    stats: {
      recordEvent: unavailable((siteKey: string, at: number, entry: StatsEntry) => {
        const minute = at - (at % STATS_BUCKET_MS)
        batch.run(() => {
          for (const field of statsFields(entry)) bumpStat.run(siteKey, minute, field)
        })
      }),
      recordFailure: unavailable((siteKey: string, at: number, code: string) => {
        batch.run(() => bumpStat.run(siteKey, at - (at % STATS_BUCKET_MS), `fail:${code}`))
      }),
      snapshot: unavailable((siteKey: string, from: number, to: number): StatsSnapshot => {
        const first = from - (from % STATS_BUCKET_MS)
        const buckets: StatsSnapshot['buckets'] = []
        for (let t = first; t <= to; t += STATS_BUCKET_MS) buckets.push({ t, counts: {} })
        for (const row of readStats.all(siteKey, first, to)) {
          const bucket = buckets[(row.minute - first) / STATS_BUCKET_MS]
          if (bucket) bucket.counts[row.field] = row.count
        }
        const devices = topDevices.all(`${siteKey}:acc:dev`, to - 24 * 3600_000).map((r) => ({ deviceId: r.key, accounts: r.n }))
        return { siteKey, from: first, to, bucketMs: STATS_BUCKET_MS, buckets, topDevices: devices }
      }),
    },
    durable: unavailable(() => batch.durable()),
    ping: unavailable(() => {
      db.prepare('SELECT 1').get()
    }),
    async close() {
      await batch.durable()
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

import { LINK_COUNT_CAP, linkTimeStep, type LinkObservation, type LinkStore } from '../types'
import { unavailable, type Sqlite } from './db'

/** Links older than this are forgotten whatever their window (the longest window is 7 days). */
const LINK_RETENTION_MS = 8 * 24 * 3600_000

export function sqliteLinks({ db, batch }: Sqlite): LinkStore & { purge(t: number): void; erase(siteKey: string, id: string): number } {
  // A link seen again moves forward only once it is LINK_TIME_STEP of its window older: a
  // device, its fingerprint and its account meet every few seconds, and each move rewrites
  // a row and its index entries, pages of WAL (docs/performance.md). Counts then forget a
  // member at most 1/64 of the window early.
  const upsert = db.prepare<[string, string, string, number, number]>(
    `INSERT INTO links (kind, key, member, at) VALUES (?, ?, ?, ?)
     ON CONFLICT (kind, key, member) DO UPDATE SET at = excluded.at WHERE excluded.at - links.at >= ?`,
  )
  // A range of the (kind, key, at) index, cut at the cap: bounded work however popular the key.
  const count = db.prepare<[string, string, number], { n: number }>(
    `SELECT COUNT(*) AS n FROM (SELECT 1 FROM links WHERE kind = ? AND key = ? AND at >= ? LIMIT ${LINK_COUNT_CAP})`,
  )
  const purge = db.prepare('DELETE FROM links WHERE at < ?')
  // A site's link kinds all start with "<siteKey>:" (risk/velocity.ts); ';' sorts right after ':'.
  const erase = db.prepare("DELETE FROM links WHERE kind > ? AND kind < ? AND (key = ? OR member = ?)")
  const observe = db.transaction((observations: readonly LinkObservation[], at: number): number[] =>
    observations.map((o) => {
      if (!o.countOnly) upsert.run(o.kind, o.key, o.member, at, linkTimeStep(o.windowMs))
      return count.get(o.kind, o.key, at - o.windowMs)!.n
    }),
  )
  return {
    observe: unavailable((observations: readonly LinkObservation[], at: number) => batch.run(() => observe(observations, at))),
    count: unavailable((kind: string, key: string, windowMs: number, at: number) => count.get(kind, key, at - windowMs)!.n),
    purge: (t) => void purge.run(t - LINK_RETENTION_MS),
    erase: (siteKey, id) => erase.run(`${siteKey}:`, `${siteKey};`, id, id).changes,
  }
}

import type { RateLimitStore } from '../types'
import { unavailable, type Sqlite } from './db'

/**
 * Rate-limit windows. A collector that is the file's only writer counts them in its own
 * memory: the count is the same, a refused flood costs no write (a limiter that writes for
 * every request it refuses turns a flood into disk traffic), and a collect makes three
 * fewer statements and dirties one or two fewer pages. Processes that share the file
 * (`--workers`: `shared`) count in it, one upsert per hit, so that they count together. A
 * restart forgets the windows in memory: a client gets at most one window's budget again,
 * as it may across any window's boundary.
 */
export function sqliteRateLimits(sqlite: Sqlite, shared: boolean): RateLimitStore & { purge(t: number): void } {
  const file = fileWindows(sqlite)
  return shared ? file : memoryWindows((t) => file.purge(t))
}

/**
 * `purgeFile` clears what processes sharing the file (an earlier `--workers` run) left in it.
 * Counts are kept by the end of their window: every key's one-minute window ends on the same
 * minute, so a window that ended goes whole, with every key in it, when the first hit of a
 * new one comes. Traffic that never writes anything else (challenges, refusals) cannot grow
 * the map past the keys of the windows still open, and no hit walks the keys.
 */
export function memoryWindows(purgeFile: (t: number) => void): RateLimitStore & { purge(t: number): void; readonly size: number } {
  /** Hits so far per key, by window (its length and end: one key counted over two lengths keeps two counts). */
  const windows = new Map<string, { end: number; counts: Map<string, number> }>()
  const dropEnded = (t: number): void => {
    for (const [id, w] of windows) if (w.end <= t) windows.delete(id)
  }
  return {
    hit(key, windowMs, at) {
      const end = at - (at % windowMs) + windowMs
      const id = `${windowMs}:${end}`
      let w = windows.get(id)
      if (!w) {
        dropEnded(at)
        w = { end, counts: new Map() }
        windows.set(id, w)
      }
      const count = (w.counts.get(key) ?? 0) + 1
      w.counts.set(key, count)
      return Promise.resolve({ count, resetAt: end })
    },
    purge(t) {
      dropEnded(t)
      purgeFile(t)
    },
    get size() {
      let n = 0
      for (const w of windows.values()) n += w.counts.size
      return n
    },
  }
}

function fileWindows({ db, batch }: Sqlite): RateLimitStore & { purge(t: number): void } {
  const hit = db.prepare<[string, number], { window_start: number; count: number }>(
    `INSERT INTO rate_limits (key, window_start, count) VALUES (?, ?, 1)
     ON CONFLICT (key) DO UPDATE SET
       count = CASE WHEN window_start = excluded.window_start THEN count + 1 ELSE 1 END,
       window_start = excluded.window_start
     RETURNING window_start, count`,
  )
  const purge = db.prepare('DELETE FROM rate_limits WHERE window_start < ?')
  return {
    hit: unavailable((key: string, windowMs: number, at: number) => {
      const start = at - (at % windowMs)
      const row = batch.run(() => hit.get(key, start)!)
      return { count: row.count, resetAt: row.window_start + windowMs }
    }),
    purge: (t) => void purge.run(t - 24 * 3600_000),
  }
}

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

/** Ended windows are dropped at most this often, by the hit that notices. */
const SWEEP_EVERY_MS = 60_000

/**
 * `purgeFile` clears what processes sharing the file (an earlier `--workers` run) left in it.
 * The map holds the windows of the last minute or two: hits sweep out the ended ones, so
 * traffic that never writes anything else (challenges, refusals) cannot grow it.
 */
export function memoryWindows(purgeFile: (t: number) => void): RateLimitStore & { purge(t: number): void; readonly size: number } {
  /** Each key's current window: when it ends, and its hits so far. */
  const windows = new Map<string, { end: number; count: number }>()
  let sweepAt = -Infinity
  const sweep = (t: number): void => {
    for (const [key, w] of windows) if (w.end <= t) windows.delete(key)
  }
  return {
    hit(key, windowMs, at) {
      if (at >= sweepAt) {
        sweepAt = at + SWEEP_EVERY_MS
        sweep(at)
      }
      const end = at - (at % windowMs) + windowMs
      let w = windows.get(key)
      if (!w || w.end !== end) {
        w = { end, count: 0 }
        windows.set(key, w)
      }
      w.count++
      return Promise.resolve({ count: w.count, resetAt: w.end })
    },
    purge(t) {
      sweep(t)
      purgeFile(t)
    },
    get size() {
      return windows.size
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

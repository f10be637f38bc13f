import type { RateLimitStore } from '../types'
import { unavailable, type Sqlite } from './db'

export function sqliteRateLimits({ db, batch }: Sqlite): RateLimitStore & { purge(t: number): void } {
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

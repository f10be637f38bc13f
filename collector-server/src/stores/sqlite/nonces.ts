import type { NonceStore } from '../types'
import { unavailable, type Sqlite } from './db'

export function sqliteNonces({ db, batch, now }: Sqlite, beforeWrite: (t: number) => void): NonceStore & { purge(t: number): void } {
  const insert = db.prepare('INSERT OR IGNORE INTO nonces (id, expires_at) VALUES (?, ?)')
  const reclaim = db.prepare('UPDATE nonces SET expires_at = ? WHERE id = ? AND expires_at <= ?')
  const purge = db.prepare('DELETE FROM nonces WHERE expires_at <= ?')
  return {
    consume: unavailable((id: string, expiresAt: number) =>
      batch.run(() => {
        const t = now()
        beforeWrite(t)
        if (insert.run(id, expiresAt).changes === 1) return true
        // An expired entry not yet purged does not block reuse after expiry.
        return reclaim.run(expiresAt, id, t).changes === 1
      }),
    ),
    purge: (t) => void purge.run(t),
  }
}

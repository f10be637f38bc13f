import { ATTESTED_KEY_TTL_MS, type AttestedKey, type AttestedKeyStore } from '../types'
import { unavailable, type Sqlite } from './db'

export function sqliteAttestedKeys({ db, batch }: Sqlite): AttestedKeyStore & { purge(t: number): void } {
  const insert = db.prepare(
    'INSERT OR IGNORE INTO attested_keys (key_id, app_id, public_key, counter, attested_at, last_seen) VALUES (@keyId, @appId, @publicKey, @counter, @at, @at)',
  )
  const get = db.prepare<[string], { key_id: string; app_id: string; public_key: string; counter: number; last_seen: number }>(
    'SELECT key_id, app_id, public_key, counter, last_seen FROM attested_keys WHERE key_id = ?',
  )
  const advance = db.prepare('UPDATE attested_keys SET counter = ?, last_seen = MAX(last_seen, ?) WHERE key_id = ? AND counter < ?')
  const purge = db.prepare('DELETE FROM attested_keys WHERE last_seen < ?')
  return {
    register: unavailable((key: AttestedKey) => batch.run(() => insert.run(key).changes === 1)),
    get: unavailable((keyId: string) => {
      const row = get.get(keyId)
      return row ? { keyId: row.key_id, appId: row.app_id, publicKey: row.public_key, counter: row.counter, at: row.last_seen } : null
    }),
    advance: unavailable((keyId: string, counter: number, at: number) => batch.run(() => advance.run(counter, at, keyId, counter).changes === 1)),
    purge: (t) => void purge.run(t - ATTESTED_KEY_TTL_MS),
  }
}

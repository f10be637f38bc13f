import type { ReasonCode } from '@vigil-risk/core/protocol/reasons'
import type { CollectEvent, EventSink } from '../types'
import { unavailable, type Sqlite } from './db'

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

/** At most this many events go per purge, so that a large backlog never holds the write lock for long. */
const PURGE_BATCH = 10_000

/** The `events` table: one row per accepted collect, durable before the collector answers. */
export function sqliteEvents({ db, batch }: Sqlite): EventSink & {
  purge(before: number): number
  erase(siteKey: string, column: 'account' | 'device_id', value: string): number
} {
  const insert = db.prepare(
    `INSERT INTO events (id, at, site_key, action, device_id, visitor_id, account, ip, hostname, verdict, score, reasons, key_impl, sdk, detail)
     VALUES (@id, @at, @siteKey, @action, @deviceId, @visitorId, @account, @ip, @hostname, @verdict, @score, @reasons, @keyImpl, @sdk, @detail)`,
  )
  const get = db.prepare<[string], EventRow>('SELECT * FROM events WHERE id = ?')
  const count = db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM events')
  const purge = db.prepare(`DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE at < ? ORDER BY at LIMIT ${PURGE_BATCH})`)
  const erase = {
    account: db.prepare('DELETE FROM events WHERE account = ? AND site_key = ?'),
    device_id: db.prepare('DELETE FROM events WHERE device_id = ? AND site_key = ?'),
  }
  return {
    purge: (before) => purge.run(before).changes,
    erase: (siteKey, column, value) => erase[column].run(value, siteKey).changes,
    append: unavailable((event: CollectEvent) => {
      batch.run(() => insert.run({ ...event, reasons: JSON.stringify(event.reasons), detail: JSON.stringify(event.detail) }))
      return batch.durable()
    }),
    get: unavailable((id: string): CollectEvent | null => {
      const r = get.get(id)
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
        reasons: JSON.parse(r.reasons) as ReasonCode[],
        keyImpl: r.key_impl,
        sdk: r.sdk,
        detail: JSON.parse(r.detail) as Record<string, unknown>,
      }
    }),
    count: unavailable(() => count.get()!.n),
  }
}

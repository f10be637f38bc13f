import { STATS_BUCKET_MS, STATS_RETENTION_MS, TOP_DEVICES, TOP_DEVICES_WINDOW_MS, statsFields, type FailureCode, type StatsEntry, type StatsField, type StatsSnapshot, type StatsStore } from '../types'
import { unavailable, type Sqlite } from './db'

export function sqliteStats({ db, batch }: Sqlite): StatsStore & { purge(t: number): void; eraseDevice(siteKey: string, deviceId: string): void } {
  const bump = db.prepare('INSERT INTO stats (site_key, minute, field, count) VALUES (?, ?, ?, 1) ON CONFLICT (site_key, minute, field) DO UPDATE SET count = count + 1')
  const read = db.prepare<[string, number, number], { minute: number; field: StatsField; count: number }>(
    'SELECT minute, field, count FROM stats WHERE site_key = ? AND minute >= ? AND minute <= ? ORDER BY minute',
  )
  // A device's count is the most accounts it was seen with since its activity resumed
  // (a device idle for longer than the window starts over).
  const device = db.prepare(
    `INSERT INTO stats_devices (site_key, device_id, accounts, at) VALUES (?, ?, ?, ?)
     ON CONFLICT (site_key, device_id) DO UPDATE SET
       accounts = CASE WHEN excluded.at - at > ${TOP_DEVICES_WINDOW_MS} THEN excluded.accounts ELSE MAX(accounts, excluded.accounts) END,
       at = MAX(at, excluded.at)`,
  )
  const top = db.prepare<[string, number], { device_id: string; accounts: number }>(
    `SELECT device_id, accounts FROM stats_devices WHERE site_key = ? AND at >= ? ORDER BY accounts DESC, device_id LIMIT ${TOP_DEVICES}`,
  )
  const purgeStats = db.prepare('DELETE FROM stats WHERE minute < ?')
  const purgeDevices = db.prepare('DELETE FROM stats_devices WHERE at < ?')
  const eraseDevice = db.prepare('DELETE FROM stats_devices WHERE site_key = ? AND device_id = ?')
  return {
    recordEvent: unavailable((siteKey: string, at: number, entry: StatsEntry) => {
      const minute = at - (at % STATS_BUCKET_MS)
      batch.run(() => {
        for (const field of statsFields(entry)) bump.run(siteKey, minute, field)
        if (entry.accountsOnDevice > 0) device.run(siteKey, entry.deviceId, entry.accountsOnDevice, at)
      })
    }),
    recordFailure: unavailable((siteKey: string, at: number, code: FailureCode) => {
      batch.run(() => bump.run(siteKey, at - (at % STATS_BUCKET_MS), `fail:${code}`))
    }),
    snapshot: unavailable((siteKey: string, from: number, to: number): StatsSnapshot => {
      const first = from - (from % STATS_BUCKET_MS)
      const buckets: StatsSnapshot['buckets'] = []
      for (let t = first; t <= to; t += STATS_BUCKET_MS) buckets.push({ t, counts: {} })
      for (const row of read.all(siteKey, first, to)) {
        const bucket = buckets[(row.minute - first) / STATS_BUCKET_MS]
        if (bucket) bucket.counts[row.field] = row.count
      }
      const topDevices = top.all(siteKey, to - TOP_DEVICES_WINDOW_MS).map((r) => ({ deviceId: r.device_id, accounts: r.accounts }))
      return { siteKey, from: first, to, bucketMs: STATS_BUCKET_MS, buckets, topDevices }
    }),
    eraseDevice: (siteKey, deviceId) => void eraseDevice.run(siteKey, deviceId),
    purge: (t) => {
      purgeStats.run(t - STATS_RETENTION_MS)
      purgeDevices.run(t - TOP_DEVICES_WINDOW_MS)
    },
  }
}

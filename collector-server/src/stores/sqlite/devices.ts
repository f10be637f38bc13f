import type { Verdict } from '@vigil-risk/core/protocol/token'
import { linkTimeStep, type DeviceRecord, type DeviceSighting, type DeviceStore } from '../types'
import { unavailable, type Sqlite } from './db'

interface DeviceRow {
  device_id: string
  public_key: string
  first_seen: number
  last_seen: number
  seen_count: number
  allowed: number
  denied: number
  last_verdict: Verdict | null
}

const record = (r: DeviceRow): DeviceRecord => ({
  deviceId: r.device_id,
  publicKey: r.public_key,
  firstSeen: r.first_seen,
  lastSeen: r.last_seen,
  seenCount: r.seen_count,
  allowed: r.allowed,
  denied: r.denied,
  lastVerdict: r.last_verdict,
})

/**
 * `retentionMs`: how long a device is kept after its last sighting. Its `last_seen` moves
 * once it is 1/64 of that older (linkTimeStep): every move rewrites two entries of the
 * `devices_last_seen` index, one on a page of its own, for a time that only retention reads.
 */
export function sqliteDevices({ db, batch }: Sqlite, retentionMs: number): DeviceStore & { purge(before: number): number; erase(deviceId: string): number } {
  const get = db.prepare<[string], DeviceRow>('SELECT device_id, public_key, first_seen, last_seen, seen_count, allowed, denied, last_verdict FROM devices WHERE device_id = ?')
  const upsert = db.prepare(
    `INSERT INTO devices (device_id, public_key, key_impl, visitor_id, last_ip, first_seen, last_seen, seen_count)
     VALUES (@deviceId, @publicKey, @keyImpl, @visitorId, @ip, @at, @at, 1)
     ON CONFLICT (device_id) DO UPDATE SET visitor_id = excluded.visitor_id, last_ip = excluded.last_ip,
       last_seen = CASE WHEN excluded.last_seen - last_seen >= ${Math.min(linkTimeStep(retentionMs), Number.MAX_SAFE_INTEGER)} THEN excluded.last_seen ELSE last_seen END,
       seen_count = seen_count + 1`,
  )
  const verdict = db.prepare(
    `UPDATE devices SET allowed = allowed + (@verdict = 'allow'), denied = denied + (@verdict = 'deny'), last_verdict = @verdict WHERE device_id = @deviceId`,
  )
  const rememberGlyph = db.prepare('INSERT OR IGNORE INTO device_glyphs (device_id, glyph, width) VALUES (?, ?, ?)')
  // One primary-key lookup per glyph. One statement for all of them (`glyph IN (SELECT value
  // FROM json_each(?))`) did the same lookups and parsed a JSON array besides: 29 µs against
  // 18 µs for a probe's 17 glyphs inside an open transaction (docs/performance.md).
  const glyphWidth = db.prepare<[string, string], number>('SELECT width FROM device_glyphs WHERE device_id = ? AND glyph = ?').pluck()
  const touch = db.transaction((s: DeviceSighting): DeviceRecord | null => {
    const before = get.get(s.deviceId)
    upsert.run(s)
    return before ? record(before) : null
  })
  const glyphs = db.transaction((deviceId: string, observed: Readonly<Record<string, number>>): Record<string, number> => {
    const known: Record<string, number> = {}
    for (const glyph of Object.keys(observed)) {
      const width = glyphWidth.get(deviceId, glyph)
      if (width === undefined) rememberGlyph.run(deviceId, glyph, observed[glyph])
      else known[glyph] = width
    }
    return known
  })
  // A device goes with its glyphs (retention, erasure).
  const purgeGlyphs = db.prepare('DELETE FROM device_glyphs WHERE device_id IN (SELECT device_id FROM devices WHERE last_seen < ?)')
  const purge = db.prepare('DELETE FROM devices WHERE last_seen < ?')
  const eraseGlyphs = db.prepare('DELETE FROM device_glyphs WHERE device_id = ?')
  const erase = db.prepare('DELETE FROM devices WHERE device_id = ?')
  return {
    touch: unavailable((s: DeviceSighting) => batch.run(() => touch(s))),
    get: unavailable((deviceId: string) => {
      const row = get.get(deviceId)
      return row ? record(row) : null
    }),
    recordVerdict: unavailable((deviceId: string, v: Verdict) => {
      batch.run(() => verdict.run({ deviceId, verdict: v }))
    }),
    glyphs: unavailable((deviceId: string, observed: Readonly<Record<string, number>>) => batch.run(() => glyphs(deviceId, observed))),
    purge: (before) => {
      purgeGlyphs.run(before)
      return purge.run(before).changes
    },
    erase: (deviceId) => {
      eraseGlyphs.run(deviceId)
      return erase.run(deviceId).changes
    },
  }
}

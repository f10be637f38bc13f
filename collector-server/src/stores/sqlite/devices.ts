import type { DeviceRecord, DeviceSighting, DeviceStore } from '../types'
import { unavailable, type Sqlite } from './db'

export function sqliteDevices({ db, batch }: Sqlite): DeviceStore & { purge(before: number): number; erase(deviceId: string): number } {
  const get = db.prepare<[string], { device_id: string; public_key: string; first_seen: number; last_seen: number; seen_count: number }>(
    'SELECT device_id, public_key, first_seen, last_seen, seen_count FROM devices WHERE device_id = ?',
  )
  const upsert = db.prepare(
    `INSERT INTO devices (device_id, public_key, key_impl, visitor_id, last_ip, first_seen, last_seen, seen_count)
     VALUES (@deviceId, @publicKey, @keyImpl, @visitorId, @ip, @at, @at, 1)
     ON CONFLICT (device_id) DO UPDATE SET visitor_id = excluded.visitor_id, last_ip = excluded.last_ip,
       last_seen = MAX(last_seen, excluded.last_seen), seen_count = seen_count + 1`,
  )
  const touch = db.transaction((s: DeviceSighting): DeviceRecord | null => {
    const before = get.get(s.deviceId)
    upsert.run(s)
    return before
      ? { deviceId: before.device_id, publicKey: before.public_key, firstSeen: before.first_seen, lastSeen: before.last_seen, seenCount: before.seen_count }
      : null
  })
  const purge = db.prepare('DELETE FROM devices WHERE last_seen < ?')
  const erase = db.prepare('DELETE FROM devices WHERE device_id = ?')
  return {
    touch: unavailable((s: DeviceSighting) => batch.run(() => touch(s))),
    purge: (before) => purge.run(before).changes,
    erase: (deviceId) => erase.run(deviceId).changes,
  }
}

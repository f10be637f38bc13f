/**
 * The scale-out store: Redis (via ioredis), shared by every collector instance.
 *
 *   vigil:nonce:<id>              SET NX PX: single use across instances
 *   vigil:device:<id>             hash: key, first/last seen, count, last IP, visitor id, verdict counts
 *   vigil:glyphs:<id>             hash: the device's text metrics from earlier probes (font/glyph → width)
 *   vigil:link:<kind>:<key>       sorted set member → last seen (sliding-window distinct counts)
 *   vigil:rl:<key>:<window>       INCR + PEXPIRE: fixed-window rate limits
 *   vigil:stats:<site>:<minute>   hash of dashboard counters (verdicts, reasons, failures, score buckets)
 *   vigil:stats:<site>:devices    sorted set device → −(most accounts seen on it), for "top devices"
 *   vigil:stats:<site>:devices:at sorted set device → when it was last counted
 *   vigil:events                  stream, one entry per accepted collect, fields `id` and `event`
 *                                 (JSON); consumer group `risk` is created for the risk backend
 *
 * Durability: run Redis with `appendonly yes` (the tests do); `appendfsync everysec`
 * (Redis' default) can lose up to a second if Redis itself dies, `always` loses nothing.
 * A killed collector loses nothing either way: it answers only after Redis has the event.
 */
import { Redis, type RedisOptions } from 'ioredis'
import type { Verdict } from '@vigil-risk/core/protocol/token'
import {
  STATS_BUCKET_MS,
  STATS_RETENTION_MS,
  StoreUnavailableError,
  TOP_DEVICES,
  TOP_DEVICES_WINDOW_MS,
  statsFields,
  type CollectEvent,
  type DeviceRecord,
  type DeviceSighting,
  type FailureCode,
  type LinkObservation,
  type StatsEntry,
  type StatsField,
  type StatsSnapshot,
  type Store,
} from './types'

export interface RedisStoreOptions {
  url: string
  prefix?: string
  /** The stream the risk backend reads (default vigil:events). */
  stream?: string
  /** The consumer group created on it (default risk). */
  group?: string
  redis?: RedisOptions
  /** Current time, epoch ms (tests inject one). */
  now?: () => number
}

/** Device state is kept this long after the last sighting. */
const DEVICE_TTL_MS = 90 * 24 * 3600_000

const TOUCH = `
local prior = redis.call('HGETALL', KEYS[1])
if #prior == 0 then
  redis.call('HSET', KEYS[1], 'public_key', ARGV[1], 'key_impl', ARGV[2], 'visitor_id', ARGV[3], 'last_ip', ARGV[4], 'first_seen', ARGV[5], 'last_seen', ARGV[5], 'seen_count', 1)
else
  redis.call('HSET', KEYS[1], 'visitor_id', ARGV[3], 'last_ip', ARGV[4])
  if tonumber(ARGV[5]) > tonumber(redis.call('HGET', KEYS[1], 'last_seen')) then redis.call('HSET', KEYS[1], 'last_seen', ARGV[5]) end
  redis.call('HINCRBY', KEYS[1], 'seen_count', 1)
end
redis.call('PEXPIRE', KEYS[1], ARGV[6])
return prior`

/**
 * A device's "top devices" entry: the most accounts it was seen with since its activity
 * resumed (after a window without events it starts over, as on SQLite). Scores are
 * negated so that ZRANGE's ascending order ranks most accounts first, ties by device id.
 * KEYS: devices, devices:at. ARGV: device, accounts, at, window ms.
 */
const TOP_DEVICE = `
local last = redis.call('ZSCORE', KEYS[2], ARGV[1])
if last and tonumber(ARGV[3]) - tonumber(last) <= tonumber(ARGV[4]) then
  redis.call('ZADD', KEYS[1], 'LT', -tonumber(ARGV[2]), ARGV[1])
else
  redis.call('ZADD', KEYS[1], -tonumber(ARGV[2]), ARGV[1])
end
redis.call('ZADD', KEYS[2], 'GT', ARGV[3], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return 1`

function unavailable<A extends unknown[], R>(fn: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return async (...args) => {
    try {
      return await fn(...args)
    } catch (err) {
      if (err instanceof StoreUnavailableError) throw err
      throw new StoreUnavailableError(`redis: ${(err as Error).message}`, { cause: err })
    }
  }
}

function deviceRecord(deviceId: string, h: Record<string, string>): DeviceRecord | null {
  if (!h['public_key']) return null
  const verdict = h['last_verdict']
  return {
    deviceId,
    publicKey: h['public_key'],
    firstSeen: Number(h['first_seen']),
    lastSeen: Number(h['last_seen']),
    seenCount: Number(h['seen_count']),
    allowed: Number(h['allowed'] ?? 0),
    denied: Number(h['denied'] ?? 0),
    lastVerdict: verdict === 'allow' || verdict === 'review' || verdict === 'deny' ? verdict : null,
  }
}

function pairs(flat: string[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!
  return out
}

export async function openRedisStore(options: RedisStoreOptions): Promise<Store> {
  const prefix = options.prefix ?? 'vigil:'
  const stream = options.stream ?? `${prefix}events`
  const group = options.group ?? 'risk'
  const now = options.now ?? Date.now
  const redis = new Redis(options.url, { maxRetriesPerRequest: 2, enableAutoPipelining: true, lazyConnect: true, ...options.redis })
  // Connection errors surface as failed commands (503 store_unavailable); ioredis reconnects on its own.
  redis.on('error', () => undefined)
  try {
    await redis.connect()
    await redis.xgroup('CREATE', stream, group, '$', 'MKSTREAM')
  } catch (err) {
    if (!String((err as Error).message).includes('BUSYGROUP')) {
      redis.disconnect()
      throw new Error(`cannot use Redis at ${options.url}: ${(err as Error).message}`, { cause: err })
    }
  }
  redis.defineCommand('vigilTouch', { numberOfKeys: 1, lua: TOUCH })
  redis.defineCommand('vigilTopDevice', { numberOfKeys: 2, lua: TOP_DEVICE })
  const scripts = redis as unknown as {
    vigilTouch(key: string, ...args: Array<string | number>): Promise<string[]>
    vigilTopDevice(devices: string, at: string, ...args: Array<string | number>): Promise<number>
  }
  const touch = scripts.vigilTouch.bind(redis)
  const topDevice = scripts.vigilTopDevice.bind(redis)

  return {
    kind: 'redis',
    nonces: {
      consume: unavailable(async (id: string, expiresAt: number) => {
        const ttl = Math.max(1, expiresAt - now())
        return (await redis.set(`${prefix}nonce:${id}`, '1', 'PX', ttl, 'NX')) === 'OK'
      }),
    },
    devices: {
      touch: unavailable(async (s: DeviceSighting): Promise<DeviceRecord | null> =>
        deviceRecord(s.deviceId, pairs(await touch(`${prefix}device:${s.deviceId}`, s.publicKey, s.keyImpl, s.visitorId ?? '', s.ip, s.at, DEVICE_TTL_MS))),
      ),
      get: unavailable(async (deviceId: string) => deviceRecord(deviceId, await redis.hgetall(`${prefix}device:${deviceId}`))),
      recordVerdict: unavailable(async (deviceId: string, verdict: Verdict) => {
        const key = `${prefix}device:${deviceId}`
        const p = redis.multi().hset(key, 'last_verdict', verdict)
        if (verdict !== 'review') p.hincrby(key, verdict === 'allow' ? 'allowed' : 'denied', 1)
        await p.exec()
      }),
      glyphs: unavailable(async (deviceId: string, observed: Readonly<Record<string, number>>) => {
        const key = `${prefix}glyphs:${deviceId}`
        const names = Object.keys(observed)
        if (names.length === 0) return {}
        // In one transaction: what was there before, then the new glyphs (the first answer stays).
        const tx = redis.multi().hmget(key, ...names)
        for (const n of names) tx.hsetnx(key, n, String(observed[n]))
        const [[err, before]] = (await tx.pexpire(key, DEVICE_TTL_MS).exec()) as [[Error | null, Array<string | null>]]
        if (err) throw err
        const known: Record<string, number> = {}
        names.forEach((n, i) => {
          const was = before[i]
          if (typeof was === 'string') known[n] = Number(was)
        })
        return known
      }),
    },
    links: {
      observe: unavailable(async (observations: readonly LinkObservation[], at: number) => {
        const pipeline = redis.pipeline()
        // Where each observation's count lands among the pipeline's replies.
        const replyAt: number[] = []
        let replies = 0
        for (const o of observations) {
          const key = `${prefix}link:${o.kind}:${o.key}`
          if (o.countOnly) {
            pipeline.zcount(key, at - o.windowMs, '+inf')
            replyAt.push(replies)
            replies += 1
          } else {
            pipeline.zadd(key, at, o.member).zremrangebyscore(key, '-inf', `(${at - o.windowMs}`).zcard(key).pexpire(key, o.windowMs)
            replyAt.push(replies + 2)
            replies += 4
          }
        }
        const results = (await pipeline.exec()) ?? []
        return replyAt.map((i) => {
          const [err, count] = results[i] ?? [new Error('missing reply'), 0]
          if (err) throw err
          return Number(count)
        })
      }),
      count: unavailable(async (kind: string, key: string, windowMs: number, at: number) => redis.zcount(`${prefix}link:${kind}:${key}`, at - windowMs, '+inf')),
    },
    rateLimits: {
      hit: unavailable(async (key: string, windowMs: number, at: number) => {
        const start = at - (at % windowMs)
        const k = `${prefix}rl:${key}:${start}`
        const [[err, count]] = (await redis.multi().incr(k).pexpire(k, windowMs * 2).exec()) as [[Error | null, number]]
        if (err) throw err
        return { count, resetAt: start + windowMs }
      }),
    },
    events: {
      append: unavailable(async (event: CollectEvent) => {
        await redis.xadd(stream, '*', 'id', event.id, 'event', JSON.stringify(event))
      }),
      get: unavailable(async (id: string) => {
        // Linear, for tests and support tools: consumers read the stream, not this.
        let cursor = '-'
        for (;;) {
          const batch = await redis.xrange(stream, cursor, '+', 'COUNT', 1000)
          for (const [, fields] of batch) {
            const f = pairs(fields)
            if (f['id'] === id) return JSON.parse(f['event']!) as CollectEvent
          }
          if (batch.length < 1000) return null
          cursor = `(${batch[batch.length - 1]![0]}`
        }
      }),
      count: unavailable(async () => redis.xlen(stream)),
    },
    stats: {
      recordEvent: unavailable(async (siteKey: string, at: number, entry: StatsEntry) => {
        const key = `${prefix}stats:${siteKey}:${at - (at % STATS_BUCKET_MS)}`
        const devices = `${prefix}stats:${siteKey}:devices`
        const p = redis.pipeline()
        for (const field of statsFields(entry)) p.hincrby(key, field, 1)
        p.pexpire(key, STATS_RETENTION_MS)
        await Promise.all([
          p.exec(),
          entry.accountsOnDevice > 0 ? topDevice(devices, `${devices}:at`, entry.deviceId, entry.accountsOnDevice, at, TOP_DEVICES_WINDOW_MS) : undefined,
        ])
      }),
      recordFailure: unavailable(async (siteKey: string, at: number, code: FailureCode) => {
        const key = `${prefix}stats:${siteKey}:${at - (at % STATS_BUCKET_MS)}`
        await redis.multi().hincrby(key, `fail:${code}`, 1).pexpire(key, STATS_RETENTION_MS).exec()
      }),
      snapshot: unavailable(async (siteKey: string, from: number, to: number): Promise<StatsSnapshot> => {
        const first = from - (from % STATS_BUCKET_MS)
        const times: number[] = []
        for (let t = first; t <= to; t += STATS_BUCKET_MS) times.push(t)
        const devices = `${prefix}stats:${siteKey}:devices`
        // Forget devices not seen within the window, then read the top ones.
        const stale = await redis.zrangebyscore(`${devices}:at`, '-inf', `(${to - TOP_DEVICES_WINDOW_MS}`)
        if (stale.length > 0) await redis.multi().zrem(devices, ...stale).zrem(`${devices}:at`, ...stale).exec()
        const p = redis.pipeline()
        for (const t of times) p.hgetall(`${prefix}stats:${siteKey}:${t}`)
        p.zrange(devices, 0, TOP_DEVICES - 1, 'WITHSCORES')
        const results = (await p.exec()) ?? []
        const buckets = times.map((t, i) => {
          const counts: Partial<Record<StatsField, number>> = {}
          for (const [field, value] of Object.entries((results[i]?.[1] ?? {}) as Record<string, string>)) counts[field as StatsField] = Number(value)
          return { t, counts }
        })
        const top = (results[times.length]?.[1] ?? []) as string[]
        const topDevices: StatsSnapshot['topDevices'] = []
        for (let i = 0; i + 1 < top.length; i += 2) topDevices.push({ deviceId: top[i]!, accounts: -Number(top[i + 1]) })
        return { siteKey, from: first, to, bucketMs: STATS_BUCKET_MS, buckets, topDevices }
      }),
    },
    // Every command has been applied by Redis when it resolves.
    durable: async () => undefined,
    ping: unavailable(async () => {
      await redis.ping()
    }),
    async close() {
      await redis.quit().catch(() => redis.disconnect())
    },
  }
}

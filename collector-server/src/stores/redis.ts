/**
 * The scale-out store: Redis (via ioredis), shared by every collector instance.
 *
 *   vigil:nonce:<id>              SET NX PX: single use across instances
 *   vigil:device:<id>             hash: key, first/last seen, count, last IP, visitor id, verdict counts
 *   vigil:glyphs:<id>             hash: the device's text metrics from earlier probes (font/glyph → width)
 *                                 (devices and glyphs expire retention.devicesMs after the last sighting)
 *   vigil:link:<kind>:<key>       sorted set member → last seen (sliding-window distinct counts)
 *   vigil:rl:<key>:<window>       INCR + PEXPIRE: fixed-window rate limits
 *   vigil:akey:<key id>           hash: an attested App Attest key (app, public key, counter)
 *   vigil:stats:<site>:<minute>   hash of dashboard counters (verdicts, reasons, failures, score buckets)
 *   vigil:stats:<site>:devices    sorted set device → −(most accounts seen on it), for "top devices"
 *   vigil:stats:<site>:devices:at sorted set device → when it was last counted
 *   vigil:events                  stream, one entry per accepted collect, fields `id` and `event`
 *                                 (JSON); consumer group `risk` is created for the risk backend.
 *                                 Entry ids are event times (ms). Bounded: MAXLEN ~
 *                                 (retention.streamMaxLen) on every append, and entries older
 *                                 than retention.eventsMs are trimmed (XTRIM MINID). One key,
 *                                 so that it stays in one Cluster slot.
 *
 * Durability: run Redis with `appendonly yes` (the tests do); `appendfsync everysec`
 * (Redis' default) can lose up to a second if Redis itself dies, `always` loses nothing.
 * A killed collector loses nothing either way: it answers only after Redis has the event.
 */
import { Redis, type RedisOptions } from 'ioredis'
import type { Verdict } from '@vigil-risk/core/protocol/token'
import {
  STATS_BUCKET_MS,
  DEFAULT_RETENTION,
  LINK_COUNT_CAP,
  STATS_RETENTION_MS,
  StoreUnavailableError,
  TOP_DEVICES,
  TOP_DEVICES_WINDOW_MS,
  statsFields,
  type CollectEvent,
  type DeviceRecord,
  type DeviceSighting,
  type Erased,
  type ErasureSubject,
  type FailureCode,
  type Retention,
  type LinkObservation,
  type StatsEntry,
  type StatsField,
  type StatsSnapshot,
  type Store,
  type AttestedKey,
  ATTESTED_KEY_TTL_MS,
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
  /** How long events and devices are kept, and how long the stream may grow (default DEFAULT_RETENTION). */
  retention?: Partial<Retention>
}

/** The stream is trimmed by age at most this often, by the append that notices. */
const TRIM_EVERY_MS = 30_000

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

/**
 * Appends an event with a stream id from the event's own time (ms), so that the stream is
 * trimmed by event age as SQLite purges by `at`: the id is max(at, last id's ms)-<seq>,
 * which keeps ids increasing whatever the instances' clocks. Bounded by MAXLEN ~ as well.
 * KEYS: stream. ARGV: at, maxlen, event id, event JSON.
 */
const APPEND = `
local ms = tonumber(ARGV[1])
local ok, info = pcall(redis.call, 'XINFO', 'STREAM', KEYS[1])
if ok then
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' then
      local last = tonumber(string.match(info[i + 1], '^(%d+)'))
      if last and last > ms then ms = last end
    end
  end
end
return redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], string.format('%d-*', ms), 'id', ARGV[3], 'event', ARGV[4])`
/** KEYS: the key's hash. ARGV: app id, public key, counter, at, ttl ms. 1 if created, 0 if it existed. */
const REGISTER_KEY = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'app_id', ARGV[1], 'public_key', ARGV[2], 'counter', ARGV[3], 'at', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1`

/** KEYS: the key's hash. ARGV: counter, at, ttl ms. 1 if the counter went up, 0 if not (or no such key). */
const ADVANCE_KEY = `
local counter = redis.call('HGET', KEYS[1], 'counter')
if not counter or tonumber(ARGV[1]) <= tonumber(counter) then return 0 end
redis.call('HSET', KEYS[1], 'counter', ARGV[1], 'at', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
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
  const retention = { ...DEFAULT_RETENTION, ...options.retention }
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
  redis.defineCommand('vigilAppend', { numberOfKeys: 1, lua: APPEND })
  redis.defineCommand('vigilRegisterKey', { numberOfKeys: 1, lua: REGISTER_KEY })
  redis.defineCommand('vigilAdvanceKey', { numberOfKeys: 1, lua: ADVANCE_KEY })
  const scripts = redis as unknown as {
    vigilAppend(stream: string, ...args: Array<string | number>): Promise<string>
    vigilTouch(key: string, ...args: Array<string | number>): Promise<string[]>
    vigilTopDevice(devices: string, at: string, ...args: Array<string | number>): Promise<number>
    vigilRegisterKey(key: string, ...args: Array<string | number>): Promise<number>
    vigilAdvanceKey(key: string, ...args: Array<string | number>): Promise<number>
  }
  const touch = scripts.vigilTouch.bind(redis)
  const topDevice = scripts.vigilTopDevice.bind(redis)
  const appendEvent = scripts.vigilAppend.bind(redis)

  /**
   * Trims stream entries older than the events retention (ids are event times: APPEND);
   * returns how many went. Exact (not `~`) because it runs only every 30 s; MAXLEN on each
   * append is the cheap bound.
   */
  const trimByAge = async (): Promise<number> => redis.xtrim(stream, 'MINID', String(Math.max(0, now() - retention.eventsMs)))
  let lastTrim = 0

  /** Every entry of the stream, in batches, oldest first. */
  async function* entries(): AsyncGenerator<Array<[string, string[]]>> {
    let cursor = '-'
    for (;;) {
      const batch = await redis.xrange(stream, cursor, '+', 'COUNT', 1000)
      if (batch.length > 0) yield batch
      if (batch.length < 1000) return
      cursor = `(${batch[batch.length - 1]![0]}`
    }
  }

  /** Link sets (`link:<site>:<relation>:<key>`): drops the sets keyed by `id`, and `id` from every other. */
  async function eraseLinks(siteKey: string, id: string): Promise<number> {
    let erased = 0
    let cursor = '0'
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}link:${siteKey}:*`, 'COUNT', 1000)
      cursor = next
      if (keys.length === 0) continue
      const p = redis.pipeline()
      for (const key of keys) {
        if (key.endsWith(`:${id}`)) p.zcard(key).del(key)
        else p.zrem(key, id)
      }
      const results = (await p.exec()) ?? []
      let i = 0
      for (const key of keys) {
        const [err, n] = results[i] ?? [new Error('missing reply'), 0]
        if (err) throw err
        erased += Number(n)
        i += key.endsWith(`:${id}`) ? 2 : 1
      }
    } while (cursor !== '0')
    return erased
  }
  const registerKey = scripts.vigilRegisterKey.bind(redis)
  const advanceKey = scripts.vigilAdvanceKey.bind(redis)

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
        deviceRecord(s.deviceId, pairs(await touch(`${prefix}device:${s.deviceId}`, s.publicKey, s.keyImpl, s.visitorId ?? '', s.ip, s.at, retention.devicesMs))),
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
        const [[err, before]] = (await tx.pexpire(key, retention.devicesMs).exec()) as [[Error | null, Array<string | null>]]
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
          return Math.min(Number(count), LINK_COUNT_CAP)
        })
      }),
      count: unavailable(async (kind: string, key: string, windowMs: number, at: number) => Math.min(await redis.zcount(`${prefix}link:${kind}:${key}`, at - windowMs, '+inf'), LINK_COUNT_CAP)),
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
    attestedKeys: {
      register: unavailable(async (key: AttestedKey) =>
        (await registerKey(`${prefix}akey:${key.keyId}`, key.appId, key.publicKey, key.counter, key.at, ATTESTED_KEY_TTL_MS)) === 1,
      ),
      get: unavailable(async (keyId: string): Promise<AttestedKey | null> => {
        const h = await redis.hgetall(`${prefix}akey:${keyId}`)
        if (!h['public_key']) return null
        return { keyId, appId: h['app_id']!, publicKey: h['public_key'], counter: Number(h['counter']), at: Number(h['at']) }
      }),
      advance: unavailable(async (keyId: string, counter: number, at: number) => (await advanceKey(`${prefix}akey:${keyId}`, counter, at, ATTESTED_KEY_TTL_MS)) === 1),
    },
    events: {
      append: unavailable(async (event: CollectEvent) => {
        await appendEvent(stream, event.at, retention.streamMaxLen, event.id, JSON.stringify(event))
        const t = now()
        if (t - lastTrim >= TRIM_EVERY_MS) {
          lastTrim = t
          await trimByAge()
        }
      }),
      get: unavailable(async (id: string) => {
        // Linear, for tests and support tools: consumers read the stream, not this.
        for await (const batch of entries()) {
          for (const [, fields] of batch) {
            const f = pairs(fields)
            if (f['id'] === id) return JSON.parse(f['event']!) as CollectEvent
          }
        }
        return null
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
    // Devices expire on their own (PEXPIRE on every sighting); the stream is trimmed here.
    purge: unavailable(async () => ({ events: await trimByAge(), devices: 0 })),
    erase: unavailable(async (subject: ErasureSubject): Promise<Erased> => {
      const erased: Erased = { events: 0, links: 0, devices: 0 }
      // The stream is bounded (MAXLEN), so a linear pass is bounded too.
      const doomed: string[] = []
      for await (const batch of entries()) {
        for (const [entryId, fields] of batch) {
          const e = JSON.parse(pairs(fields)['event'] ?? '{}') as Partial<CollectEvent>
          const match = (subject.account !== undefined && e.account === subject.account) || (subject.deviceId !== undefined && e.deviceId === subject.deviceId)
          if (e.siteKey === subject.siteKey && match) doomed.push(entryId)
        }
      }
      for (let i = 0; i < doomed.length; i += 1000) erased.events += await redis.xdel(stream, ...doomed.slice(i, i + 1000))
      for (const id of [subject.account, subject.deviceId]) if (id) erased.links += await eraseLinks(subject.siteKey, id)
      if (subject.deviceId) {
        erased.devices = await redis.del(`${prefix}device:${subject.deviceId}`)
        await redis.del(`${prefix}glyphs:${subject.deviceId}`)
        const devices = `${prefix}stats:${subject.siteKey}:devices`
        await redis.multi().zrem(devices, subject.deviceId).zrem(`${devices}:at`, subject.deviceId).exec()
      }
      return erased
    }),
    ping: unavailable(async () => {
      await redis.ping()
    }),
    async close() {
      await redis.quit().catch(() => redis.disconnect())
    },
  }
}

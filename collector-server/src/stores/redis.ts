/**
 * The scale-out store: Redis (via ioredis), shared by every collector instance, on a single
 * Redis (`redis://host:port`) or a Redis Cluster (`redis+cluster://host:port,host:port,…`).
 *
 *   vigil:nonce:<id>              SET NX PX: single use across instances
 *   vigil:device:<id>             hash: key, first/last seen, count, last IP, visitor id, verdict counts
 *   vigil:glyphs:<id>             hash: the device's text metrics from earlier probes (font/glyph → width)
 *                                 (devices and glyphs expire retention.devicesMs after the last sighting)
 *   vigil:link:<kind>:<key>       sorted set member → last seen (sliding-window distinct counts)
 *   vigil:rl:<key>:<window>       INCR + PEXPIRE: fixed-window rate limits
 *   vigil:akey:<key id>           hash: an attested App Attest key (app, public key, counter)
 *   vigil:stats:{<site>}:<minute> hash of dashboard counters (verdicts, reasons, failures, score buckets)
 *   vigil:stats:{<site>}:devices  sorted set device → −(most accounts seen on it), for "top devices"
 *   vigil:stats:{<site>}:devices:at  sorted set device → when it was last counted
 *   vigil:events                  stream, one entry per accepted collect, fields `id` and `event`
 *                                 (JSON); consumer group `risk` is created for the risk backend.
 *                                 Entry ids are event times (ms). Bounded: MAXLEN ~
 *                                 (retention.streamMaxLen) on every append, and entries older
 *                                 than retention.eventsMs are trimmed (XTRIM MINID). One key,
 *                                 so that it stays in one Cluster slot.
 *
 * On a Cluster every MULTI, Lua script and pipeline touches one slot: single keys, except a
 * site's stats keys, which share the hash tag `{<site>}` (the top-devices script and the
 * dashboard's snapshot read several). docs/decisions.md has the audit.
 *
 * Durability: run Redis with `appendonly yes` (the tests do); `appendfsync everysec`
 * (Redis' default) can lose up to a second if Redis itself dies, `always` loses nothing.
 * A killed collector loses nothing either way: it answers only after Redis has the event.
 * With `replicas` (default 1 on a Cluster) it answers only after that many replicas have the
 * event too (WAIT), so that a master failing over to its replica loses no acknowledged event.
 */
import { Cluster, Redis, type RedisOptions } from 'ioredis'
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
  /** `redis://host:port[/db]`, `rediss://…`, or a Cluster's seed nodes: `redis+cluster://[user:password@]host:port[,host:port…]`. */
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
  /**
   * An event is acknowledged only once this many replicas of the stream's master have it
   * (WAIT), so that a failover loses no acknowledged event. Default: 1 on a Cluster, 0 on
   * a single Redis.
   */
  replicas?: number
  /** How long an append waits for those replicas before the collect fails with 503 (default 500 ms). */
  replicaTimeoutMs?: number
}

/** Where a store URL points: one Redis, or a Cluster's seed nodes. */
export type RedisTarget = { cluster: false; url: string } | { cluster: true; nodes: Array<{ host: string; port: number }>; username?: string; password?: string }

const CLUSTER_SCHEME = 'redis+cluster://'

/** Parses `redis://…`, `rediss://…` or `redis+cluster://[user:password@]host:port[,host:port…]`; throws on anything else. */
export function redisTarget(url: string): RedisTarget {
  if (!url.startsWith(CLUSTER_SCHEME)) {
    if (url.startsWith('redis://') || url.startsWith('rediss://')) return { cluster: false, url }
    throw new Error(`not a Redis URL: ${url} (redis://host:port or redis+cluster://host:port,host:port)`)
  }
  const rest = url.slice(CLUSTER_SCHEME.length).replace(/\/$/, '')
  const at = rest.lastIndexOf('@')
  const auth = at >= 0 ? rest.slice(0, at) : ''
  const colon = auth.indexOf(':')
  const username = decodeURIComponent(colon >= 0 ? auth.slice(0, colon) : auth)
  const password = colon >= 0 ? decodeURIComponent(auth.slice(colon + 1)) : ''
  const nodes = (at >= 0 ? rest.slice(at + 1) : rest).split(',').map((hostPort) => {
    const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:,/[\]]+)):(\d{1,5})$/.exec(hostPort)
    const port = Number(m?.[3])
    if (!m || port < 1 || port > 65535) throw new Error(`bad Redis Cluster node "${hostPort}" in ${CLUSTER_SCHEME}…: give host:port[,host:port…]`)
    return { host: m[1] ?? m[2]!, port }
  })
  return { cluster: true, nodes, ...(username ? { username } : {}), ...(password ? { password } : {}) }
}

/** Failure detection on a Cluster is seconds; an append gives up on its replicas sooner, and the collect is a 503. */
const REPLICA_TIMEOUT_MS = 500

/**
 * A command a connected node has not answered by then fails, and its request is a 503
 * store_unavailable: a node that hangs (paused, swapping, a long-running script) would
 * otherwise hold every collect and /healthz for as long as it hangs. The SDK gives up on a
 * collect after 5 s by default.
 */
const COMMAND_TIMEOUT_MS = 5_000

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
/**
 * Records a member in a link set and counts the set within its window. One key per call,
 * so that a collect's links spread over a Cluster's slots (and need no common one).
 * KEYS: the set. ARGV: at, member, '(' + window start, window ms.
 */
const LINK = `
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
local n = redis.call('ZCARD', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return n`

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

/** A client for the target, not yet connected; commands go to the node serving their key's slot. */
function client(target: RedisTarget, options: RedisOptions = {}): Redis | Cluster {
  if (!target.cluster) return new Redis(target.url, { maxRetriesPerRequest: 2, commandTimeout: COMMAND_TIMEOUT_MS, enableAutoPipelining: true, lazyConnect: true, ...options })
  let ready = false
  const cluster: Cluster = new Cluster(target.nodes, {
    lazyConnect: true,
    enableAutoPipelining: true,
    // Before the first connection, give up soon (a wrong address is a clear error at start);
    // after it, keep trying: nodes come back, and replicas take over.
    clusterRetryStrategy: (times) => (ready || times <= 3 ? Math.min(100 * times, 2000) : null),
    // ioredis refreshes its slot map on redirections; this also catches a failover it was not told about.
    slotsRefreshInterval: 2000,
    redisOptions: {
      maxRetriesPerRequest: 2,
      commandTimeout: COMMAND_TIMEOUT_MS,
      ...(target.username ? { username: target.username } : {}),
      ...(target.password ? { password: target.password } : {}),
      ...options,
    },
  })
  cluster.once('ready', () => (ready = true))
  return cluster
}

/** Connects `redis` (reporting errors only as failed commands), or throws what went wrong. */
async function connect(redis: Redis | Cluster, url: string): Promise<void> {
  // Connection errors surface as failed commands (503 store_unavailable); ioredis reconnects on its own.
  redis.on('error', () => undefined)
  if (redis instanceof Cluster) redis.on('node error', () => undefined)
  try {
    await redis.connect()
  } catch (err) {
    redis.disconnect()
    throw new Error(`cannot use Redis at ${url}: ${(err as Error).message}`, { cause: err })
  }
}

/** Replies that mean the command did not run on this node (the slot is elsewhere, or moving): safe to send again. */
const NOT_RUN = /^(MOVED|ASK|TRYAGAIN|CLUSTERDOWN) /
/** How often an append is sent again after such a reply (the slot map refreshed in between) before the collect is a 503. */
const REDIRECTS = 3

/**
 * Appends events, each acknowledged only once `replicas` replicas have it: the appends
 * queued while a batch is out go in the next pipeline, EVAL after EVAL, then one WAIT, all
 * on one connection to the stream's master, so that the WAIT covers every append before it
 * (WAIT counts this connection's writes). EVAL, not EVALSHA: a script missing on the node
 * would be retried outside the pipeline, after the WAIT. The connection is the events'
 * own, so that a WAIT (up to timeoutMs) holds up no other command. ioredis redirects a
 * pipeline only when every reply is the same redirection, which the WAIT's never is: an
 * append the node did not run (MOVED after a failover…) is sent again here, after the
 * Cluster's slot map is refreshed.
 */
function replicatedAppends(redis: Redis | Cluster, stream: string, replicas: number, timeoutMs: number): (args: Array<string | number>) => Promise<void> {
  interface Append {
    args: Array<string | number>
    resolve: () => void
    reject: (err: Error) => void
    tries: number
  }
  let queue: Append[] = []
  let flushing = false
  const refreshSlots = (): Promise<void> => new Promise((resolve) => (redis instanceof Cluster ? redis.refreshSlotsCache(() => resolve()) : resolve()))
  const flush = async (): Promise<void> => {
    while (queue.length > 0) {
      const batch = queue
      queue = []
      const p = redis.pipeline()
      for (const { args } of batch) p.eval(APPEND, 1, stream, ...args)
      p.wait(replicas, timeoutMs)
      let results: Array<[Error | null, unknown]>
      try {
        results = (await p.exec()) ?? []
      } catch (err) {
        for (const b of batch) b.reject(err as Error)
        continue
      }
      const [waitErr, acked] = results[batch.length] ?? [new Error('no reply to WAIT'), 0]
      const replicated = !waitErr && Number(acked) >= replicas
      let redirected = false
      batch.forEach((b, i) => {
        const [err] = results[i] ?? [new Error('no reply to the append')]
        if (err && NOT_RUN.test(err.message) && b.tries < REDIRECTS) {
          redirected = true
          queue.push({ ...b, tries: b.tries + 1 })
        } else if (err) b.reject(err)
        else if (!replicated) b.reject(new StoreUnavailableError(waitErr ? `redis: WAIT: ${waitErr.message}` : `redis: the event reached ${Number(acked)} of ${replicas} replicas within ${timeoutMs} ms`))
        else b.resolve()
      })
      if (redirected) await refreshSlots()
    }
    flushing = false
  }
  return (args) =>
    new Promise<void>((resolve, reject) => {
      queue.push({ args, resolve, reject, tries: 0 })
      if (!flushing) {
        flushing = true
        void flush()
      }
    })
}

/** The nodes to SCAN: every master of a Cluster, or the one Redis. */
const masters = (redis: Redis | Cluster): Redis[] => (redis instanceof Cluster ? redis.nodes('master') : [redis])

export async function openRedisStore(options: RedisStoreOptions): Promise<Store> {
  const prefix = options.prefix ?? 'vigil:'
  // Key names may not carry hash tags of their own: the site tag in stats keys must be the first.
  if (/[{}]/.test(prefix)) throw new Error(`the Redis key prefix may not contain { or }: ${prefix}`)
  const stream = options.stream ?? `${prefix}events`
  const group = options.group ?? 'risk'
  const now = options.now ?? Date.now
  const retention = { ...DEFAULT_RETENTION, ...options.retention }
  const target = redisTarget(options.url)
  const replicas = options.replicas ?? (target.cluster ? 1 : 0)
  if (!Number.isInteger(replicas) || replicas < 0) throw new Error(`replicas must be a whole number ≥ 0: ${replicas}`)
  const redis = client(target, options.redis)
  await connect(redis, options.url)
  try {
    await redis.xgroup('CREATE', stream, group, '$', 'MKSTREAM')
  } catch (err) {
    if (!String((err as Error).message).includes('BUSYGROUP')) {
      redis.disconnect()
      throw new Error(`cannot use Redis at ${options.url}: ${(err as Error).message}`, { cause: err })
    }
  }
  const replicaTimeoutMs = options.replicaTimeoutMs ?? REPLICA_TIMEOUT_MS
  let eventsClient: Redis | Cluster | undefined
  if (replicas > 0) {
    // A node that hangs rather than fails: its batch fails, and the appends queued behind it go on.
    eventsClient = client(target, { commandTimeout: replicaTimeoutMs + 2000, ...options.redis })
    try {
      await connect(eventsClient, options.url)
    } catch (err) {
      redis.disconnect()
      throw err
    }
  }
  redis.defineCommand('vigilTouch', { numberOfKeys: 1, lua: TOUCH })
  redis.defineCommand('vigilTopDevice', { numberOfKeys: 2, lua: TOP_DEVICE })
  redis.defineCommand('vigilAppend', { numberOfKeys: 1, lua: APPEND })
  redis.defineCommand('vigilRegisterKey', { numberOfKeys: 1, lua: REGISTER_KEY })
  redis.defineCommand('vigilAdvanceKey', { numberOfKeys: 1, lua: ADVANCE_KEY })
  redis.defineCommand('vigilLink', { numberOfKeys: 1, lua: LINK })
  const scripts = redis as unknown as {
    vigilAppend(stream: string, ...args: Array<string | number>): Promise<string>
    vigilTouch(key: string, ...args: Array<string | number>): Promise<string[]>
    vigilTopDevice(devices: string, at: string, ...args: Array<string | number>): Promise<number>
    vigilRegisterKey(key: string, ...args: Array<string | number>): Promise<number>
    vigilAdvanceKey(key: string, ...args: Array<string | number>): Promise<number>
    vigilLink(key: string, ...args: Array<string | number>): Promise<number>
  }
  const touch = scripts.vigilTouch.bind(redis)
  const topDevice = scripts.vigilTopDevice.bind(redis)
  const link = scripts.vigilLink.bind(redis)
  const appendEvent: (args: Array<string | number>) => Promise<unknown> = eventsClient
    ? replicatedAppends(eventsClient, stream, replicas, replicaTimeoutMs)
    : (args) => scripts.vigilAppend.call(redis, stream, ...args)

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

  /**
   * Link sets (`link:<site>:<relation>:<key>`): drops the sets keyed by `id`, and `id` from
   * every other. Scans every master (a Cluster's keys are spread over them); each key is
   * then changed on its own, as keys in different slots must be.
   */
  async function eraseLinks(siteKey: string, id: string): Promise<number> {
    let erased = 0
    for (const node of masters(redis)) {
      let cursor = '0'
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}link:${siteKey}:*`, 'COUNT', 1000)
        cursor = next
        const counts = await Promise.all(
          keys.map(async (key) => {
            if (!key.endsWith(`:${id}`)) return redis.zrem(key, id)
            const [[err, n]] = (await redis.multi().zcard(key).del(key).exec()) as [[Error | null, number]]
            if (err) throw err
            return n
          }),
        )
        for (const n of counts) erased += n
      } while (cursor !== '0')
    }
    return erased
  }
  /** A site's stats keys share the hash tag {<site>} (one Cluster slot): scripts and pipelines read several. */
  const statsKey = (siteKey: string, what: number | string): string => `${prefix}stats:{${siteKey}}:${what}`
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
      // One command per set, in order (auto-pipelined, per node on a Cluster).
      observe: unavailable(async (observations: readonly LinkObservation[], at: number) =>
        Promise.all(
          observations.map(async (o) => {
            const key = `${prefix}link:${o.kind}:${o.key}`
            const count = o.countOnly ? await redis.zcount(key, at - o.windowMs, '+inf') : await link(key, at, o.member, `(${at - o.windowMs}`, o.windowMs)
            return Math.min(count, LINK_COUNT_CAP)
          }),
        ),
      ),
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
        await appendEvent([event.at, retention.streamMaxLen, event.id, JSON.stringify(event)])
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
        const key = statsKey(siteKey, at - (at % STATS_BUCKET_MS))
        const devices = statsKey(siteKey, 'devices')
        const p = redis.pipeline()
        for (const field of statsFields(entry)) p.hincrby(key, field, 1)
        p.pexpire(key, STATS_RETENTION_MS)
        await Promise.all([
          p.exec(),
          entry.accountsOnDevice > 0 ? topDevice(devices, `${devices}:at`, entry.deviceId, entry.accountsOnDevice, at, TOP_DEVICES_WINDOW_MS) : undefined,
        ])
      }),
      recordFailure: unavailable(async (siteKey: string, at: number, code: FailureCode) => {
        const key = statsKey(siteKey, at - (at % STATS_BUCKET_MS))
        await redis.multi().hincrby(key, `fail:${code}`, 1).pexpire(key, STATS_RETENTION_MS).exec()
      }),
      snapshot: unavailable(async (siteKey: string, from: number, to: number): Promise<StatsSnapshot> => {
        const first = from - (from % STATS_BUCKET_MS)
        const times: number[] = []
        for (let t = first; t <= to; t += STATS_BUCKET_MS) times.push(t)
        const devices = statsKey(siteKey, 'devices')
        // Forget devices not seen within the window, then read the top ones.
        const stale = await redis.zrangebyscore(`${devices}:at`, '-inf', `(${to - TOP_DEVICES_WINDOW_MS}`)
        if (stale.length > 0) await redis.multi().zrem(devices, ...stale).zrem(`${devices}:at`, ...stale).exec()
        const p = redis.pipeline()
        // One pipeline: the site's stats keys share a slot.
        for (const t of times) p.hgetall(statsKey(siteKey, t))
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
        const devices = statsKey(subject.siteKey, 'devices')
        await redis.multi().zrem(devices, subject.deviceId).zrem(`${devices}:at`, subject.deviceId).exec()
      }
      return erased
    }),
    ping: unavailable(async () => {
      await redis.ping()
    }),
    async close() {
      await Promise.all([redis, eventsClient].map(async (c) => c?.quit().catch(() => c.disconnect())))
    },
  }
}

/**
 * Load and soak: POST /v1/collect at a fixed, open-loop rate for minutes against a real
 * collector process, on the SQLite store and then on Redis. Requests are put on a timer at
 * the target rate whatever the answers do, and latency runs from each request's scheduled
 * send time, so a stalled collector shows as latency rather than as fewer requests
 * (no coordinated omission). Every request gets a fresh challenge and a body signed as it
 * is sent (captured signals and a 600-event trace, 400 device keys in rotation, each with a path of its own).
 *
 * Reports throughput, latency, errors by code, the collector's RSS and heap after a 15 s
 * warm-up and at the end (sampled from its /metrics every 10 s into `series`), and
 * "events lost": acknowledged 200 answers whose event (the token's jti) is not in the store
 * once the collector has shut down.
 *
 *   VIGIL_SOAK_RATE     requests per second (default 200)
 *   VIGIL_SOAK_MINUTES  measured minutes per store after the warm-up (default 3; fractions allowed)
 */
import { createDecipheriv } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { Redis } from 'ioredis'
import { startCli, type CliCollector } from '../../test/support/cli'
import { hasRedisServer, startRedis, type RedisServer } from '../../test/support/redis'
import { TestDevice } from '../../test/support/device'
import { loadKeyring } from '../../collector-server/src/config/keyring'
import { DEMO_SITE } from '../../collector-server/src/config/sites'
import { deriveSealKey } from '../../collector-server/src/tokens/seal'
import { mintChallenge, type ChallengeTerms } from '../../collector-server/src/verify/challenge'

import { openStore } from '../../collector-server/src/stores/index'
import { capturedSignals, humanTraceVariant } from '../../test/support/payloads'
import type { Row, SuiteResult } from '../types'
import { quantileOfSorted } from '../stats'
import { fetchMetrics } from '../../test/support/metrics'
import { Connections, LoadRecord, TIMEOUT_MS, httpError, schedule } from '../open-loop'
import { writeUnlimitedDemoSite } from './collect'

/** The challenges a returning device with a good history gets: no work, both probes (answered by TestDevice). */
const RETURNING: ChallengeTerms = { difficulty: 0, deviceId: null, probes: ['text', 'tz'] }

const WARMUP_S = 15
const SAMPLE_S = 10
const DEVICES = 400
const MiB = 1024 * 1024

const BUDGET = { errors: 0, lost: 0, p99Ms: 250, heapGrowthMiB: 32 }

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw.trim() === '') return fallback
  const n = Number(raw)
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got ${JSON.stringify(raw)}`)
  return n
}

type StoreKind = 'sqlite' | 'redis'

/** One /metrics sample of the collector, plus the load's state at that moment. */
interface Sample {
  /** Seconds since the first scheduled request. */
  t: number
  phase: 'idle' | 'warmup' | 'measure' | 'drain'
  rssMiB: number
  heapUsedMiB: number
  heapTotalMiB: number
  oldSpaceUsedMiB: number
  externalMiB: number
  /** Collector CPU since the previous sample, % of one core. */
  cpuPct: number
  eventLoopLagP99Ms: number
  /** The machine's 1-minute load average (2 cores: above 2, processes wait for CPU). */
  load1: number
  /** Requests sent and answered (any status) so far. */
  sent: number
  answered: number
  /** Latency of the requests scheduled since the previous sample, from their scheduled send time. */
  latencyP50Ms?: number
  latencyP99Ms?: number
  latencyMaxMs?: number
}

interface StoreRun {
  kind: StoreKind
  offered: number
  achieved: number
  measured: { scheduled: number; ok: number; p50: number; p99: number; p999: number; max: number }
  total: number
  acknowledged: number
  errors: Map<string, number>
  found: number
  storeCount: number
  collectorAccepted: number | null
  start: Sample
  end: Sample
  heapSlopeMiBPerMin: number
  /** The heap's floor (least heap used) in the last measured minute less that in the first (halves of a shorter run). */
  heapFloorGrowthMiB: number
  series: Sample[]
  sendLagP99: number
  sendLagMax: number
  maxInFlight: number
  bodyBytes: number
  exitCode: number | null
}

const round = (n: number, digits = 1): number => (Number.isFinite(n) ? Math.round(n * 10 ** digits) / 10 ** digits : n)

/** Reads one unlabelled gauge or counter from Prometheus text. */
function metric(text: string, name: RegExp): number {
  const re = new RegExp(`^${name.source} (\\S+)$`, 'm')
  const m = re.exec(text)
  return m ? Number(m[1]) : NaN
}

function labelled(text: string, name: string, labels: string): number {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) && line.includes(labels)) return Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return NaN
}

interface Scrape {
  at: number
  rss: number
  heapUsed: number
  heapTotal: number
  oldUsed: number
  external: number
  cpuSeconds: number
  lagP99: number
  text: string
}

async function scrape(url: string, dataDir: string): Promise<Scrape> {
  const res = await fetchMetrics(url, dataDir, { signal: AbortSignal.timeout(10_000) })
  if (!res.ok) throw new Error(`GET /metrics answered ${res.status}`)
  const text = await res.text()
  return {
    at: performance.now(),
    // prom-client's process metrics carry their own process_ after the prefix.
    rss: metric(text, /vigil_process_(?:process_)?resident_memory_bytes/),
    heapUsed: metric(text, /vigil_process_nodejs_heap_size_used_bytes/),
    heapTotal: metric(text, /vigil_process_nodejs_heap_size_total_bytes/),
    oldUsed: labelled(text, 'vigil_process_nodejs_heap_space_size_used_bytes', 'space="old"'),
    external: metric(text, /vigil_process_nodejs_external_memory_bytes/),
    cpuSeconds: metric(text, /vigil_process_(?:process_)?cpu_seconds_total/),
    lagP99: metric(text, /vigil_process_nodejs_eventloop_lag_p99_seconds/),
    text,
  }
}

/**
 * How much the heap's floor rose over the measured samples: the least heap used in the last
 * minute (or half, in a run shorter than two minutes) less the least in the first. Heap used
 * is a sawtooth (garbage accrues between collections, 25 to 100 MiB at 200/s); its lows are
 * what the collector keeps alive, and a leak raises them. A least-squares trend over the
 * sawtooth reads as growth whenever a run starts near a trough and ends near a peak. The
 * sawtooth's period is 40–80 s at 200/s, so a window under a minute can miss its trough:
 * the budget judges runs of two minutes or more.
 */
export function floorGrowth(samples: ReadonlyArray<{ t: number; heapUsedMiB: number }>): number {
  if (samples.length < 2) return NaN
  const first = samples[0]!.t
  const last = samples[samples.length - 1]!.t
  const window = last - first >= 120 ? 60 : (last - first) / 2
  const floor = (from: number, to: number): number => Math.min(...samples.filter((s) => s.t >= from && s.t <= to).map((s) => s.heapUsedMiB))
  return floor(last - window, last) - floor(first, first + window)
}

/** Least-squares slope of y over x. */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length
  if (n < 2) return NaN
  const mx = xs.reduce((a, b) => a + b, 0) / n
  const my = ys.reduce((a, b) => a + b, 0) / n
  let num = 0
  let den = 0
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my)
    den += (xs[i]! - mx) ** 2
  }
  return den === 0 ? NaN : num / den
}

/** The jti inside a sealed verdict token (opened with the demo site's public secret). */
const demoSealKey = deriveSealKey(DEMO_SITE.secret, DEMO_SITE.siteKey)

/** Opens a demo-site seal synchronously with node:crypto (the judge of each answer is synchronous). */
function unsealDemo(token: string): string {
  const [header, , iv, ciphertext, tag] = token.split('.') as [string, string, string, string, string]
  const decipher = createDecipheriv('aes-256-gcm', demoSealKey, Buffer.from(iv, 'base64url'), { authTagLength: 16 })
  decipher.setAAD(Buffer.from(header, 'ascii'))
  decipher.setAuthTag(Buffer.from(tag, 'base64url'))
  return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8')
}

function jtiOf(token: string): string | null {
  try {
    const jws = unsealDemo(token)
    const claims = JSON.parse(Buffer.from(jws.split('.')[1] ?? '', 'base64url').toString('utf8')) as { jti?: unknown }
    return typeof claims.jti === 'string' ? claims.jti : null
  } catch {
    return null
  }
}

/** The Redis adapter's event stream (collector-server/src/stores/redis.ts, default prefix). */
const REDIS_EVENT_STREAM = 'vigil:events'

/**
 * How many of the acknowledged event ids the store holds, opened as durability.test.ts does
 * (after the collector has exited). SQLite: the store's own get() by id. Redis: its get()
 * is a linear scan of the stream (fine for one id, quadratic for tens of thousands), so
 * the stream is read once and the ids matched; three ids are cross-checked with get().
 */
async function findEvents(redisUrl: string | undefined, dataDir: string, acknowledged: string[]): Promise<{ found: number; storeCount: number }> {
  const store = await openStore(redisUrl, dataDir)
  try {
    const storeCount = await store.events.count()
    if (!redisUrl) {
      let found = 0
      for (const id of acknowledged) if (await store.events.get(id)) found++
      return { found, storeCount }
    }
    const ids = new Set<string>()
    const client = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 })
    client.on('error', () => undefined)
    try {
      await client.connect()
      for (let cursor = '-'; ; ) {
        const batch = await client.xrange(REDIS_EVENT_STREAM, cursor, '+', 'COUNT', 2000)
        for (const [, fields] of batch) {
          for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === 'id') ids.add(fields[i + 1]!)
        }
        if (batch.length < 2000) break
        cursor = `(${batch[batch.length - 1]![0]}`
      }
    } finally {
      client.disconnect()
    }
    if (ids.size !== storeCount) throw new Error(`read ${ids.size} event ids from ${REDIS_EVENT_STREAM}, the store counts ${storeCount}`)
    const found = acknowledged.filter((id) => ids.has(id)).length
    // The adapter's own lookup agrees on the first, middle and last acknowledged ids (each get() scans the stream).
    for (const id of [acknowledged[0], acknowledged[acknowledged.length >> 1], acknowledged[acknowledged.length - 1]]) {
      if (id === undefined) continue
      if ((await store.events.get(id) !== null) !== ids.has(id)) throw new Error(`store.events.get(${id}) disagrees with the stream`)
    }
    return { found, storeCount }
  } finally {
    await store.close()
  }
}

interface Services {
  dataDir: string
  redis: RedisServer | null
  collector: CliCollector
  keyring: ReturnType<typeof loadKeyring>
}

/** The collector (and Redis) for one store, on a fresh data directory. */
async function startServices(kind: StoreKind, dataDir: string, started: (s: Partial<Services>) => void): Promise<Services> {
  writeUnlimitedDemoSite(dataDir)
  const redis = kind === 'redis' ? await startRedis() : null
  started({ redis })
  const keyring = loadKeyring(dataDir)
  const collector = await startCli(['--host', '127.0.0.1', '--data-dir', dataDir, '--demo', ...(redis ? ['--store', redis.url] : [])])
  started({ redis, collector })
  if (new URL(collector.url).hostname !== '127.0.0.1') throw new Error(`collector is on ${collector.url}, expected 127.0.0.1`)
  const health = (await (await fetch(`${collector.url}/healthz`)).json()) as { store?: string }
  if (health.store !== kind) throw new Error(`collector reports store ${health.store}, expected ${kind}`)
  return { dataDir, redis, collector, keyring }
}

/** The collector's memory, CPU and event loop over the run: a /metrics scrape every SAMPLE_S. */
class MetricsSeries {
  readonly series: Sample[] = []
  /** The sample at the end of the warm-up: the baseline for growth. */
  start: Sample | undefined
  private prev: Scrape
  private readonly pending: Array<Promise<void>> = []
  private sampler: NodeJS.Timeout | undefined
  private warmupTimer: NodeJS.Timeout | undefined

  constructor(private readonly url: string, private readonly dataDir: string, idle: Scrape, private readonly t0: number, private readonly measureEnd: number, private readonly load: LoadRecord) {
    this.prev = idle
    this.series.push(this.toSample(idle, 'idle'))
  }

  private phaseAt(at: number): Sample['phase'] {
    return at < this.t0 ? 'idle' : at < this.t0 + WARMUP_S * 1000 ? 'warmup' : at < this.measureEnd ? 'measure' : 'drain'
  }

  toSample(s: Scrape, phase?: Sample['phase']): Sample {
    const prev = this.prev
    const sample: Sample = {
      t: round((s.at - this.t0) / 1000, 1),
      phase: phase ?? this.phaseAt(s.at),
      rssMiB: round(s.rss / MiB),
      heapUsedMiB: round(s.heapUsed / MiB),
      heapTotalMiB: round(s.heapTotal / MiB),
      oldSpaceUsedMiB: round(s.oldUsed / MiB),
      externalMiB: round(s.external / MiB),
      cpuPct: s.at > prev.at ? round(((s.cpuSeconds - prev.cpuSeconds) / ((s.at - prev.at) / 1000)) * 100) : 0,
      eventLoopLagP99Ms: round(s.lagP99 * 1000),
      load1: round(loadavg()[0]!, 2),
      sent: this.load.sent,
      answered: this.load.answered,
    }
    this.prev = s
    return sample
  }

  /** Samples every SAMPLE_S from now, and once at the end of the warm-up, off the load's connections. */
  begin(): void {
    this.sampler = setInterval(() => this.pending.push(scrape(this.url, this.dataDir).then((s) => void this.series.push(this.toSample(s)), () => undefined)), SAMPLE_S * 1000)
    this.sampler.unref()
    this.warmupTimer = setTimeout(() => {
      this.pending.push(
        scrape(this.url, this.dataDir).then((s) => {
          this.start = this.toSample(s, 'measure')
          this.series.push(this.start)
        }),
      )
    }, Math.max(0, this.t0 + WARMUP_S * 1000 - performance.now()))
  }

  async add(phase: Sample['phase']): Promise<{ sample: Sample; scrape: Scrape }> {
    const s = await scrape(this.url, this.dataDir)
    const sample = this.toSample(s, phase)
    this.series.push(sample)
    return { sample, scrape: s }
  }

  async stop(): Promise<void> {
    clearInterval(this.sampler)
    clearTimeout(this.warmupTimer)
    await Promise.allSettled(this.pending)
    this.series.sort((a, b) => a.t - b.t)
  }
}

/** Latency p50/p99/max per sample window, by scheduled time, written into the series. */
function latencyWindows(series: Sample[], latency: Float64Array, period: number): void {
  let from = -Infinity
  for (const s of series) {
    if (s.phase === 'idle') continue
    const lo = Math.max(0, Math.ceil((from * 1000) / period))
    const hi = Math.min(latency.length, Math.ceil((s.t * 1000) / period))
    const window = latency.slice(lo, hi).filter((v) => !Number.isNaN(v)).sort()
    if (window.length > 0) {
      s.latencyP50Ms = round(quantileOfSorted(window, 0.5))
      s.latencyP99Ms = round(quantileOfSorted(window, 0.99))
      s.latencyMaxMs = round(window[window.length - 1]!)
    }
    from = s.t
  }
}

/** The open-loop load against a running collector; returns what it observed. */
async function runLoad(services: Services, rate: number, minutes: number): Promise<Omit<StoreRun, 'kind' | 'found' | 'storeCount' | 'exitCode'> & { acknowledgedIds: string[] }> {
  const { collector, keyring } = services
  const signals = capturedSignals()
  const devices = Array.from({ length: DEVICES }, () => new TestDevice())
  // Each device moves its own way: one trace from many devices is a replay, and would be judged one.
  const traces = devices.map((_, i) => humanTraceVariant(i + 1))
  const period = 1000 / rate
  const warmupCount = Math.round(rate * WARMUP_S)
  const total = warmupCount + Math.round(rate * minutes * 60)
  const load = new LoadRecord(total, warmupCount)
  const acknowledged: string[] = []
  const connections = new Connections(new URL(collector.url))
  let bodyBytes = 0
  try {
    const idle = await scrape(collector.url, services.dataDir)
    const t0 = performance.now() + 100
    const metrics = new MetricsSeries(collector.url, services.dataDir, idle, t0, t0 + total * period, load)
    metrics.begin()
    const judge = (answer: { status: number; text: string }): string | null => {
      if (answer.status !== 200) return httpError(answer)
      let jti: string | null
      try {
        jti = jtiOf((JSON.parse(answer.text) as { token: string }).token)
      } catch {
        jti = null
      }
      if (jti === null) return '200 without a readable token'
      acknowledged.push(jti)
      return null
    }
    await schedule(t0, rate, total, (i, scheduled) => {
      const { challenge } = mintChallenge(keyring.challengeKey, DEMO_SITE.siteKey, Date.now(), RETURNING)
      const body = JSON.stringify(devices[i % devices.length]!.body(challenge, { signals, behavior: { trace: traces[i % devices.length]!, summary: {} } }))
      bodyBytes = body.length
      load.track(i, scheduled, connections.post('/v1/collect', body), judge)
    })
    // End of the schedule, still under load (as the start sample was): the end figure.
    const end = (await metrics.add('measure')).sample
    // Let every request in flight settle (each has its own timeout).
    await load.drain()
    await metrics.stop()
    const drained = await metrics.add('drain')
    metrics.series.sort((a, b) => a.t - b.t)
    const start = metrics.start
    if (!start) throw new Error('no /metrics sample at the end of the warm-up')
    latencyWindows(metrics.series, load.latency, period)

    const measuredLatency = load.latency.slice(warmupCount).filter((v) => !Number.isNaN(v)).sort()
    const lags = load.sendLag.slice().sort()
    const measureStart = t0 + warmupCount * period
    const measuredSeries = metrics.series.filter((s) => s.phase === 'measure')
    const collectorAccepted = labelled(drained.scrape.text, 'vigil_collect_total', 'outcome="accepted"')
    return {
      offered: rate,
      achieved: load.measuredOk / ((Math.max(load.lastMeasuredDone, t0 + total * period) - measureStart) / 1000),
      measured: {
        scheduled: total - warmupCount,
        ok: load.measuredOk,
        p50: quantileOfSorted(measuredLatency, 0.5),
        p99: quantileOfSorted(measuredLatency, 0.99),
        p999: quantileOfSorted(measuredLatency, 0.999),
        max: measuredLatency.length > 0 ? measuredLatency[measuredLatency.length - 1]! : NaN,
      },
      total,
      acknowledged: acknowledged.length,
      acknowledgedIds: acknowledged,
      errors: load.errors,
      collectorAccepted: Number.isNaN(collectorAccepted) ? null : collectorAccepted,
      start,
      end,
      heapSlopeMiBPerMin: slope(measuredSeries.map((s) => s.t / 60), measuredSeries.map((s) => s.heapUsedMiB)),
      heapFloorGrowthMiB: floorGrowth(measuredSeries),
      series: metrics.series,
      sendLagP99: quantileOfSorted(lags, 0.99),
      sendLagMax: lags[lags.length - 1] ?? NaN,
      maxInFlight: load.maxInFlight,
      bodyBytes,
    }
  } finally {
    connections.close()
  }
}

async function soakStore(kind: StoreKind, rate: number, minutes: number, register: (cleanup: () => void) => void): Promise<StoreRun> {
  const dataDir = mkdtempSync(join(tmpdir(), 'vigil-soak-'))
  let running: Partial<Services> = {}
  // On SIGINT/SIGTERM: kill the children and remove the temporary directories at once.
  register(() => {
    running.collector?.child.kill('SIGKILL')
    void running.redis?.kill()
    for (const dir of [dataDir, running.redis?.dir]) if (dir) rmSync(dir, { recursive: true, force: true })
  })
  try {
    const services = await startServices(kind, dataDir, (s) => (running = s))
    const { acknowledgedIds, ...run } = await runLoad(services, rate, minutes)
    const exitCode = await services.collector.stop()
    // Every acknowledged event must be in the store once the collector is gone.
    const { found, storeCount } = await findEvents(services.redis ? services.redis.url : undefined, dataDir, acknowledgedIds)
    return { kind, ...run, found, storeCount, exitCode }
  } finally {
    await running.collector?.kill()
    await running.redis?.stop()
    rmSync(dataDir, { recursive: true, force: true })
  }
}

function rowsFor(r: StoreRun, minutes: number): Row[] {
  const name = r.kind === 'sqlite' ? 'SQLite' : 'Redis'
  const errors = [...r.errors.values()].reduce((a, b) => a + b, 0)
  const lost = r.acknowledged - r.found
  const heapGrowth = r.end.heapUsedMiB - r.start.heapUsedMiB
  // The budget is on the heap's floor (floorGrowth): two single samples of a sawtooth heap, or
  // a trend fitted to one, can differ by more than a leak would.
  const fittedGrowth = r.heapSlopeMiBPerMin * minutes
  return [
    { metric: `${name}: offered rate (open loop)`, value: r.offered, unit: 'req/s' },
    { metric: `${name}: achieved throughput (200s)`, value: round(r.achieved, 1), unit: 'req/s' },
    { metric: `${name}: latency p50 from scheduled send`, value: round(r.measured.p50, 2), unit: 'ms' },
    { metric: `${name}: latency p99 from scheduled send`, value: round(r.measured.p99, 2), unit: 'ms', budget: BUDGET.p99Ms, pass: r.measured.p99 <= BUDGET.p99Ms },
    { metric: `${name}: latency max`, value: round(r.measured.max, 1), unit: 'ms' },
    { metric: `${name}: errors (non-2xx + transport) of ${r.total} requests`, value: errors, unit: '', budget: BUDGET.errors, pass: errors <= BUDGET.errors },
    { metric: `${name}: events lost (${r.acknowledged} acknowledged, ${r.found} found in the store)`, value: lost, unit: '', budget: BUDGET.lost, pass: lost <= BUDGET.lost },
    { metric: `${name}: collector RSS after warm-up`, value: r.start.rssMiB, unit: 'MiB' },
    { metric: `${name}: collector RSS at end`, value: r.end.rssMiB, unit: 'MiB' },
    { metric: `${name}: collector RSS growth`, value: round(r.end.rssMiB - r.start.rssMiB), unit: 'MiB' },
    { metric: `${name}: collector heap used after warm-up`, value: r.start.heapUsedMiB, unit: 'MiB' },
    { metric: `${name}: collector heap used at end`, value: r.end.heapUsedMiB, unit: 'MiB' },
    { metric: `${name}: collector heap, end minus after warm-up (two samples)`, value: round(heapGrowth), unit: 'MiB' },
    { metric: `${name}: heap trend over the measured samples (least squares)`, value: round(r.heapSlopeMiBPerMin, 2), unit: 'MiB/min' },
    { metric: `${name}: heap growth over the run, fitted (trend × minutes)`, value: round(fittedGrowth), unit: 'MiB' },
    // Judged on runs of two minutes or more: halves of a shorter run can each miss a trough.
    minutes >= 2
      ? {
          metric: `${name}: heap floor growth (least heap used, last measured minute less first)`,
          value: round(r.heapFloorGrowthMiB),
          unit: 'MiB',
          budget: BUDGET.heapGrowthMiB,
          pass: r.heapFloorGrowthMiB <= BUDGET.heapGrowthMiB,
        }
      : { metric: `${name}: heap floor growth (halves of a run under two minutes: not judged)`, value: round(r.heapFloorGrowthMiB), unit: 'MiB' },
  ]
}

const range = (xs: number[], unit: string): string => (xs.length === 0 ? 'n/a' : `${Math.min(...xs)}–${Math.max(...xs)}${unit}`)

function notesFor(r: StoreRun): string[] {
  const name = r.kind === 'sqlite' ? 'SQLite' : 'Redis'
  const errs = [...r.errors.entries()].map(([code, n]) => `${code}: ${n}`).join(', ')
  const mem = r.series
    .filter((s) => s.phase !== 'drain')
    .map((s) => `${Math.round(s.t)}s ${Math.round(s.rssMiB)}/${Math.round(s.heapUsedMiB)}`)
    .join(' · ')
  // Windows of the measured phase: the first measured sample closes the warm-up's last window.
  const measured = r.series.filter((s) => s.phase === 'measure').slice(1)
  const p99s = measured.filter((s) => s.latencyP99Ms !== undefined).map((s) => s.latencyP99Ms!)
  const worst = measured.reduce<Sample | null>((w, s) => (s.latencyMaxMs !== undefined && (w === null || s.latencyMaxMs > (w.latencyMaxMs ?? 0)) ? s : w), null)
  const warmupP99 = Math.max(...r.series.filter((s) => s.phase !== 'measure' || s === r.start).map((s) => s.latencyP99Ms ?? 0))
  const cpu = measured.map((s) => s.cpuPct)
  const lag = measured.map((s) => s.eventLoopLagP99Ms)
  const load = r.series.map((s) => s.load1)
  return [
    `${name}: memory every ${SAMPLE_S} s, RSS/heap used MiB (t from the first request; warm-up ends at ${WARMUP_S}s): ${mem}.`,
    `${name}: measured p99 per ${SAMPLE_S} s window ${range(p99s, ' ms')}; worst request ${round(r.measured.max)} ms${worst ? ` (window ending t=${Math.round(worst.t)}s)` : ''}; p99.9 ${round(r.measured.p999)} ms; warm-up windows' worst p99 ${round(warmupP99)} ms. Collector CPU ${range(cpu, ' %')} of one core, event-loop lag p99 ${range(lag, ' ms')}; machine load average ${range(load, '')}.`,
    `${name}: errors ${errs || 'none'}. ${r.acknowledged} acknowledged, ${r.found} of them found by id after shutdown (collector exit code ${r.exitCode}); the store holds ${r.storeCount} events, the collector counted ${r.collectorAccepted ?? '?'} accepted.`,
    `${name}: load generator: send lag behind schedule p99 ${round(r.sendLagP99, 2)} ms, max ${round(r.sendLagMax, 1)} ms; at most ${r.maxInFlight} requests in flight.`,
  ]
}

export async function soak(): Promise<SuiteResult> {
  const rate = envNumber('VIGIL_SOAK_RATE', 200)
  const minutes = envNumber('VIGIL_SOAK_MINUTES', 3)
  const cleanups: Array<() => void> = []
  const onSignal = (signal: NodeJS.Signals): void => {
    for (const c of cleanups) c()
    process.kill(process.pid, signal)
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  const runs: StoreRun[] = []
  const notes: string[] = []
  try {
    runs.push(await soakStore('sqlite', rate, minutes, (c) => cleanups.push(c)))
    if (hasRedisServer()) runs.push(await soakStore('redis', rate, minutes, (c) => cleanups.push(c)))
    else notes.push('Redis store skipped: redis-server is not installed.')
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
  const first = runs[0]!
  const result: SuiteResult & { config: Record<string, unknown>; series: Record<string, Sample[]> } = {
    suite: 'soak',
    rows: runs.flatMap((r) => rowsFor(r, minutes)),
    notes: [
      `Open loop: ${rate} req/s scheduled on a timer for ${WARMUP_S} s of warm-up plus ${minutes} min measured, per store; latency from each request's scheduled send time (queueing in the client included), measured-phase requests only. Body ${first.bodyBytes} bytes (captured signals, a 600-event trace), a fresh challenge and a signature made at send time, ${DEVICES} device keys; keep-alive HTTP to 127.0.0.1, ${TIMEOUT_MS / 1000} s timeout.`,
      `Memory from the collector's /metrics (prom-client): "after warm-up" is sampled at t=${WARMUP_S}s and "end" as the schedule ends, both under load. Heap used includes the young generation, which alone swings by up to ~16 MiB between scavenges; the trend row fits a line through the measured samples. MiB = 2^20 bytes. Load generator, collector${runs.some((r) => r.kind === 'redis') ? ' and redis-server' : ''} share the machine's cores.`,
      ...notes,
      ...runs.flatMap(notesFor),
    ],
    config: { rate, minutes, warmupSeconds: WARMUP_S, sampleSeconds: SAMPLE_S, devices: DEVICES, timeoutMs: TIMEOUT_MS },
    series: Object.fromEntries(runs.map((r) => [r.kind, r.series])),
  }
  return result
}

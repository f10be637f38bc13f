/**
 * Collector throughput: autocannon against POST /v1/collect with valid, signed, realistic
 * payloads (a captured browser's signals and a 600-event trace, each body with its own
 * fresh challenge), beside a bare Fastify route that parses the same JSON and verifies one
 * Ed25519 signature — measured in the same run, on the same machine, at 50 connections.
 * Load generator and server share the machine's two cores.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sign } from 'node:crypto'
import autocannon from 'autocannon'
import { startCli } from '../../test/support/cli'
import { startRedis } from '../../test/support/redis'
import { TestDevice } from '../../test/support/device'
import { loadKeyring } from '../../collector-server/src/config/keyring'
import { DEMO_SITE } from '../../collector-server/src/config/sites'
import { mintChallenge, type ChallengeTerms } from '../../collector-server/src/verify/challenge'

import { capturedSignals, humanTrace, humanTraceVariant } from '../../test/support/payloads'
import type { SuiteResult } from '../types'
import { postAtRate } from '../open-loop'
import { quantileOfSorted } from '../stats'
import { defaultScoringThreads } from '../../collector-server/src/risk/scoring-pool'

/** The challenges a returning device with a good history gets: no work, both probes (answered by TestDevice). */
const RETURNING: ChallengeTerms = { difficulty: 0, deviceId: null, probes: ['text', 'tz'] }

const CONNECTIONS = 50
const SECONDS = 10
const BODIES = 45_000
/** The open-loop run's rate, as a share of the capacity just measured, and its length. */
const OPEN_LOOP_SHARE = 0.7
const OPEN_LOOP_SECONDS = 10
const OPEN_LOOP_WARMUP = 1_000

interface Run {
  rps: number
  p50: number
  p99: number
  non2xx: number
  errors: number
  requests: number
}

async function cannon(url: string, path: string, bodies: Array<{ body: string; headers?: Record<string, string> }>, options: { amount?: number; reuse?: boolean } = {}): Promise<Run> {
  let i = 0
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    ...(options.amount ? { amount: options.amount } : { duration: SECONDS }),
    requests: [
      {
        method: 'POST',
        path,
        setupRequest: (req: autocannon.Request) => {
          const b = bodies[i++ % bodies.length]!
          return { ...req, body: b.body, headers: { 'content-type': 'application/json', ...b.headers } }
        },
      },
    ],
  })
  if (!options.reuse && i > bodies.length) throw new Error(`ran out of bodies (${i} > ${bodies.length}): replays would skew the run`)
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, non2xx: result.non2xx, errors: result.errors, requests: result.requests.total }
}

/** One address sends everything: the data directory's sites.json is the demo site with its rate limits lifted. */
export function writeUnlimitedDemoSite(dataDir: string): void {
  writeFileSync(join(dataDir, 'sites.json'), JSON.stringify({ sites: [{ ...DEMO_SITE, policy: { rateLimits: { ipPerMinute: 1e9, devicePerMinute: 1e9 } } }] }))
}

/** `n` signed collect bodies for the demo site, each with its own challenge from the data directory's key. */
export function bodiesFor(dataDir: string, n: number, minimal: boolean): string[] {
  const keyring = loadKeyring(dataDir)
  const signals = minimal ? {} : capturedSignals()
  const devices = Array.from({ length: 400 }, () => new TestDevice())
  // Each device moves its own way: one trace from many devices is a replay, and would be judged one.
  const traces = devices.map((_, i) => (minimal ? undefined : humanTraceVariant(i + 1)))
  const now = Date.now() + 5_000
  const out: string[] = []
  for (let i = 0; i < n; i++) {
    const { challenge } = mintChallenge(keyring.challengeKey, 'demo', now, RETURNING)
    const trace = traces[i % devices.length]
    out.push(JSON.stringify(devices[i % devices.length]!.body(challenge, trace ? { signals, behavior: { trace, summary: {} } } : { signals })))
  }
  return out
}

interface OpenLoop {
  rate: number
  p50: number
  p99: number
  failed: number
  scheduled: number
  /** How late the generator itself sent, p99 (ms): when high, the figure is the machine's, not the collector's. */
  sendLagP99: number
}

/** Requests sent at a fixed rate whatever the answers do; latency from each one's scheduled send. */
async function openLoop(url: string, bodies: string[], rate: number): Promise<OpenLoop> {
  const total = bodies.length
  const load = await postAtRate(url, '/v1/collect', bodies, rate, OPEN_LOOP_WARMUP)
  const measured = load.latency.slice(OPEN_LOOP_WARMUP).filter((v) => !Number.isNaN(v)).sort()
  let failed = 0
  for (const n of load.errors.values()) failed += n
  const lags = load.sendLag.slice(OPEN_LOOP_WARMUP).sort()
  return { rate, p50: quantileOfSorted(measured, 0.5), p99: quantileOfSorted(measured, 0.99), failed, scheduled: total - OPEN_LOOP_WARMUP, sendLagP99: quantileOfSorted(lags, 0.99) }
}

interface CollectorRun extends Run {
  bytes: number
  open?: OpenLoop
}

async function runCollector(store: 'sqlite' | 'redis', options: { minimal?: boolean; workers?: number; openLoop?: boolean; scoringThreads?: number } = {}): Promise<CollectorRun> {
  const dataDir = mkdtempSync(join(tmpdir(), 'vigil-bench-'))
  writeUnlimitedDemoSite(dataDir)
  const redis = store === 'redis' ? await startRedis() : null
  let bodies: string[] | null = bodiesFor(dataDir, BODIES, options.minimal === true)
  const bytes = bodies[0]!.length
  const collector = await startCli(['--data-dir', dataDir, '--demo', ...(redis ? ['--store', redis.url] : []), ...(options.workers ? ['--workers', String(options.workers)] : []), ...(options.scoringThreads !== undefined ? ['--scoring-threads', String(options.scoringThreads)] : [])])
  try {
    await cannon(collector.url, '/v1/collect', bodies.slice(0, 2000).map((body) => ({ body })), { amount: 2000 }) // warm-up on its own bodies
    const run = await cannon(collector.url, '/v1/collect', bodies.slice(2000).map((body) => ({ body })))
    // Spent: about half a gigabyte of strings that the open loop's generator, on the collector's
    // cores, would otherwise carry through every collection of its heap.
    bodies = null
    let open: OpenLoop | undefined
    if (options.openLoop) {
      // The same collector, now at a fixed 70% of what it just sustained: fresh bodies, each its own challenge.
      const rate = Math.round(run.rps * OPEN_LOOP_SHARE)
      open = await openLoop(collector.url, bodiesFor(dataDir, OPEN_LOOP_WARMUP + rate * OPEN_LOOP_SECONDS, options.minimal === true), rate)
    }
    return { ...run, bytes, ...(open ? { open } : {}) }
  } finally {
    await collector.stop()
    await redis?.stop()
  }
}

async function runBare(): Promise<Run> {
  const child = spawn(process.execPath, ['bench/servers/bare.mjs'], { stdio: ['ignore', 'pipe', 'inherit'] })
  const url = await new Promise<string>((resolve) => child.stdout.on('data', (c: Buffer) => /on (http\S+)/.test(c.toString()) && resolve(/on (http\S+)/.exec(c.toString())![1]!)))
  try {
    const signals = capturedSignals()
    const trace = humanTrace()
    const devices = Array.from({ length: 400 }, () => new TestDevice())
    const bodies = Array.from({ length: 4000 }, (_, i) => {
      const d = devices[i % devices.length]!
      const body = JSON.stringify(d.body(`bench-${i}`, { signals, behavior: { trace, summary: {} } }))
      return { body, headers: { 'x-signature': sign(null, Buffer.from(body), d.privateKey).toString('base64url') } }
    })
    // No nonce here: bodies may repeat.
    await cannon(url, '/verify', bodies, { amount: 2000, reuse: true })
    return await cannon(url, '/verify', bodies, { reuse: true })
  } finally {
    child.kill('SIGTERM')
  }
}

export async function collectThroughput(): Promise<SuiteResult> {
  const bare = await runBare()
  const sqlite = await runCollector('sqlite', { openLoop: true })
  const requestThread = await runCollector('sqlite', { scoringThreads: 0 })
  const minimal = await runCollector('sqlite', { minimal: true })
  const redis = await runCollector('redis')
  const sqliteWorkers = await runCollector('sqlite', { workers: 2 })
  const redisWorkers = await runCollector('redis', { workers: 2 })
  const row = (name: string, r: Run, budget?: { ratio: number; p99?: number }) => [
    { metric: `${name}: requests/s`, value: r.rps, unit: 'req/s', ratio: r.rps / bare.rps, ...(budget ? { budget: budget.ratio * bare.rps, pass: r.rps >= budget.ratio * bare.rps } : {}) },
    { metric: `${name}: latency p50`, value: r.p50, unit: 'ms' },
    { metric: `${name}: latency p99 at saturation`, value: r.p99, unit: 'ms', ...(budget?.p99 ? { budget: budget.p99, pass: r.p99 <= budget.p99 } : {}) },
    { metric: `${name}: non-2xx / errors of ${r.requests}`, value: r.non2xx + r.errors, unit: '', budget: 0, pass: r.non2xx + r.errors === 0 },
  ]
  const open = sqlite.open!
  return {
    suite: 'collect',
    rows: [
      { metric: 'bare Fastify: parse JSON + one Ed25519 verify, requests/s', value: bare.rps, unit: 'req/s', baseline: true },
      { metric: 'bare Fastify: latency p99', value: bare.p99, unit: 'ms' },
      ...row('collector, SQLite', sqlite, { ratio: 0.5 }),
      { metric: `collector, SQLite, open loop at 70% of its capacity (${open.rate} req/s): latency p50`, value: open.p50, unit: 'ms' },
      { metric: `collector, SQLite, open loop at 70% of its capacity (${open.rate} req/s): latency p99`, value: open.p99, unit: 'ms', budget: 25, pass: open.p99 <= 25 },
      { metric: `collector, SQLite, open loop: failed of ${open.scheduled}`, value: open.failed, unit: '', budget: 0, pass: open.failed === 0 },
      { metric: "collector, SQLite, open loop: the generator's own send lag p99", value: open.sendLagP99, unit: 'ms' },
      ...row('collector, SQLite, --scoring-threads 0 (everything on the request thread)', requestThread),
      ...row('collector, SQLite, payload without signals or trace', minimal),
      ...row('collector, Redis', redis),
      ...row('collector, SQLite, --workers 2', sqliteWorkers),
      ...row('collector, Redis, --workers 2', redisWorkers),
    ],
    notes: [
      `${CONNECTIONS} connections, ${SECONDS} s per run after a 2,000-request warm-up; body ${sqlite.bytes} bytes (captured signals and a 600-event trace of a person's pointer, its own per device; ${minimal.bytes} bytes without), every body a fresh challenge and a valid signature.`,
      'At saturation latency is queueing: p99 ≈ connections ÷ throughput. The collector does per request what the bare route does, plus a canonical encoding, detectors, feature extraction and the classifier, the trace sketch, velocity links, an Ed25519-signed and AES-sealed token and a durable event.',
      `Open loop: after the SQLite capacity run, the same collector gets ${OPEN_LOOP_SHARE * 100}% of the rate it sustained, on a fixed schedule for ${OPEN_LOOP_SECONDS} s after ${OPEN_LOOP_WARMUP} warm-up requests; latency runs from each request's scheduled send (bench/open-loop.ts), so queueing shows.`,
      `The collector runs with its default scoring threads (${defaultScoringThreads(1)} here: the cores less one, at most 4), which check each collect's signature and score its trace beside the request thread, in the same process; the --scoring-threads 0 row does everything on the request thread. --workers runs default to none (a process per core).`,
      'The load generator (autocannon, or the open-loop scheduler) runs in the bench process and shares the two cores with the collector: --workers 2 competes with it for the second core, so the multi-process rows show what two processes gain on this machine, not on a machine with a core per worker.',
    ],
  }
}

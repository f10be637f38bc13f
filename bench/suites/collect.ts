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

import { capturedSignals, humanTrace } from '../../test/support/payloads'
import type { SuiteResult } from '../types'

/** The challenges a returning device with a good history gets: no work, both probes (answered by TestDevice). */
const RETURNING: ChallengeTerms = { difficulty: 0, deviceId: null, probes: ['text', 'tz'] }

const CONNECTIONS = 50
const SECONDS = 10
const BODIES = 45_000

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

function bodiesFor(dataDir: string, n: number, minimal: boolean): string[] {
  const keyring = loadKeyring(dataDir)
  const { signals, trace } = minimal ? { signals: {}, trace: undefined } : { signals: capturedSignals(), trace: humanTrace() }
  const devices = Array.from({ length: 400 }, () => new TestDevice())
  const now = Date.now() + 5_000
  const out: string[] = []
  for (let i = 0; i < n; i++) {
    const { challenge } = mintChallenge(keyring.challengeKey, 'demo', now, RETURNING)
    out.push(JSON.stringify(devices[i % devices.length]!.body(challenge, trace ? { signals, behavior: { trace, summary: {} } } : { signals })))
  }
  return out
}

async function runCollector(store: 'sqlite' | 'redis', minimal = false): Promise<Run & { bytes: number }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'vigil-bench-'))
  writeFileSync(join(dataDir, 'sites.json'), JSON.stringify({ sites: [{ ...DEMO_SITE, policy: { rateLimits: { ipPerMinute: 1e9, devicePerMinute: 1e9 } } }] }))
  const redis = store === 'redis' ? await startRedis() : null
  const bodies = bodiesFor(dataDir, BODIES, minimal)
  const collector = await startCli(['--data-dir', dataDir, '--demo', ...(redis ? ['--store', redis.url] : [])])
  try {
    await cannon(collector.url, '/v1/collect', bodies.slice(0, 2000).map((body) => ({ body })), { amount: 2000 }) // warm-up on its own bodies
    const run = await cannon(collector.url, '/v1/collect', bodies.slice(2000).map((body) => ({ body })))
    return { ...run, bytes: bodies[0]!.length }
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
  const sqlite = await runCollector('sqlite')
  const minimal = await runCollector('sqlite', true)
  const redis = await runCollector('redis')
  const row = (name: string, r: Run, budget?: { ratio: number; p99: number }) => [
    { metric: `${name}: requests/s`, value: r.rps, unit: 'req/s', ratio: r.rps / bare.rps, ...(budget ? { budget: budget.ratio * bare.rps, pass: r.rps >= budget.ratio * bare.rps } : {}) },
    { metric: `${name}: latency p50`, value: r.p50, unit: 'ms' },
    { metric: `${name}: latency p99`, value: r.p99, unit: 'ms', ...(budget ? { budget: budget.p99, pass: r.p99 <= budget.p99 } : {}) },
    { metric: `${name}: non-2xx / errors of ${r.requests}`, value: r.non2xx + r.errors, unit: '', budget: 0, pass: r.non2xx + r.errors === 0 },
  ]
  return {
    suite: 'collect',
    rows: [
      { metric: 'bare Fastify: parse JSON + one Ed25519 verify, requests/s', value: bare.rps, unit: 'req/s', baseline: true },
      { metric: 'bare Fastify: latency p99', value: bare.p99, unit: 'ms' },
      ...row('collector, SQLite', sqlite, { ratio: 0.6, p99: 25 }),
      ...row('collector, SQLite, payload without signals or trace', minimal),
      ...row('collector, Redis', redis),
    ],
    notes: [
      `${CONNECTIONS} connections, ${SECONDS} s per run after a 2,000-request warm-up; body ${sqlite.bytes} bytes (captured signals and a trace; ${minimal.bytes} bytes without), every body a fresh challenge and a valid signature.`,
      'At saturation latency is queueing: p99 ≈ connections ÷ throughput. The collector does per request what the bare route does, plus a canonical encoding, detectors, feature extraction and the classifier, velocity links, an Ed25519-signed and AES-sealed token and a durable event.',
    ],
  }
}

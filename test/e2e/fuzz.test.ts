/**
 * Input fuzzing of every route a running collector (with the demo shop) serves, over
 * real HTTP against its own process: property-based with fast-check, from real captured
 * payloads mutated at random (see test/support/fuzz-cases.ts). The property: every answer
 * is a documented 4xx (the collector's error envelope with a catalogued code and its
 * status) or a well-formed 2xx; never a 5xx. Around it: the process stays up, and its
 * heap stays flat from round to round.
 *
 *   VIGIL_FUZZ_RUNS=10000 (default)   cases against SQLite; a fifth of that on Redis
 *   VIGIL_FUZZ_SEED=<n>               replay a run (the seed is printed)
 */
import { afterAll, describe, expect, inject, it } from 'vitest'
import fc from 'fast-check'
import { Agent, request } from 'node:http'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startCli, type CliCollector } from '../support/cli'
import { TestDevice } from '../support/device'
import { OTHER_SITE } from '../support/app'
import { fuzzRequests, type FuzzRequest } from '../support/fuzz-cases'
import { TestIssuer, TestPlay } from '../support/platform'
import { recordResult } from '../support/results'
import { DEMO_SITE } from '../../collector-server/src/config/sites'
import { loadKeyring } from '../../collector-server/src/config/keyring'
import { mintChallenge } from '../../collector-server/src/verify/challenge'
import { ERRORS, type ErrorCode } from '../../collector-server/src/errors'
import { fetchMetrics } from '../support/metrics'

const RUNS = Number(process.env.VIGIL_FUZZ_RUNS ?? 10_000)
const SEED = Number(process.env.VIGIL_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31))
const ROUNDS = 5
/** Heap may breathe (GC timing, caches warming); a leak of even 1 KB per case would not fit. */
const HEAP_SLACK_MIB = 24

/** Every built-in verifier on: hostile evidence in collects reaches each of them. */
const FUZZ_ATTESTATION = {
  appAttest: { teamId: 'ABCDE12345', bundleIds: ['com.shop.app'] },
  playIntegrity: { packageNames: ['com.shop.app'], ...new TestPlay().keys },
  privateTokens: { issuers: [{ name: 'pat-issuer.test', tokenKeys: [new TestIssuer().tokenKey] }] },
}

const agent = new Agent({ keepAlive: true, maxSockets: 4 })
afterAll(() => agent.destroy())

interface Answer {
  status: number
  type: string
  body: string
}

function send(base: URL, req: FuzzRequest): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...req.headers }
    if (req.body) headers['content-length'] = req.body.length
    const r = request({ host: base.hostname, port: base.port, method: req.method, path: req.path, headers, agent, timeout: 15_000 }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks).toString('utf8') }))
      res.on('error', reject)
    })
    r.on('timeout', () => r.destroy(new Error(`no answer in 15 s to ${req.method} ${req.path.slice(0, 80)}`)))
    r.on('error', reject)
    r.end(req.body)
  })
}

const COLLECTOR_ROUTE = /^\/(v1\/|\.well-known\/|healthz|metrics|openapi\.json)/
const DEMO_API = /^\/demo\/api\//

/** Why an answer breaks the contract, or null when it keeps it. */
function violation(req: FuzzRequest, a: Answer): string | null {
  if (a.status >= 500 || a.status < 100) return `HTTP ${a.status}`
  if (req.method === 'HEAD' || a.status < 400 || a.body === '') {
    if (a.status === 200 && req.method === 'POST' && req.path === '/v1/collect' && typeof (parse(a.body) as { token?: unknown })?.token !== 'string') return 'a 200 from collect without a token'
    if (a.status === 200 && req.method === 'POST' && req.path === '/v1/siteverify' && typeof (parse(a.body) as { success?: unknown })?.success !== 'boolean') return 'a 200 from siteverify without success'
    return null
  }
  const body = parse(a.body) as { error?: unknown; ok?: unknown } | undefined
  if (body === undefined) return COLLECTOR_ROUTE.test(req.path) || DEMO_API.test(req.path) || a.type.includes('json') ? `HTTP ${a.status} with a body that is not JSON: ${a.body.slice(0, 80)}` : null
  if (DEMO_API.test(req.path) && body.ok === false && typeof body.error === 'string') return null // the demo shop's own refusals
  const err = body.error as { code?: unknown; message?: unknown } | undefined
  const code = typeof err?.code === 'string' ? err.code : undefined
  if (!code || !(code in ERRORS)) return `HTTP ${a.status} without a catalogued error code: ${a.body.slice(0, 120)}`
  if (ERRORS[code as ErrorCode].status !== a.status) return `${code} answered with HTTP ${a.status}, catalogued as ${ERRORS[code as ErrorCode].status}`
  if (typeof err?.message !== 'string') return `${code} without a message`
  return null
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

async function processMemory(url: string, dataDir: string): Promise<{ heap: number; rss: number }> {
  const text = await (await fetchMetrics(url, dataDir)).text()
  const read = (name: string) => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? NaN)
  return { heap: read('vigil_process_nodejs_heap_size_used_bytes'), rss: read('vigil_process_process_resident_memory_bytes') }
}

interface Tally {
  cases: number
  byStatus: Record<string, number>
  byKind: Record<string, number>
  heapMiB: number[]
  rssMiB: number[]
}

async function fuzzCollector(storeArgs: string[], runs: number, label: string): Promise<Tally> {
  const dataDir = mkdtempSync(join(tmpdir(), 'vigil-fuzz-'))
  // One client address sends every case: lift the per-IP and per-device limits so the
  // fuzz reaches past the rate limiter (which it also meets, at its default, for `other`).
  writeFileSync(
    join(dataDir, 'sites.json'),
    JSON.stringify({ sites: [{ ...DEMO_SITE, attestation: FUZZ_ATTESTATION, policy: { rateLimits: { ipPerMinute: 1e9, devicePerMinute: 1e9 } } }, OTHER_SITE] }),
  )
  // A small heap: a leak would crash the process within the run instead of hiding.
  const collector: CliCollector = await startCli(['--data-dir', dataDir, '--demo', ...storeArgs], {}, ['--max-old-space-size=192'])
  try {
    const base = new URL(collector.url)
    const keyring = loadKeyring(dataDir)
    const challenge = (siteKey = 'demo') => mintChallenge(keyring.challengeKey, siteKey, Date.now(), { difficulty: 0, deviceId: null, probes: ['text', 'tz'] }).challenge
    // Genuine tokens, for siteverify and the demo routes to mutate.
    const tokens: string[] = []
    for (let i = 0; i < 12; i++) {
      const res = await fetch(`${collector.url}/v1/collect`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(new TestDevice().body(challenge())) })
      expect(res.status).toBe(200)
      tokens.push(((await res.json()) as { token: string }).token)
    }
    const arbitrary = fuzzRequests({ challenge, tokens, secret: DEMO_SITE.secret })
    const tally: Tally = { cases: 0, byStatus: {}, byKind: {}, heapMiB: [], rssMiB: [] }
    const perRound = Math.ceil(runs / ROUNDS)
    for (let round = 0; round < ROUNDS; round++) {
      await fc.assert(
        fc.asyncProperty(arbitrary, async (req) => {
          const answer = await send(base, req)
          tally.cases++
          tally.byStatus[answer.status] = (tally.byStatus[answer.status] ?? 0) + 1
          tally.byKind[req.kind] = (tally.byKind[req.kind] ?? 0) + 1
          const why = violation(req, answer)
          if (why) throw new Error(`${req.method} ${req.path.slice(0, 100)} (${req.kind}): ${why}`)
        }),
        { numRuns: perRound, seed: SEED + round, endOnFailure: true },
      )
      expect(collector.child.exitCode, `the collector died: ${collector.output().slice(-2000)}`).toBeNull()
      const mem = await processMemory(collector.url, dataDir)
      tally.heapMiB.push(Math.round((mem.heap / 2 ** 20) * 10) / 10)
      tally.rssMiB.push(Math.round((mem.rss / 2 ** 20) * 10) / 10)
    }
    // Still serving, and serving correctly: a genuine collect after the fuzz.
    const after = await fetch(`${collector.url}/v1/collect`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(new TestDevice().body(challenge())) })
    expect(after.status).toBe(200)
    expect(Object.keys((await after.json()) as object).sort()).toEqual(['expiresAt', 'token'])
    console.log(`fuzz ${label}: ${tally.cases} cases, seed ${SEED}; statuses ${JSON.stringify(tally.byStatus)}; heap MiB by round ${tally.heapMiB.join(' → ')}; rss MiB ${tally.rssMiB.join(' → ')}`)
    return tally
  } finally {
    await collector.stop()
  }
}

/**
 * Round 1 warms caches and JIT; from there on the heap must not climb. One sample can land
 * anywhere on the young generation's sawtooth, so the later figure is the lower of the last
 * two rounds: a leak lifts the floor, a scavenge that has not happened yet does not.
 */
const heapGrowthMiB = (tally: Tally): number => Math.round((Math.min(...tally.heapMiB.slice(-2)) - tally.heapMiB[0]!) * 10) / 10

function checkFlat(tally: Tally): void {
  expect(heapGrowthMiB(tally), `heap by round (MiB): ${tally.heapMiB.join(', ')}`).toBeLessThan(HEAP_SLACK_MIB)
}

function record(name: string, tally: Tally): void {
  const server = Object.entries(tally.byStatus).filter(([status]) => Number(status) >= 500).reduce((n, [, count]) => n + count, 0)
  recordResult(`fuzz-${name}`, { seed: SEED, fiveHundreds: server, heapGrowthMiB: heapGrowthMiB(tally), heapBudgetMiB: HEAP_SLACK_MIB, ...tally })
}

describe('fuzzing every route', () => {
  it(`answers ${RUNS} hostile requests on SQLite with documented 4xx or 2xx, never a 5xx; stays up; heap flat`, { timeout: 600_000 }, async () => {
    const tally = await fuzzCollector([], RUNS, 'sqlite')
    expect(tally.cases).toBeGreaterThanOrEqual(RUNS)
    // The fuzz reached every part: refusals and successes both.
    expect(tally.byStatus['200']).toBeGreaterThan(RUNS / 20)
    expect(tally.byStatus['400']).toBeGreaterThan(RUNS / 20)
    expect(tally.byStatus['401']).toBeGreaterThan(0)
    expect(tally.byStatus['413']).toBeGreaterThan(0)
    checkFlat(tally)
    record('sqlite', tally)
  })

  it(`answers ${Math.ceil(RUNS / 5)} more on Redis the same way`, { timeout: 300_000 }, async () => {
    const tally = await fuzzCollector(['--store', inject('redisUrl')], Math.ceil(RUNS / 5), 'redis')
    expect(tally.cases).toBeGreaterThanOrEqual(RUNS / 5)
    expect(tally.byStatus['200']).toBeGreaterThan(0)
    checkFlat(tally)
    record('redis', tally)
  })
})

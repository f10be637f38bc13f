/**
 * The built collector checks signatures and scores traces on its scoring thread
 * (risk/scoring-pool.ts), and a verdict does not depend on where: the same devices with the same
 * traces get the same behaviour scores and verdicts from `--scoring-threads 1` as from
 * `--scoring-threads 0`, and /metrics says where the analyses ran.
 */
import { describe, expect, it } from 'vitest'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startCli } from '../support/cli'
import { TestDevice } from '../support/device'
import { humanTraceVariant } from '../support/payloads'
import { DEMO_SITE } from '../../collector-server/src/config/sites'
import { verifyToken, type Jwks } from '../../verify/src/index'

const DEVICES = Array.from({ length: 12 }, () => new TestDevice())

async function scores(threads: number): Promise<{ results: string[]; metrics: string; checks: { thread: number; inline: number }; banner: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'vigil-scoring-e2e-'))
  writeFileSync(join(dataDir, 'sites.json'), JSON.stringify({ sites: [{ ...DEMO_SITE, policy: { rateLimits: { ipPerMinute: 1e6, devicePerMinute: 1e6 }, proofOfWork: { newDevice: 0 } } }] }))
  const collector = await startCli(['--data-dir', dataDir, '--demo', '--scoring-threads', String(threads)])
  try {
    const jwks = (await (await fetch(`${collector.url}/.well-known/jwks.json`)).json()) as Jwks
    const collect = async (device: TestDevice, i: number): Promise<string> => {
      const { challenge } = (await (await fetch(`${collector.url}/v1/challenge?siteKey=demo`)).json()) as { challenge: string }
      // Every other device sends a person's trace; the rest send none, or a broken one.
      const trace = i % 3 === 0 ? humanTraceVariant(i + 1) : i % 3 === 1 ? { k: [0, 42], t: [0, 5], x: [1, 1], y: [1, 1], b: [0, 0], c: [0, 0] } : undefined
      const body = device.body(challenge, trace ? { behavior: { trace, summary: {} } } : {})
      // One body starts with a byte-order mark, which the app's JSON parser skips and JSON.parse does not.
      const text = (i === 3 ? '\uFEFF' : '') + JSON.stringify(body)
      const res = await fetch(`${collector.url}/v1/collect`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: text })
      expect(res.status).toBe(200)
      const { token } = (await res.json()) as { token: string }
      const v = await verifyToken(token, { secret: DEMO_SITE.secret, siteKey: 'demo', jwks, action: null, hostname: null })
      return `${v.verdict} ${v.behavior?.server ?? 'none'} ${[...v.reasons].sort().join(',')}`
    }
    const token = readFileSync(join(dataDir, 'keys', 'metrics.token'), 'utf8').trim()
    const readMetrics = async (): Promise<string> => (await fetch(`${collector.url}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text()
    // The thread loads its modules as the collector starts (about 0.1 s, longer on a busy
    // machine); until then the request thread scores. Warm-up collects from a device of their
    // own until one has run on the thread, then only what follows is counted.
    const deadline = Date.now() + 30_000
    while (threads > 0 && count(await readMetrics(), 'thread') === 0) {
      if (Date.now() > deadline) throw new Error('the scoring thread never took a check')
      await collect(new TestDevice(), 1)
    }
    const before = await readMetrics()
    // Several at once, so that the thread has a queue.
    const results = await Promise.all(DEVICES.map((d, i) => collect(d, i)))
    // A signature that does not verify is refused the same way.
    const { challenge } = (await (await fetch(`${collector.url}/v1/challenge?siteKey=demo`)).json()) as { challenge: string }
    const forged = { ...DEVICES[0]!.body(challenge), sig: DEVICES[1]!.body(challenge).sig }
    const refused = await fetch(`${collector.url}/v1/collect`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify(forged) })
    results.push(`${refused.status} ${((await refused.json()) as { error: { code: string } }).error.code}`)
    const metrics = await readMetrics()
    const checks = { thread: count(metrics, 'thread') - count(before, 'thread'), inline: count(metrics, 'inline') - count(before, 'inline') }
    return { results, metrics, checks, banner: collector.output() }
  } finally {
    await collector.stop()
  }
}

const count = (metrics: string, where: string): number => Number(new RegExp(`vigil_collect_checks_total\\{where="${where}"\\} (\\d+)`).exec(metrics)?.[1] ?? 0)

describe('scoring threads', () => {
  it('give the verdicts the request thread gives, and are counted', { timeout: 120_000 }, async () => {
    const inline = await scores(0)
    expect(inline.banner).toContain('scoring threads: 0')
    expect(inline.checks).toEqual({ inline: DEVICES.length + 1, thread: 0 })

    const threaded = await scores(1)
    expect(threaded.banner).toContain('scoring threads: 1')
    expect(threaded.results).toEqual(inline.results)
    // Every one on the thread: none failed there (the byte-order mark) and came back to the request thread.
    expect(threaded.checks).toEqual({ thread: DEVICES.length + 1, inline: 0 })
    expect(threaded.metrics).toMatch(/vigil_scoring_thread_errors_total 0/)
    // The scores are real: people's traces were scored, the broken ones flagged.
    expect(inline.results.filter((r) => /^(allow|review|deny) 0/.test(r))).toHaveLength(4)
    expect(inline.results.filter((r) => r.includes('tampering'))).not.toHaveLength(0)
    expect(inline.results.at(-1)).toBe('401 bad_signature')
  })
})

/**
 * `--workers 2`: two collector processes on one port and one SQLite file. A challenge one
 * worker issued is redeemed at the other, every acknowledged event is in the store, the
 * primary's metrics port sums both workers, a killed worker is replaced, and SIGTERM stops
 * every process. Metrics are summed over the workers on the primary's port and on the public
 * /metrics alike.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { request } from 'node:http'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startCli, type CliCollector } from '../support/cli'
import { TestDevice } from '../support/device'
import { DEMO_SITE } from '../../collector-server/src/config/sites'
import type { Jwks } from '../../verify/src/index'
import { countStoredEvents } from '../support/stored-events'

/** One request on its own connection, so that the primary hands each to the next worker. */
function send(url: string, method: 'GET' | 'POST', body?: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent: false, headers: { ...headers, ...(body ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } : {}) } }, (res) => {
      let text = ''
      res.on('data', (c: Buffer) => (text += c.toString()))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text, json: text.startsWith('{') ? (JSON.parse(text) as Record<string, unknown>) : {} }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

const pidsIn = (out: string): number[] => (/processes sharing the port: ([\d, ]+)/.exec(out)?.[1] ?? '').split(', ').filter(Boolean).map(Number)

async function until(what: string, test: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 30_000
  while (!(await test())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** A failed assertion must not leave the primary and its workers running: killing the primary ends its workers. */
const running: CliCollector[] = []
afterEach(async () => {
  for (const c of running.splice(0)) await c.kill()
})

describe('--workers 2 on SQLite', () => {
  it('shares the port, the store and the metrics, replaces a dead worker, and stops every process', { timeout: 120_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'vigil-workers-'))
    writeFileSync(join(dataDir, 'sites.json'), JSON.stringify({ sites: [{ ...DEMO_SITE, policy: { rateLimits: { ipPerMinute: 1e6, devicePerMinute: 1e6 }, proofOfWork: { newDevice: 0 } } }] }))
    const collector = await startCli(['--data-dir', dataDir, '--demo', '--workers', '2', '--metrics-port', '0'])
    running.push(collector)
    await until('both workers', () => pidsIn(collector.output()).length === 2)
    const pids = pidsIn(collector.output())
    // The banner, in one piece: the summed metrics port, then the public port's route and its token.
    const metricsUrl = /^Vigil collector on [^\n]*\n(?: {2}\S+ +\S+[^\n]*\n)*? {2}metrics {5}(http:\/\/\S+) {2}\(summed over 2 workers\)\n {2}metrics {5}http:\/\/\S+ {2}\(Authorization: Bearer </m.exec(collector.output())?.[1]
    expect(metricsUrl, collector.output()).toBeDefined()
    const jwks = (await send(`${collector.url}/.well-known/jwks.json`, 'GET')).json as unknown as Jwks

    const tokens: string[] = []
    const collectOnce = async (): Promise<void> => {
      const { json } = await send(`${collector.url}/v1/challenge?siteKey=demo`, 'GET')
      const res = await send(`${collector.url}/v1/collect`, 'POST', JSON.stringify(new TestDevice().body(json['challenge'] as string)))
      expect(res.status).toBe(200)
      tokens.push(res.json['token'] as string)
    }
    for (let i = 0; i < 30; i++) await collectOnce()

    // The primary's metrics port sums the workers: every collect, whichever worker took it
    // (one connection each: the primary hands them out in turn).
    const metrics = async (): Promise<string> => (await fetch(metricsUrl!)).text()
    const accepted = (text: string): number => Number(/vigil_collect_total\{outcome="accepted"\} (\d+)/.exec(text)?.[1] ?? 0)
    expect(accepted(await metrics())).toBe(30)
    // So does /metrics on the public port (with the token), whichever worker each scrape reaches.
    const token = readFileSync(join(dataDir, 'keys', 'metrics.token'), 'utf8').trim()
    for (let i = 0; i < 4; i++) {
      const scrape = await send(`${collector.url}/metrics`, 'GET', undefined, { authorization: `Bearer ${token}` })
      expect(scrape.status).toBe(200)
      expect(accepted(scrape.text)).toBe(30)
    }

    // A worker dies: the primary starts another, and collects go on. Scrapes while the
    // replacement starts are answered by the worker that serves, not held for the one that
    // cannot answer yet (which then fails them after a timeout).
    process.kill(pids[0]!, 'SIGKILL')
    const scrapes: number[] = []
    while (!/worker \d+ listening/.test(collector.output())) {
      const res = await fetch(metricsUrl!)
      scrapes.push(res.status)
      await res.text()
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    expect(scrapes.length).toBeGreaterThan(0)
    expect(scrapes.filter((status) => status !== 200)).toEqual([])
    const survivor = accepted(await metrics())
    for (let i = 0; i < 10; i++) await collectOnce()
    // The replacement's collects are in the sum once it answers.
    await until('the replacement in the sum', async () => accepted(await metrics()) === survivor + 10)

    expect(await collector.stop()).toBe(0)
    const replacement = Number(/worker (\d+) listening/.exec(collector.output())![1])
    await until('every process to exit', () => ![pids[1]!, replacement].some(alive))

    // Every acknowledged event is in the one SQLite file.
    expect(await countStoredEvents(tokens, jwks, undefined, dataDir)).toBe(40)
  })
})

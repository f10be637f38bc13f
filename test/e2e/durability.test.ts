/**
 * Zero acknowledged events lost: the collector is killed with SIGKILL in the middle of a
 * load, restarted, and every event it had answered 200 for is in the store — for the
 * embedded SQLite store and for Redis (append-only file on).
 */
import { afterAll, describe, expect, it } from 'vitest'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startRedis, type RedisServer } from '../support/redis'
import { startCli } from '../support/cli'
import { TestDevice } from '../support/device'
import { recordResult } from '../support/results'
import { DEMO_SITE } from '../../collector-server/src/config/sites'
import type { Jwks } from '../../verify/src/index'
import { countStoredEvents } from '../support/stored-events'

const servers: RedisServer[] = []
afterAll(async () => {
  for (const r of servers) await r.stop()
})

const STORES = ['sqlite', 'redis'] as const

describe.each(STORES)('SIGKILL under load (%s)', (kind) => {
  it('loses no acknowledged event', { timeout: 120_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'vigil-durability-'))
    // A load from one address: lift the demo site's rate limits for it. The bodies are signed
    // in Node before the load, 1,200 of them: no proof of work (this is about the store).
    writeFileSync(join(dataDir, 'sites.json'), JSON.stringify({ sites: [{ ...DEMO_SITE, policy: { rateLimits: { ipPerMinute: 1e6, devicePerMinute: 1e6 }, proofOfWork: { newDevice: 0 } } }] }))
    let storeUrl = `sqlite:${join(dataDir, 'vigil.db')}`
    if (kind === 'redis') {
      const redis = await startRedis()
      servers.push(redis)
      storeUrl = redis.url
    }
    let collector = await startCli(['--data-dir', dataDir, '--demo', '--store', storeUrl])
    const jwks = (await (await fetch(`${collector.url}/.well-known/jwks.json`)).json()) as Jwks

    // Signed bodies ready before the load, so the load is only collects.
    const bodies: string[] = []
    for (let i = 0; i < 1200; i++) {
      const { challenge } = (await (await fetch(`${collector.url}/v1/challenge?siteKey=demo`)).json()) as { challenge: string }
      bodies.push(JSON.stringify(new TestDevice().body(challenge)))
    }

    const acknowledged: string[] = []
    let failed = 0
    let next = 0
    let killed = false
    const worker = async (): Promise<void> => {
      while (next < bodies.length && !killed) {
        const body = bodies[next++]!
        try {
          const res = await fetch(`${collector.url}/v1/collect`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
          if (res.status === 200) acknowledged.push(((await res.json()) as { token: string }).token)
          else failed++
        } catch {
          failed++ // the connection died with the process: never acknowledged
        }
      }
    }
    const load = Promise.all(Array.from({ length: 16 }, worker))
    const deadline = Date.now() + 30_000
    while (acknowledged.length < 300 && Date.now() < deadline && next < bodies.length) await new Promise((r) => setTimeout(r, 5))
    killed = true
    await collector.kill()
    await load
    expect(acknowledged.length).toBeGreaterThanOrEqual(300)

    // Restart on the same store, then look for every acknowledged event.
    collector = await startCli(['--data-dir', dataDir, '--demo', '--store', storeUrl])
    expect((await (await fetch(`${collector.url}/healthz`)).json()).store).toBe(kind)
    await collector.stop()
    const found = await countStoredEvents(acknowledged, jwks, storeUrl, dataDir)
    console.log(`${kind}: ${acknowledged.length} acknowledged before SIGKILL, ${failed} not acknowledged, ${found} found after restart`)
    recordResult(`durability-${kind}`, { acknowledged: acknowledged.length, notAcknowledged: failed, found, lost: acknowledged.length - found })
    expect(found).toBe(acknowledged.length)
  })
})

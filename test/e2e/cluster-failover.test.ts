/**
 * A Redis Cluster master dies under load, and no acknowledged event is lost.
 *
 * Two collector processes share a local 3-master, 3-replica cluster. Sixteen clients post
 * collects, each with a fresh challenge and a body signed as it is sent (captured signals,
 * a person's trace). Mid-load, the master that holds the event stream gets SIGKILL; its
 * replica takes over; the killed node is then restarted, as a supervisor would, and rejoins
 * as the new master's replica. The load goes on through all of it. Then every token answered
 * with 200 must have its event in the stream, and every other answer must be the typed 503
 * `store_unavailable`: never a 500, never a 200 whose event is gone.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { Redis } from 'ioredis'
import { startRedisCluster, connectCluster, type RedisClusterHandle } from '../support/redis-cluster'
import { startCli, type CliCollector } from '../support/cli'
import { TestDevice } from '../support/device'
import { capturedSignals, humanTraceVariant } from '../support/payloads'
import { recordResult } from '../support/results'
import { DEMO_SITE } from '../../collector-server/src/config/sites'
import { loadKeyring } from '../../collector-server/src/config/keyring'
import { mintChallenge } from '../../collector-server/src/verify/challenge'
import { jwksResolver, verifyToken, type Jwks } from '../../verify/src/index'

const STREAM = 'vigil:events'
const CLIENTS = 16
const DEVICES = 40
/** Acknowledged collects wanted before the kill, and again once the cluster has healed. */
const BEFORE = 300
const AFTER = 300

let cluster: RedisClusterHandle | undefined
const collectors: CliCollector[] = []
const dirs: string[] = []
afterAll(async () => {
  for (const c of collectors) await c.stop()
  await cluster?.stop()
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

/** Polls `probe` until it returns true; the failover's own timing is what is measured. */
async function until(what: string, timeoutMs: number, probe: () => Promise<boolean>): Promise<void> {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    if (await probe().catch(() => false)) return
    if (performance.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

async function role(port: number): Promise<string> {
  const c = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
  c.on('error', () => undefined)
  try {
    await c.connect()
    return String(((await c.call('ROLE')) as unknown[])[0])
  } finally {
    c.disconnect()
  }
}

describe('Redis Cluster failover under load', () => {
  it('loses no acknowledged event when the stream master is killed', { timeout: 180_000 }, async () => {
    cluster = await startRedisCluster()
    const dataDir = mkdtempSync(join(tmpdir(), 'vigil-failover-'))
    dirs.push(dataDir)
    // A load from one address: lift the demo site's rate limits for it.
    writeFileSync(join(dataDir, 'sites.json'), JSON.stringify({ sites: [{ ...DEMO_SITE, policy: { rateLimits: { ipPerMinute: 1e9, devicePerMinute: 1e9 } } }] }))
    for (let i = 0; i < 2; i++) collectors.push(await startCli(['--data-dir', dataDir, '--demo', '--store', cluster.url]))
    for (const c of collectors) expect((await (await fetch(`${c.url}/healthz`)).json()).store).toBe('redis')
    const jwks = (await (await fetch(`${collectors[0]!.url}/.well-known/jwks.json`)).json()) as Jwks
    const keyring = loadKeyring(dataDir)

    const signals = capturedSignals()
    const devices = Array.from({ length: DEVICES }, () => new TestDevice())
    const traces = devices.map((_, i) => humanTraceVariant(i + 1))
    const acknowledged: Array<{ token: string; sentAt: number }> = []
    const failures = new Map<string, number>()
    let sent = 0
    let stop = false
    const client = async (n: number): Promise<void> => {
      while (!stop) {
        const i = sent++
        // A challenge as the collector mints it for a returning device (no work), signed as sent.
        const { challenge } = mintChallenge(keyring.challengeKey, 'demo', Date.now(), { difficulty: 0, deviceId: null, probes: ['text', 'tz'] })
        const body = JSON.stringify(devices[i % DEVICES]!.body(challenge, { signals, behavior: { trace: traces[i % DEVICES]!, summary: {} } }))
        const sentAt = performance.now()
        const at = collectors[(n + i) % collectors.length]!.url
        let label: string
        try {
          const res = await fetch(`${at}/v1/collect`, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(30_000) })
          const answer = (await res.json()) as { token?: string; error?: { code?: string } }
          if (res.status === 200 && typeof answer.token === 'string') {
            acknowledged.push({ token: answer.token, sentAt })
            continue
          }
          label = `${res.status} ${answer.error?.code ?? 'no error code'}`
        } catch (err) {
          label = `transport: ${(err as Error).name}`
        }
        failures.set(label, (failures.get(label) ?? 0) + 1)
      }
    }
    const load = Promise.all(Array.from({ length: CLIENTS }, (_, n) => client(n)))

    try {
      await until(`${BEFORE} collects acknowledged`, 60_000, async () => acknowledged.length >= BEFORE)
      const victim = await cluster.masterOf(STREAM)
      const replicaPort = await (async () => {
        const c = victim.client()
        try {
          await c.connect()
          const m = /slave0:ip=[^,]+,port=(\d+)/.exec(await c.info('replication'))
          if (!m) throw new Error('the stream master has no replica')
          return Number(m[1])
        } finally {
          c.disconnect()
        }
      })()
      const ackedBeforeKill = acknowledged.length
      const killedAt = performance.now()
      await victim.kill()
      await until('the replica to take over', 30_000, async () => (await role(replicaPort)) === 'master')
      const promotedMs = performance.now() - killedAt
      // A supervisor restarts the dead node: it rejoins as the new master's replica.
      await victim.restart()
      await cluster.ready()
      const healedAt = performance.now()
      const healedMs = healedAt - killedAt
      await until(`${AFTER} collects acknowledged after the cluster healed`, 60_000, async () => acknowledged.filter((a) => a.sentAt > healedAt).length >= AFTER)
      const firstAckAfterKill = acknowledged.filter((a) => a.sentAt > killedAt).reduce((min, a) => Math.min(min, a.sentAt), Infinity)
      stop = true
      await load

      // Every acknowledged token's event, read back from the stream on the healed cluster.
      const keys = jwksResolver(jwks)
      const jtis = await Promise.all(acknowledged.map(async ({ token }) => (await verifyToken(token, { secret: DEMO_SITE.secret, siteKey: 'demo', jwks: keys, action: null, hostname: null })).jti))
      const reader = await connectCluster(cluster.url)
      const stored = new Map<string, number>()
      try {
        for (let cursor = '-'; ; ) {
          const batch = await reader.xrange(STREAM, cursor, '+', 'COUNT', 2000)
          for (const [, fields] of batch) {
            const id = fields[fields.indexOf('id') + 1]!
            stored.set(id, (stored.get(id) ?? 0) + 1)
          }
          if (batch.length < 2000) break
          cursor = `(${batch[batch.length - 1]![0]}`
        }
      } finally {
        reader.disconnect()
      }
      const lost = jtis.filter((jti) => !stored.has(jti))
      const failed = [...failures.values()].reduce((a, b) => a + b, 0)
      const figures = {
        requests: sent,
        acknowledged: acknowledged.length,
        acknowledgedBeforeKill: ackedBeforeKill,
        failed,
        failures: Object.fromEntries(failures),
        lost: lost.length,
        // Entries in the stream for a collect that was not answered 200 (the append or its WAIT failed after Redis took it), and entries stored twice.
        unacknowledgedInStream: stored.size - new Set(jtis).size,
        duplicated: [...stored.values()].filter((n) => n > 1).length,
        replicaPromotedMs: Math.round(promotedMs),
        healedMs: Math.round(healedMs),
        firstAcknowledgedAfterKillMs: Number.isFinite(firstAckAfterKill) ? Math.round(firstAckAfterKill - killedAt) : null,
      }
      console.log(`redis cluster failover: ${JSON.stringify(figures)}`)
      recordResult('cluster-failover', figures)

      expect(lost).toEqual([])
      // Failures are the typed 503 only: no 500, no other code, no dropped connection.
      expect([...failures.keys()].filter((label) => label !== '503 store_unavailable')).toEqual([])
      expect(acknowledged.filter((a) => a.sentAt > healedAt).length).toBeGreaterThanOrEqual(AFTER)
    } catch (err) {
      // What the load and a collector saw, for the CI log.
      console.log(`failover test failed after ${sent} requests, ${acknowledged.length} acknowledged, failures ${JSON.stringify(Object.fromEntries(failures))}`)
      console.log(collectors[0]!.output().slice(-3000))
      throw err
    } finally {
      stop = true
      await load
    }
  })
})

/**
 * What acknowledging an event only once a replica has it (WAIT, the Redis store's
 * `replicas` / `--wait-replicas`) costs: the Redis store's events.append, 64 at a time,
 * on a single Redis with one replica and on a local 3-master, 3-replica Cluster, each
 * without and with WAIT 1. Appends/s and latency per append; the collector's other store
 * calls are unchanged by the setting.
 *
 *   npx tsx bench/run.ts replication
 */
import { randomBytes } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { Redis } from 'ioredis'
import { openRedisStore } from '../../collector-server/src/stores/redis'
import type { CollectEvent } from '../../collector-server/src/stores/types'
import { startRedis } from '../../test/support/redis'
import { startRedisCluster } from '../../test/support/redis-cluster'
import { capturedSignals } from '../../test/support/payloads'
import { quantileOfSorted } from '../stats'
import type { Row, SuiteResult } from '../types'

const APPENDS = 20_000
const CONCURRENCY = 64

/** An event the size of a real one: the detail carries captured signals, as the collector stores them. */
function event(i: number, signals: Record<string, unknown>): CollectEvent {
  return {
    id: `e${i}-${randomBytes(8).toString('hex')}`,
    at: Date.now(),
    siteKey: 'demo',
    action: 'checkout',
    deviceId: randomBytes(16).toString('base64url'),
    visitorId: null,
    account: null,
    ip: '127.0.0.1',
    hostname: 'shop.example',
    verdict: 'allow',
    score: 0.1,
    reasons: [],
    keyImpl: 'webcrypto',
    sdk: 'bench',
    detail: { signals },
  }
}

async function appendRun(url: string, replicas: number): Promise<{ perSecond: number; p50: number; p99: number }> {
  const store = await openRedisStore({ url, prefix: `bench-${randomBytes(4).toString('hex')}:`, replicas })
  const signals = capturedSignals()
  const latency = new Float64Array(APPENDS)
  try {
    // Warm-up: connections, scripts.
    await Promise.all(Array.from({ length: CONCURRENCY }, (_, i) => store.events.append(event(i, signals))))
    let next = 0
    const started = performance.now()
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < APPENDS) {
          const i = next++
          const e = event(i, signals)
          const t = performance.now()
          await store.events.append(e)
          latency[i] = performance.now() - t
        }
      }),
    )
    const seconds = (performance.now() - started) / 1000
    latency.sort()
    return { perSecond: APPENDS / seconds, p50: quantileOfSorted(latency, 0.5), p99: quantileOfSorted(latency, 0.99) }
  } finally {
    await store.close()
  }
}

export async function replication(): Promise<SuiteResult> {
  const rows: Row[] = []
  const add = (label: string, r: { perSecond: number; p50: number; p99: number }, baseline?: number): void => {
    rows.push({ metric: `${label}: appends/s`, value: Math.round(r.perSecond), unit: '/s', ...(baseline === undefined ? { baseline: true } : { ratio: r.perSecond / baseline }) })
    rows.push({ metric: `${label}: p50`, value: r.p50, unit: 'ms' })
    rows.push({ metric: `${label}: p99`, value: r.p99, unit: 'ms' })
  }

  const master = await startRedis()
  const replica = await startRedis({ args: ['--replicaof', '127.0.0.1', String(master.port)] })
  try {
    const probe = new Redis(master.url)
    for (let i = 0; !/slave0:.*state=online/.test(await probe.info('replication')); i++) {
      if (i > 200) throw new Error('the replica did not come online')
      await new Promise((r) => setTimeout(r, 50))
    }
    await probe.quit()
    const single = await appendRun(master.url, 0)
    add('one Redis + replica, no WAIT', single)
    add('one Redis + replica, WAIT 1', await appendRun(master.url, 1), single.perSecond)
  } finally {
    await replica.stop()
    await master.stop()
  }

  const cluster = await startRedisCluster()
  try {
    const noWait = await appendRun(cluster.url, 0)
    add('Cluster 3+3, no WAIT', noWait)
    add('Cluster 3+3, WAIT 1', await appendRun(cluster.url, 1), noWait.perSecond)
  } finally {
    await cluster.stop()
  }
  return {
    suite: 'replication',
    rows,
    notes: [`${APPENDS} appends of an event with captured signals, ${CONCURRENCY} at a time, from one process; every Redis on loopback with appendonly yes, appendfsync everysec.`],
  }
}

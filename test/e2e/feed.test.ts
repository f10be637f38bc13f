/**
 * The risk feed as docs/operations.md tells a backend to read it: a consumer in the
 * `risk` group reads the vigil:events stream, handles each event and acknowledges it;
 * what it did not acknowledge is redelivered.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { startRedis, type RedisServer } from '../support/redis'
import { startCli, type CliCollector } from '../support/cli'
import { TestDevice } from '../support/device'

let redis: RedisServer
let collector: CliCollector

beforeAll(async () => {
  redis = await startRedis()
  collector = await startCli(['--data-dir', mkdtempSync(join(tmpdir(), 'vigil-feed-')), '--demo', '--store', redis.url])
})
afterAll(async () => {
  await collector?.stop()
  await redis?.stop()
})

async function collectOnce(): Promise<void> {
  const { challenge } = (await (await fetch(`${collector.url}/v1/challenge?siteKey=demo`)).json()) as { challenge: string }
  const res = await fetch(`${collector.url}/v1/collect`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(new TestDevice().body(challenge)) })
  expect(res.status).toBe(200)
}

type Entries = Array<[string, Array<[string, string[]]>]> | null

describe('the vigil:events feed', () => {
  it('delivers every event to the risk group; unacknowledged ones come back', async () => {
    for (let i = 0; i < 5; i++) await collectOnce()
    const r = new Redis(redis.url)
    const read = async (consumer: string, start: string) => ((await r.xreadgroup('GROUP', 'risk', consumer, 'COUNT', 100, 'STREAMS', 'vigil:events', start)) as Entries) ?? []
    // A consumer reads five events and crashes before acknowledging two of them.
    const first = (await read('a', '>'))[0]![1]
    expect(first).toHaveLength(5)
    const events = first.map(([, fields]) => JSON.parse(fields[fields.indexOf('event') + 1]!) as { id: string; verdict: string; siteKey: string })
    expect(events.every((e) => e.siteKey === 'demo' && e.verdict === 'allow')).toBe(true)
    // The fields docs/operations.md ("Reading the event feed") lists for a consumer.
    expect(Object.keys(events[0]!).sort()).toEqual(['id', 'at', 'siteKey', 'action', 'deviceId', 'visitorId', 'account', 'ip', 'hostname', 'verdict', 'score', 'reasons', 'keyImpl', 'sdk', 'detail'].sort())
    for (const [id] of first.slice(0, 3)) await r.xack('vigil:events', 'risk', id)
    // Restarted, it first re-reads its pending entries (start "0"), then new ones (">").
    const pending = (await read('a', '0'))[0]![1]
    expect(pending.map(([id]) => id)).toEqual(first.slice(3).map(([id]) => id))
    for (const [id] of pending) await r.xack('vigil:events', 'risk', id)
    await collectOnce()
    const fresh = (await read('a', '>'))[0]![1]
    expect(fresh).toHaveLength(1)
    await r.xack('vigil:events', 'risk', fresh[0]![0])
    const summary = (await r.xpending('vigil:events', 'risk')) as [number, ...unknown[]]
    expect(summary[0]).toBe(0)
    r.disconnect()
  })
})

/** Operations: the OpenAPI description, Prometheus metrics, and logs that keep secrets out. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { Writable } from 'node:stream'
import { randomBytes } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildApp } from '../src/app'
import { generateSigningKey, keyringFrom } from '../src/config/keyring'
import { DEMO_SITE, siteRegistry } from '../src/config/sites'
import { openSqliteStore } from '../src/stores/sqlite/index'
import { createMetrics } from '../src/metrics'
import { TestDevice } from '../../test/support/device'
import type { FastifyInstance } from 'fastify'
import type { Store } from '../src/stores/types'
import { LIGHT_DEMO_SITE, METRICS_TOKEN } from '../../test/support/app'

let app: FastifyInstance
let store: Store
let logs: string[]

beforeEach(async () => {
  logs = []
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(chunk.toString())
      done()
    },
  })
  store = openSqliteStore({ path: join(mkdtempSync(join(tmpdir(), 'vigil-ops-')), 'vigil.db') })
  app = buildApp({
    store,
    keyring: keyringFrom([generateSigningKey()], randomBytes(32)),
    sites: siteRegistry([LIGHT_DEMO_SITE], { demo: true }),
    sdkDir: false,
    metrics: createMetrics({ defaultMetrics: false }),
    metricsToken: METRICS_TOKEN,
    // The most the collector logs: debug, and a line for every request as it comes and goes.
    logger: { level: 'debug', stream },
    accessLog: true,
  })
  await app.ready()
})
afterEach(async () => {
  await app.close()
  await store.close()
})

async function collectOnce(): Promise<string> {
  const challenge = (await app.inject('/v1/challenge?siteKey=demo')).json<{ challenge: string }>()
  const res = await app.inject({ method: 'POST', url: '/v1/collect', payload: new TestDevice().body(challenge.challenge) })
  return (res.json<{ token: string }>()).token
}

describe('operations', () => {
  it('publishes an OpenAPI description of the contract routes, errors included', async () => {
    const doc = (await app.inject('/openapi.json')).json<{ openapi: string; paths: Record<string, Record<string, { responses: Record<string, unknown> }>> }>()
    expect(doc.openapi).toBe('3.1.0')
    for (const path of ['/v1/challenge', '/v1/collect', '/v1/siteverify', '/.well-known/jwks.json', '/healthz', '/metrics']) expect(doc.paths).toHaveProperty([path])
    expect(Object.keys(doc.paths['/v1/collect']!['post']!.responses)).toEqual(expect.arrayContaining(['200', '4XX', '5XX']))
  })

  it('answers a URL that does not decode with the error envelope, not the framework body', async () => {
    for (const url of ['/v1/%ff%fe', '/sdk/%E0%A4%A', '/v1/collect%']) {
      const res = await app.inject({ method: 'GET', url })
      expect(res.statusCode, url).toBe(400)
      expect(res.json(), url).toEqual({ error: { code: 'bad_request', message: 'The URL does not decode.' } })
    }
  })

  it('keeps /metrics from anyone without the metrics token (it would tell a bot which reasons fired)', async () => {
    for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: `Basic ${METRICS_TOKEN}` }, { authorization: `Bearer ${METRICS_TOKEN}x` }]) {
      const res = await app.inject({ url: '/metrics', headers })
      expect([res.statusCode, res.json<{ error: { code: string } }>().error.code]).toEqual([401, 'unauthorized'])
    }
    // An app given no token serves metrics to nobody on its port.
    const closed = buildApp({ store, keyring: keyringFrom([generateSigningKey()], randomBytes(32)), sites: siteRegistry([DEMO_SITE], { demo: true }), sdkDir: false, metrics: createMetrics({ defaultMetrics: false }) })
    expect((await closed.inject({ url: '/metrics', headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).statusCode).toBe(401)
    await closed.close()
  })

  it('exports requests, verdicts by reason, verification failures and store latency', async () => {
    const token = await collectOnce()
    await app.inject({ method: 'POST', url: '/v1/collect', payload: '{"bad":', headers: { 'content-type': 'application/json' } })
    await app.inject({ method: 'POST', url: '/v1/siteverify', payload: { secret: 'demo-secret', token } })
    await app.inject({ method: 'POST', url: '/v1/siteverify', payload: { secret: 'demo-secret', token } })
    const text = (await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).body
    expect(text).toMatch(/vigil_http_requests_total\{route="\/v1\/collect",method="POST",status="200"\} 1/)
    expect(text).toMatch(/vigil_verdicts_total\{verdict="allow"\} 1/)
    expect(text).toMatch(/vigil_verdict_reasons_total\{reason="no_interaction"\} 1/)
    expect(text).toMatch(/vigil_collect_total\{outcome="bad_request"\} 1/)
    expect(text).toMatch(/vigil_siteverify_total\{outcome="already_redeemed"\} 1/)
    expect(text).toMatch(/vigil_store_operation_duration_seconds_count\{op="event_append"\} 1/)
    expect(text).toMatch(/vigil_store_operation_duration_seconds_count\{op="links_observe"\} 1/)
  })

  it('logs as JSON, and never a token, a secret, a signature or a payload', async () => {
    const device = new TestDevice()
    const challenge = ((await app.inject('/v1/challenge?siteKey=demo')).json<{ challenge: string }>()).challenge
    const body = device.body(challenge)
    const token = ((await app.inject({ method: 'POST', url: '/v1/collect', payload: body })).json<{ token: string }>()).token
    await app.inject({ method: 'POST', url: '/v1/siteverify', payload: { secret: 'demo-secret', token } })
    await app.inject({ method: 'POST', url: '/v1/siteverify', payload: { secret: 'wrong-secret', token } })
    expect(logs.length).toBeGreaterThan(4)
    for (const line of logs) expect(() => JSON.parse(line)).not.toThrow()
    const all = logs.join('\n')
    for (const secret of [token, token.split('.')[3]!, 'demo-secret', 'wrong-secret', body.sig, challenge, device.pub]) expect(all).not.toContain(secret)
  })
})

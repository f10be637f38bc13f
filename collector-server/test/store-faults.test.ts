/**
 * Finding 9: a collect started the stats write, then awaited the event append; when the
 * append threw, the stats promise was never awaited and its rejection went unhandled,
 * which exits Node. Here every store port fails in turn (and all at once, as when the
 * store goes away): each collect is answered with its code and nothing goes unhandled.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../src/app'
import { generateSigningKey, keyringFrom } from '../src/config/keyring'
import { DEMO_SITE, siteRegistry } from '../src/config/sites'
import { createMetrics } from '../src/metrics'
import { StoreUnavailableError, type Store } from '../src/stores/types'
import { makeTestStore } from '../../test/support/app'
import { TestDevice } from '../../test/support/device'

/** The store methods a collect calls, by port. */
const PORTS = {
  nonces: ['consume'],
  devices: ['touch'],
  links: ['observe'],
  rateLimits: ['hit'],
  events: ['append'],
  stats: ['recordEvent', 'recordFailure'],
} as const
type Port = keyof typeof PORTS

/** `store` with the named ports' methods rejecting as `fail` says. */
function failing(store: Store, ports: readonly Port[], fail: () => Error): Store {
  const broken = { ...store } as Record<string, unknown>
  for (const port of ports) {
    const original = store[port] as unknown as Record<string, unknown>
    const replaced: Record<string, unknown> = { ...original }
    for (const method of PORTS[port]) replaced[method] = () => Promise.reject(fail())
    broken[port] = replaced
  }
  return broken as unknown as Store
}

const unhandled: unknown[] = []
const onUnhandled = (reason: unknown) => void unhandled.push(reason)
beforeAll(() => void process.on('unhandledRejection', onUnhandled))
afterAll(() => void process.off('unhandledRejection', onUnhandled))

const FAILURES: Array<[string, () => Error, number, string]> = [
  ['the store is unreachable', () => new StoreUnavailableError('store down'), 503, 'store_unavailable'],
  ['the store throws a bug', () => new Error('boom'), 500, 'internal_error'],
]

describe.each(FAILURES)('collect when %s', (_, fail, status, code) => {
  let dir: string
  let store: Store
  let app: FastifyInstance | undefined
  const now = Date.UTC(2026, 10, 26, 12)
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-faults-'))
    store = await makeTestStore('sqlite', () => now, dir)
    unhandled.length = 0
  })
  afterEach(async () => {
    await app?.close()
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  })

  /** Builds the app on a store whose `ports` fail, and sends one collect (or the body `broken` makes of it). */
  async function collectWith(ports: readonly Port[], broken?: (body: ReturnType<TestDevice['body']>) => unknown) {
    const challengeApp = buildApp({ store, keyring, sites, clock: { now: () => now }, sdkDir: false, dashboard: false, metrics: createMetrics({ defaultMetrics: false }) })
    const challenge = (await challengeApp.inject('/v1/challenge?siteKey=demo')).json<{ challenge: string }>().challenge
    await challengeApp.close()
    app = buildApp({ store: failing(store, ports, fail), keyring, sites, clock: { now: () => now }, sdkDir: false, dashboard: false, metrics: createMetrics({ defaultMetrics: false }) })
    const body = new TestDevice().body(challenge)
    const res = await app.inject({ method: 'POST', url: '/v1/collect', payload: JSON.stringify(broken ? broken(body) : body), headers: { 'content-type': 'application/json' } })
    // Let any rejection nobody awaited surface before looking.
    await new Promise<void>((r) => setImmediate(r))
    return res
  }

  const keyring = keyringFrom([generateSigningKey()], randomBytes(32))
  const sites = siteRegistry([DEMO_SITE], { demo: true })

  it.each(['nonces', 'devices', 'links', 'rateLimits', 'events', 'stats'] as const)('%s failing: answered with its code, nothing unhandled', async (port) => {
    const res = await collectWith([port])
    expect([res.statusCode, res.json<{ error: { code: string } }>().error.code]).toEqual([status, code])
    expect(unhandled).toEqual([])
  })

  it('the event append and the stats write failing together: answered, nothing unhandled', async () => {
    const res = await collectWith(['events', 'stats'])
    expect([res.statusCode, res.json<{ error: { code: string } }>().error.code]).toEqual([status, code])
    expect(unhandled).toEqual([])
  })

  it('every port failing at once (the store gone): answered, nothing unhandled', async () => {
    const res = await collectWith(Object.keys(PORTS) as Port[])
    expect([res.statusCode, res.json<{ error: { code: string } }>().error.code]).toEqual([status, code])
    expect(unhandled).toEqual([])
  })

  it('a refusal whose failure count cannot be written is still refused with its own code', async () => {
    const res = await collectWith(['stats'], (body) => ({ ...body, sig: body.sig.slice(0, -4) + (body.sig.endsWith('AAAA') ? 'BBBB' : 'AAAA') }))
    expect([res.statusCode, res.json<{ error: { code: string } }>().error.code]).toEqual([401, 'bad_signature'])
    expect(unhandled).toEqual([])
  })
})

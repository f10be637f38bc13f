/** An in-process collector (app.inject, fake clock, SQLite in a temp dir) for route tests. */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { inject } from 'vitest'
import { openRedisStore } from '../../collector-server/src/stores/redis'
import { buildApp, type BuildAppOptions } from '../../collector-server/src/app'
import { keyringFrom, generateSigningKey, type Keyring } from '../../collector-server/src/config/keyring'
import { DEMO_SITE, siteRegistry, type SiteRegistry } from '../../collector-server/src/config/sites'
import { openSqliteStore } from '../../collector-server/src/stores/sqlite/index'
import { createMetrics } from '../../collector-server/src/metrics'
import type { Retention, Store } from '../../collector-server/src/stores/types'
import { createHash, randomBytes } from 'node:crypto'
import type { TrustProxy } from '../../collector-server/src/net/trust-proxy'

/** A secret that passes the collector's strength check, the same in every run (tests only: generate real ones). */
export const testSecret = (label: string): string => `${label}_${createHash('sha256').update(label).digest('base64url')}`

export const OTHER_SITE = { siteKey: 'other', secret: testSecret('other'), origins: ['https://other.example'] }

/** The bearer token test apps read /metrics with. */
export const METRICS_TOKEN = 'test-metrics-token-0123456789'

/**
 * The demo site with light proof of work for new devices (10 bits instead of the default):
 * route tests sign many payloads in Node. Tests of the work itself set their own policy.
 */
export const LIGHT_DEMO_SITE = { ...DEMO_SITE, policy: { proofOfWork: { newDevice: 10 } } }

export interface TestApp {
  app: FastifyInstance
  store: Store
  keyring: Keyring
  sites: SiteRegistry
  clock: { now(): number; advance(ms: number): void }
  /** GET /metrics with the app's metrics token. */
  metrics(): Promise<string>
  close(): Promise<void>
  challenge(siteKey?: string, origin?: string): Promise<string>
}

/**
 * Both adapters, and Redis on a Cluster (the unit project starts one: redis-cluster-setup.ts);
 * route and store tests run once per kind.
 */
export const STORE_KINDS = ['sqlite', 'redis', 'redis-cluster'] as const
export type StoreKind = (typeof STORE_KINDS)[number]

/** A fresh store of any kind: its own SQLite file, or its own key prefix on the test Redis or Cluster. */
export async function makeTestStore(kind: StoreKind, now: () => number, dir = mkdtempSync(join(tmpdir(), 'vigil-store-')), retention: Partial<Retention> = {}): Promise<Store> {
  if (kind === 'sqlite') return openSqliteStore({ path: join(dir, 'vigil.db'), now, retention })
  return openRedisStore({ url: inject(kind === 'redis' ? 'redisUrl' : 'redisClusterUrl'), prefix: `test-${randomBytes(6).toString('hex')}:`, now, retention })
}

export interface TestAppOptions {
  keyring?: Keyring
  store?: StoreKind
  sites?: SiteRegistry
  /** App Attest roots the collector trusts (a TestApple's), instead of Apple's. */
  appAttestRoots?: string[]
  attestationVerifiers?: BuildAppOptions['attestationVerifiers']
  trustProxy?: TrustProxy
  requestTimeoutMs?: number
}

export async function makeTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-app-'))
  let t = Date.UTC(2026, 10, 26, 12, 0, 0)
  const clock = { now: () => t, advance: (ms: number) => void (t += ms) }
  const store = await makeTestStore(options.store ?? 'sqlite', clock.now, dir)
  const keyring = options.keyring ?? keyringFrom([generateSigningKey()], randomBytes(32))
  const sites = options.sites ?? siteRegistry([LIGHT_DEMO_SITE, OTHER_SITE], { demo: true })
  const app = buildApp({
    store,
    keyring,
    sites,
    clock,
    sdkDir: false,
    metrics: createMetrics({ defaultMetrics: false }),
    metricsToken: METRICS_TOKEN,
    ...(options.trustProxy !== undefined ? { trustProxy: options.trustProxy } : {}),
    ...(options.requestTimeoutMs !== undefined ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
    ...(options.appAttestRoots ? { appAttestRoots: options.appAttestRoots } : {}),
    ...(options.attestationVerifiers ? { attestationVerifiers: options.attestationVerifiers } : {}),
  })
  await app.ready()
  return {
    app,
    store,
    keyring,
    sites,
    clock,
    async close() {
      await app.close()
      await store.close()
      rmSync(dir, { recursive: true, force: true })
    },
    async metrics() {
      return (await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).body
    },
    async challenge(siteKey = 'demo', origin?: string) {
      const res = await app.inject({ method: 'GET', url: `/v1/challenge?siteKey=${siteKey}`, headers: origin ? { origin } : {} })
      if (res.statusCode !== 200) throw new Error(`challenge: ${res.statusCode} ${res.body}`)
      return res.json<{ challenge: string }>().challenge
    },
  }
}

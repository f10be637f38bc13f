/** An in-process collector (app.inject, fake clock, SQLite in a temp dir) for route tests. */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { inject } from 'vitest'
import { openRedisStore } from '../../collector-server/src/stores/redis'
import { buildApp } from '../../collector-server/src/app'
import { keyringFrom, generateSigningKey, type Keyring } from '../../collector-server/src/config/keyring'
import { DEMO_SITE, siteRegistry, type SiteRegistry } from '../../collector-server/src/config/sites'
import { openSqliteStore } from '../../collector-server/src/stores/sqlite/index'
import { createMetrics } from '../../collector-server/src/metrics'
import type { Retention, Store } from '../../collector-server/src/stores/types'
import { randomBytes } from 'node:crypto'

export const OTHER_SITE = { siteKey: 'other', secret: 'other-secret-123', origins: ['https://other.example'] }

export interface TestApp {
  app: FastifyInstance
  store: Store
  keyring: Keyring
  sites: SiteRegistry
  clock: { now(): number; advance(ms: number): void }
  close(): Promise<void>
  challenge(siteKey?: string, origin?: string): Promise<string>
}

/** Both adapters; route and store tests run once per kind. */
export const STORE_KINDS = ['sqlite', 'redis'] as const
export type StoreKind = (typeof STORE_KINDS)[number]

/** A fresh store of either kind: its own SQLite file, or its own key prefix on the test Redis. */
export async function makeTestStore(kind: StoreKind, now: () => number, dir = mkdtempSync(join(tmpdir(), 'vigil-store-')), retention: Partial<Retention> = {}): Promise<Store> {
  if (kind === 'sqlite') return openSqliteStore({ path: join(dir, 'vigil.db'), now, retention })
  return openRedisStore({ url: inject('redisUrl'), prefix: `test-${randomBytes(6).toString('hex')}:`, now, retention })
}

export async function makeTestApp(options: { keyring?: Keyring; store?: StoreKind; sites?: SiteRegistry } = {}): Promise<TestApp> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-app-'))
  let t = Date.UTC(2026, 10, 26, 12, 0, 0)
  const clock = { now: () => t, advance: (ms: number) => void (t += ms) }
  const store = await makeTestStore(options.store ?? 'sqlite', clock.now, dir)
  const keyring = options.keyring ?? keyringFrom([generateSigningKey()], randomBytes(32))
  const sites = options.sites ?? siteRegistry([DEMO_SITE, OTHER_SITE])
  const app = buildApp({ store, keyring, sites, clock, sdkDir: false, metrics: createMetrics({ defaultMetrics: false }) })
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
    async challenge(siteKey = 'demo', origin?: string) {
      const res = await app.inject({ method: 'GET', url: `/v1/challenge?siteKey=${siteKey}`, headers: origin ? { origin } : {} })
      if (res.statusCode !== 200) throw new Error(`challenge: ${res.statusCode} ${res.body}`)
      return (res.json<{ challenge: string }>()).challenge
    },
  }
}

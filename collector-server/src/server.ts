/**
 * Starts a collector: data directory (keys, sites), store, app, listen. Used by the
 * CLI and by tests that need a real socket.
 */
import { resolve } from 'node:path'
import { unwatchFile, watchFile } from 'node:fs'
import type { FastifyInstance, FastifyServerOptions } from 'fastify'
import { buildApp, type BuildAppOptions } from './app'
import { createMetrics, type Metrics } from './metrics'
import { loadMetricsToken } from './config/metrics-token'
import { listenMetrics, type MetricsListener } from './metrics-listener'
import { loadKeyring, signingKeysPath, type Keyring } from './config/keyring'
import { loadSites, sitesPath, type SiteRegistry } from './config/sites'
import { openStore } from './stores/index'
import { securePrivateDirectory } from './config/files'
import { defaultScoringThreads, startScoringPool } from './risk/scoring-pool'
import type { Retention, Store } from './stores/types'
import type { Clock } from './context'
import type { TrustProxy } from './net/trust-proxy'

export interface ServerOptions {
  /** Default: $PORT, else 8080 (0 picks a free port). */
  port?: number
  /** Default: $HOST, else 127.0.0.1. */
  host?: string
  /** Keys and site config live here (default ./data; the CLI's --data-dir or VIGIL_DATA_DIR). */
  dataDir?: string
  /** sqlite:<path> (default <dataDir>/vigil.db), redis://host:port or redis+cluster://host:port,host:port (the CLI's --store or VIGIL_STORE). */
  store?: string
  /** Redis: replicas that must have an event before the collect is answered (WAIT; default 1 on a Cluster, 0 on one Redis). */
  waitReplicas?: number
  /** A sites.json elsewhere than <dataDir>/sites.json. */
  sitesFile?: string
  /** Serve the test keys (test-allow, test-review, test-deny; default true; docs/testing.md). */
  testKeys?: boolean
  /** How long events and devices are kept (docs/privacy.md; default DEFAULT_RETENTION). */
  retention?: Partial<Retention>
  /** Other collector processes share the store's SQLite file (`--workers`). */
  sharedStore?: boolean
  /** Development mode (--demo): adds the demo site and allows development sites; refused otherwise. */
  demo?: boolean
  logger?: FastifyServerOptions['logger']
  /** A log line for every request: BuildAppOptions.accessLog (default false). */
  accessLog?: boolean
  /** Proxies in front of the collector (hops, or their CIDRs): BuildAppOptions.trustProxy. */
  trustProxy?: TrustProxy
  clock?: Clock
  plugins?: BuildAppOptions['plugins']
  sdkDir?: BuildAppOptions['sdkDir']
  attestationVerifiers?: BuildAppOptions['attestationVerifiers']
  /** Serve /metrics without credentials on this port of its own (0: a free one), besides the token-protected public route. */
  metricsPort?: number
  /** Where that listener binds (default 127.0.0.1: keep it off the public network). */
  metricsHost?: string
  appAttestRoots?: BuildAppOptions['appAttestRoots']
  /**
   * Threads that check collects' signatures and analyse their traces beside the request
   * thread (risk/scoring-pool.ts; 0: none). Default: defaultScoringThreads(1): the
   * machine's cores less one, at most 4.
   */
  scoringThreads?: number
}

export interface RunningServer {
  app: FastifyInstance
  store: Store
  url: string
  /** The metrics-only listener's URL, when --metrics-port started one. */
  metricsUrl: string | null
  /** This process's metrics (summed across --workers by the primary). */
  metrics: Metrics
  /** The sites as currently loaded (sites.json is watched). */
  sites(): SiteRegistry
  /** Scoring threads beside the request thread (risk/scoring-pool.ts). */
  scoringThreads: number
  close(): Promise<void>
}

const urlOf = (app: FastifyInstance, host: string): string => {
  const address = app.server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`
}

export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const env = process.env
  options = { ...options, port: options.port ?? Number(env['PORT'] ?? 8080), host: options.host ?? env['HOST'] ?? '127.0.0.1' }
  const dataDir = resolve(options.dataDir ?? 'data')
  const tightened = securePrivateDirectory(dataDir)
  let keyring: Keyring = loadKeyring(dataDir)
  const demo = options.demo === true
  const registryOptions = { demo, testKeys: options.testKeys !== false }
  let sites: SiteRegistry = loadSites(dataDir, options.sitesFile, registryOptions)
  // The store's checkpoint thread and the scoring pool may report before the app (and its
  // logger) exists: those wait for it.
  const early: Array<[Error, string]> = []
  let logError = (err: Error, message: string): void => void early.push([err, message])
  const store = await openStore(options.store, dataDir, options.clock ? () => options.clock!.now() : undefined, options.retention, {
    ...(options.waitReplicas !== undefined ? { replicas: options.waitReplicas } : {}),
    shared: options.sharedStore === true,
    onCheckpointerError: (err) => logError(err, 'the SQLite checkpoint thread stopped: SQLite checkpoints in the committing thread again, and commits pause while it does'),
  })
  const metrics = createMetrics()
  const scorer = startScoringPool({
    threads: options.scoringThreads ?? defaultScoringThreads(1),
    onCheck: (where) => metrics.checks.inc({ where }),
    onError: (err) => {
      metrics.scoringErrors.inc()
      logError(err, 'a scoring thread failed: collects are checked on the request thread until it is back')
    },
  })
  let app: FastifyInstance
  try {
    app = buildApp({
      metrics,
      metricsToken: loadMetricsToken(dataDir),
      store,
      keyring: () => keyring,
      sites: () => sites,
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.logger !== undefined ? { logger: options.logger } : {}),
      ...(options.accessLog !== undefined ? { accessLog: options.accessLog } : {}),
      ...(options.trustProxy !== undefined ? { trustProxy: options.trustProxy } : {}),
      ...(options.plugins ? { plugins: options.plugins } : {}),
      ...(options.sdkDir !== undefined ? { sdkDir: options.sdkDir } : {}),
      ...(options.attestationVerifiers ? { attestationVerifiers: options.attestationVerifiers } : {}),
      ...(options.appAttestRoots ? { appAttestRoots: options.appAttestRoots } : {}),
      scorer,
    })
  } catch (err) {
    // A configuration buildApp refuses (a bad App Attest root…): nothing is left running.
    await scorer.close()
    await store.close()
    throw err
  }
  logError = (err, message) => app.log.error({ err }, message)
  for (const [err, message] of early.splice(0)) logError(err, message)
  if (tightened) app.log.warn({ dataDir }, 'the data directory was readable by others: its mode is now 0700')
  let metricsListener: MetricsListener | null = null
  try {
    await app.listen({ port: options.port ?? 8080, host: options.host ?? '127.0.0.1' })
    if (options.metricsPort !== undefined) {
      metricsListener = await listenMetrics({ port: options.metricsPort, host: options.metricsHost ?? '127.0.0.1', contentType: metrics.registry.contentType, exposition: () => metrics.exposition() })
    }
  } catch (err) {
    await app.close()
    await metricsListener?.close()
    await scorer.close()
    await store.close()
    throw err
  }
  // Key rotation (vigil-collector keys rotate) and site changes take effect without a
  // restart, on every instance sharing the data directory. Files are replaced atomically.
  const keysFile = signingKeysPath(dataDir)
  const sitesFile = options.sitesFile ? resolve(options.sitesFile) : sitesPath(dataDir)
  const reload = (what: string, load: () => void): void => {
    try {
      load()
      app.log.info({ file: what }, 'reloaded')
    } catch (err) {
      app.log.error({ err, file: what }, 'reload failed; keeping the previous configuration')
    }
  }
  watchFile(keysFile, { interval: 1000 }, () => reload(keysFile, () => (keyring = loadKeyring(dataDir))))
  watchFile(sitesFile, { interval: 1000 }, () => reload(sitesFile, () => (sites = loadSites(dataDir, options.sitesFile, registryOptions))))

  let closed = false
  return {
    app,
    store,
    sites: () => sites,
    scoringThreads: scorer.threads,
    url: urlOf(app, options.host ?? '127.0.0.1'),
    metricsUrl: metricsListener?.url ?? null,
    metrics,
    async close() {
      if (closed) return
      closed = true
      unwatchFile(keysFile)
      unwatchFile(sitesFile)
      await app.close()
      await metricsListener?.close()
      await scorer.close()
      await store.close()
    },
  }
}

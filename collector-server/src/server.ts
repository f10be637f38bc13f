/**
 * Starts a collector: data directory (keys, sites), store, app, listen. Used by the
 * CLI and by tests that need a real socket.
 */
import { resolve } from 'node:path'
import { unwatchFile, watchFile } from 'node:fs'
import type { FastifyInstance, FastifyServerOptions } from 'fastify'
import { buildApp, type BuildAppOptions } from './app'
import { loadKeyring, signingKeysPath, type Keyring } from './config/keyring'
import { loadSites, sitesPath, type SiteRegistry } from './config/sites'
import { openStore } from './stores/index'
import type { Retention, Store } from './stores/types'
import type { Clock } from './context'

export interface ServerOptions {
  /** Default: $PORT, else 8080 (0 picks a free port). */
  port?: number
  /** Default: $HOST, else 127.0.0.1. */
  host?: string
  /** Keys and site config live here (VIGIL_DATA_DIR, default ./data). */
  dataDir?: string
  /** VIGIL_STORE: sqlite:<path> (default <dataDir>/vigil.db) or redis://host:port. */
  store?: string
  /** A sites.json elsewhere than <dataDir>/sites.json. */
  sitesFile?: string
  /** Serve the test keys (test-allow, test-review, test-deny; default true; docs/testing.md). */
  testKeys?: boolean
  /** How long events and devices are kept (docs/privacy.md; default DEFAULT_RETENTION). */
  retention?: Partial<Retention>
  logger?: FastifyServerOptions['logger']
  trustProxy?: FastifyServerOptions['trustProxy']
  clock?: Clock
  plugins?: BuildAppOptions['plugins']
  sdkDir?: BuildAppOptions['sdkDir']
  attestationVerifiers?: BuildAppOptions['attestationVerifiers']
}

export interface RunningServer {
  app: FastifyInstance
  store: Store
  url: string
  close(): Promise<void>
}

export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const env = process.env
  options = { ...options, port: options.port ?? Number(env['PORT'] ?? 8080), host: options.host ?? env['HOST'] ?? '127.0.0.1' }
  const dataDir = resolve(options.dataDir ?? 'data')
  let keyring: Keyring = loadKeyring(dataDir)
  let sites: SiteRegistry = loadSites(dataDir, options.sitesFile, { testKeys: options.testKeys !== false })
  const store = await openStore(options.store, dataDir, options.clock ? () => options.clock!.now() : undefined, options.retention)
  const app = buildApp({
    store,
    keyring: () => keyring,
    sites: () => sites,
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.logger !== undefined ? { logger: options.logger } : {}),
    ...(options.trustProxy !== undefined ? { trustProxy: options.trustProxy } : {}),
    ...(options.plugins ? { plugins: options.plugins } : {}),
    ...(options.sdkDir !== undefined ? { sdkDir: options.sdkDir } : {}),
    ...(options.attestationVerifiers ? { attestationVerifiers: options.attestationVerifiers } : {}),
  })
  try {
    await app.listen({ port: options.port ?? 8080, host: options.host ?? '127.0.0.1' })
  } catch (err) {
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
  watchFile(sitesFile, { interval: 1000 }, () => reload(sitesFile, () => (sites = loadSites(dataDir, options.sitesFile, { testKeys: options.testKeys !== false }))))

  const address = app.server.address()
  const port = typeof address === 'object' && address ? address.port : options.port
  const host = options.host ?? '127.0.0.1'
  let closed = false
  return {
    app,
    store,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    async close() {
      if (closed) return
      closed = true
      unwatchFile(keysFile)
      unwatchFile(sitesFile)
      await app.close()
      await store.close()
    },
  }
}

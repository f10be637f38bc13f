/**
 * Starts a collector: data directory (keys, sites), store, app, listen. Used by the
 * CLI and by tests that need a real socket.
 */
import { resolve } from 'node:path'
import type { FastifyInstance, FastifyServerOptions } from 'fastify'
import { buildApp, type BuildAppOptions } from './app'
import { loadKeyring } from './config/keyring'
import { loadSites } from './config/sites'
import { openStore } from './stores/index'
import type { Store } from './stores/types'
import type { Clock } from './context'

export interface ServerOptions {
  port?: number
  host?: string
  /** Keys and site config live here (VIGIL_DATA_DIR, default ./data). */
  dataDir?: string
  /** VIGIL_STORE: sqlite:<path> (default <dataDir>/vigil.db) or redis://host:port. */
  store?: string
  /** A sites.json elsewhere than <dataDir>/sites.json. */
  sitesFile?: string
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
  const dataDir = resolve(options.dataDir ?? 'data')
  const keyring = loadKeyring(dataDir)
  const sites = loadSites(dataDir, options.sitesFile)
  const store = await openStore(options.store, dataDir, options.clock ? () => options.clock!.now() : undefined)
  const app = buildApp({
    store,
    keyring,
    sites,
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
      await app.close()
      await store.close()
    },
  }
}

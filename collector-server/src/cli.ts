/**
 * vigil-collector — run the collector, or manage its signing keys.
 *
 *   vigil-collector [--port 8080] [--host 127.0.0.1] [--data-dir ./data] [--store sqlite:./data/vigil.db | redis://127.0.0.1:6379]
 *                   [--sites ./sites.json] [--demo] [--trust-proxy] [--no-test-keys]
 *                   [--events-days 30] [--devices-days 90] [--stream-max-len 1000000]
 *   vigil-collector keys list|rotate [--data-dir ./data]
 *   vigil-collector keys retire <kid> [--data-dir ./data]
 *
 * Environment: PORT, HOST, VIGIL_DATA_DIR, VIGIL_STORE, VIGIL_LOG_LEVEL (default info),
 * VIGIL_EVENTS_DAYS, VIGIL_DEVICES_DAYS, VIGIL_STREAM_MAXLEN (retention: docs/privacy.md).
 */
import { parseArgs } from 'node:util'
import { readFileSync } from 'node:fs'
import { startServer, type RunningServer, type ServerOptions } from './server'
import { loadKeyring, parseSigningKeys, retireSigningKey, rotateSigningKey, signingKeysPath } from './config/keyring'
import type { Retention } from './stores/types'

const USAGE = `usage: vigil-collector [--port N] [--host H] [--data-dir DIR] [--store URL] [--sites FILE] [--demo] [--trust-proxy] [--no-test-keys]
                       [--events-days N] [--devices-days N] [--stream-max-len N]
       vigil-collector keys list|rotate [--data-dir DIR]
       vigil-collector keys retire KID [--data-dir DIR]`

/** keys list | rotate | retire KID: running collectors on the same data directory pick the change up within seconds. */
function keysCommand(args: string[], dataDir: string): void {
  const [verb, kid] = args
  if (verb === 'rotate') {
    const { added, retiring } = rotateSigningKey(dataDir)
    console.log(`new active key ${added}; still verifying until retired: ${retiring.join(', ') || 'none'}`)
  } else if (verb === 'retire' && kid) {
    retireSigningKey(dataDir, kid)
    console.log(`retired ${kid}: tokens it signed no longer verify`)
  } else if (verb === 'list') {
    for (const k of parseSigningKeys(readFileSync(signingKeysPath(dataDir), 'utf8'))) console.log(`${k.kid}  ${k.status.padEnd(8)}  created ${k.createdAt}`)
  } else {
    throw new Error(USAGE)
  }
}

const DAY_MS = 24 * 3600_000

/** Retention from the flags, or the environment (docs/privacy.md); unset values keep their defaults. */
function retentionFrom(values: { 'events-days'?: string | undefined; 'devices-days'?: string | undefined; 'stream-max-len'?: string | undefined }): Partial<Retention> {
  const read = (flag: string, value: string | undefined, env: string, min: number): number | undefined => {
    const text = value ?? process.env[env]
    if (text === undefined || text === '') return undefined
    const n = Number(text)
    if (!Number.isInteger(n) || n < min) throw new Error(`--${flag} (${env}) must be a whole number ≥ ${min}: ${text}`)
    return n
  }
  const events = read('events-days', values['events-days'], 'VIGIL_EVENTS_DAYS', 1)
  const devices = read('devices-days', values['devices-days'], 'VIGIL_DEVICES_DAYS', 1)
  const stream = read('stream-max-len', values['stream-max-len'], 'VIGIL_STREAM_MAXLEN', 1000)
  return {
    ...(events !== undefined ? { eventsMs: events * DAY_MS } : {}),
    ...(devices !== undefined ? { devicesMs: devices * DAY_MS } : {}),
    ...(stream !== undefined ? { streamMaxLen: stream } : {}),
  }
}

/** What an application embedding the collector adds to it (the demo shop does: demo/main.ts). */
export interface CliExtras {
  /** Routes registered inside the collector's app. */
  plugins?: ServerOptions['plugins']
  /** Called once the collector listens; returns extra banner lines. */
  onListening?: (server: RunningServer) => string[]
}

/**
 * Runs `vigil-collector` with these arguments: a keys subcommand, or the collector until
 * SIGINT/SIGTERM. Throws (with the usage) on bad arguments.
 */
export async function runCli(argv: readonly string[], extras: CliExtras = {}): Promise<void> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'data-dir': { type: 'string' },
      store: { type: 'string' },
      sites: { type: 'string' },
      demo: { type: 'boolean', default: false },
      'trust-proxy': { type: 'boolean', default: false },
      'no-test-keys': { type: 'boolean', default: false },
      'events-days': { type: 'string' },
      'devices-days': { type: 'string' },
      'stream-max-len': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  })
  if (values.help) {
    console.log(USAGE)
    return
  }
  const dataDir = values['data-dir'] ?? process.env['VIGIL_DATA_DIR'] ?? 'data'
  if (positionals[0] === 'keys') {
    loadKeyring(dataDir) // creates the data directory's keys on first use
    keysCommand(positionals.slice(1), dataDir)
    return
  }
  if (positionals.length > 0) throw new Error(USAGE)
  const port = Number(values.port ?? process.env['PORT'] ?? 8080)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`bad port: ${values.port ?? process.env['PORT']}`)
  const level = process.env['VIGIL_LOG_LEVEL'] ?? 'info'
  const store = values.store ?? process.env['VIGIL_STORE']
  const server = await startServer({
    port,
    host: values.host ?? process.env['HOST'] ?? '127.0.0.1',
    dataDir,
    ...(store ? { store } : {}),
    ...(values.sites ? { sitesFile: values.sites } : {}),
    trustProxy: values['trust-proxy'],
    testKeys: !values['no-test-keys'],
    retention: retentionFrom(values),
    logger: { level, redact: ['req.headers.authorization', 'req.headers.cookie'] },
    plugins: extras.plugins ?? [],
  })
  const lines = [`Vigil collector on ${server.url} (store: ${server.store.kind})`, ...(extras.onListening?.(server) ?? [])]
  lines.push(`  SDK         ${server.url}/sdk/vigil.min.js`)
  lines.push(`  dashboard   ${server.url}/dashboard${values.demo ? '  (site key demo, secret demo-secret)' : ''}`)
  lines.push(`  JWKS        ${server.url}/.well-known/jwks.json`, `  metrics     ${server.url}/metrics`)
  console.log(lines.join('\n'))

  let stopping = false
  const stop = (signal: string): void => {
    if (stopping) return
    stopping = true
    server.app.log.info({ signal }, 'shutting down')
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err)
        process.exit(1)
      },
    )
  }
  process.on('SIGINT', () => stop('SIGINT'))
  process.on('SIGTERM', () => stop('SIGTERM'))
}

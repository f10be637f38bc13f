/**
 * vigil-collector — run the collector, or manage its signing keys.
 *
 *   vigil-collector [--port 8080] [--host 127.0.0.1] [--data-dir ./data]
 *                   [--store sqlite:./data/vigil.db | redis://127.0.0.1:6379 | redis+cluster://10.0.0.1:6379,10.0.0.2:6379]
 *                   [--wait-replicas N] [--sites ./sites.json] [--demo] [--trust-proxy HOPS|CIDR,…] [--metrics-port 9464] [--metrics-host 127.0.0.1]
 *                   [--no-test-keys] [--events-days 30] [--devices-days 90] [--stream-max-len 1000000] [--workers N|auto]
 *                   [--scoring-threads N] [--access-log]
 *   vigil-collector keys list|rotate [--data-dir ./data]
 *   vigil-collector keys retire <kid> [--data-dir ./data]
 *   vigil-collector sites list [--data-dir ./data]
 *   vigil-collector sites add <siteKey> --origin https://shop.example [--origin …] [--data-dir ./data]
 *   vigil-collector sites rotate <siteKey> seal|siteverify|dashboard [--grace 24h] [--data-dir ./data]
 *
 * Environment: PORT, HOST, VIGIL_DATA_DIR, VIGIL_STORE, VIGIL_TRUST_PROXY, VIGIL_METRICS_PORT,
 * VIGIL_METRICS_TOKEN, VIGIL_LOG_LEVEL (default info), VIGIL_EVENTS_DAYS, VIGIL_DEVICES_DAYS,
 * VIGIL_STREAM_MAXLEN (retention: docs/privacy.md), VIGIL_WAIT_REPLICAS, VIGIL_WORKERS,
 * VIGIL_SCORING_THREADS, VIGIL_ACCESS_LOG (1: as --access-log).
 */
import { parseArgs } from 'node:util'
import { readFileSync } from 'node:fs'
import { startServer, type RunningServer, type ServerOptions } from './server'
import { parseTrustProxy } from './net/trust-proxy'
import { loadKeyring, parseSigningKeys, retireSigningKey, rotateSigningKey, signingKeysPath } from './config/keyring'
import { addSite, DEFAULT_GRACE_MS, describeSites, parseDuration, rotateSecret } from './config/site-admin'
import { CREDENTIAL_ROLES, sitesPath, type CredentialRole } from './config/sites'
import type { Retention } from './stores/types'
import { isFirstWorker, summedMetricsUrl, isWorker, parseWorkers, runPrimary, shareMetrics } from './cluster'
import { defaultScoringThreads } from './risk/scoring-pool'

const USAGE = `usage: vigil-collector [--port N] [--host H] [--data-dir DIR] [--store URL] [--wait-replicas N] [--sites FILE] [--demo] [--trust-proxy HOPS|CIDR,…]
                       [--metrics-port N] [--metrics-host H] [--no-test-keys] [--events-days N] [--devices-days N] [--stream-max-len N]
                       [--workers N|auto] [--scoring-threads N] [--access-log]
         --store         sqlite:PATH (default DIR/vigil.db; add ?synchronous=full for an fsync per commit,
                         which survives power loss), redis://HOST:PORT[/DB], or a Redis Cluster:
                         redis+cluster://[USER:PASSWORD@]HOST:PORT[,HOST:PORT…] (seed nodes)
         --wait-replicas Redis: answer a collect only once N replicas have its event (WAIT);
                         default 1 on a Redis Cluster, 0 on a single Redis
         --scoring-threads  threads per process that score behaviour traces beside the request
                         thread (0: none); default: the cores each process has, less one, at most 4
         --access-log    log every request (default: only refusals and failures)
       vigil-collector keys list|rotate [--data-dir DIR]
       vigil-collector keys retire KID [--data-dir DIR]
       vigil-collector sites list [--data-dir DIR]
       vigil-collector sites add SITE --origin URL [--origin URL …] [--data-dir DIR]
       vigil-collector sites rotate SITE seal|siteverify|dashboard [--grace 24h] [--data-dir DIR]`

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

/** A yes/no environment variable: unset, empty, 0, false, no or off is no; 1, true, yes or on is yes; anything else is refused. */
function isOn(name: string): boolean {
  const text = process.env[name]
  const value = (text ?? '').trim().toLowerCase()
  if (['', '0', 'false', 'no', 'off'].includes(value)) return false
  if (['1', 'true', 'yes', 'on'].includes(value)) return true
  throw new Error(`${name} must be 1 or 0 (true/false, yes/no, on/off): ${text}`)
}

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

/**
 * sites list | add SITE --origin … | rotate SITE ROLE [--grace D]. Secrets are printed
 * once, when generated; sites.json keeps them (mode 0600).
 */
function sitesCommand(args: string[], file: string, options: { origin?: string[]; grace?: string }): void {
  const [verb, siteKey, role] = args
  const now = Date.now()
  if (verb === 'list') {
    for (const line of describeSites(file, now)) console.log(line)
  } else if (verb === 'add' && siteKey && args.length === 2) {
    if (!options.origin?.length) throw new Error('sites add: give the pages allowed to ask for tokens, e.g. --origin https://shop.example')
    const secrets = addSite(file, siteKey, options.origin, now)
    console.log(`added site ${siteKey}. Its secrets (also in ${file}):`)
    console.log(`  seal        ${secrets.seal}\n              your backend opens tokens with it (verifyToken's secret)`)
    console.log(`  siteverify  ${secrets.siteverify}\n              your backend's secret for POST /v1/siteverify`)
    console.log(`  dashboard   ${secrets.dashboard}\n              read-only: the dashboard and /v1/stats`)
  } else if (verb === 'rotate' && siteKey && role && args.length === 3) {
    if (!(CREDENTIAL_ROLES as readonly string[]).includes(role)) throw new Error(`sites rotate: the role is one of ${CREDENTIAL_ROLES.join(', ')}`)
    const graceMs = options.grace === undefined ? DEFAULT_GRACE_MS : parseDuration(options.grace)
    const r = rotateSecret(file, siteKey, role as CredentialRole, graceMs, now)
    console.log(`new ${role} secret for ${siteKey}: ${r.secret}`)
    if (role === 'seal') console.log(`tokens are sealed with it from ${new Date(r.activeFrom).toISOString()}: give it to your backends before then (verifyToken accepts both)`)
    console.log(`the previous ${role} secret works until ${new Date(r.oldUntil).toISOString()}`)
  } else {
    throw new Error(USAGE)
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
  // A kid is base64url and may begin with '-': take it before the options are parsed.
  const kid = argv[0] === 'keys' && argv[1] === 'retire' && argv[2] !== undefined ? argv[2] : undefined
  const parsed = parseArgs({
    args: kid === undefined ? [...argv] : [...argv.slice(0, 2), ...argv.slice(3)],
    allowPositionals: true,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'data-dir': { type: 'string' },
      store: { type: 'string' },
      sites: { type: 'string' },
      demo: { type: 'boolean', default: false },
      'no-test-keys': { type: 'boolean', default: false },
      'access-log': { type: 'boolean', default: false },
      'events-days': { type: 'string' },
      'devices-days': { type: 'string' },
      'stream-max-len': { type: 'string' },
      'wait-replicas': { type: 'string' },
      origin: { type: 'string', multiple: true },
      grace: { type: 'string' },
      'trust-proxy': { type: 'string' },
      'metrics-port': { type: 'string' },
      'metrics-host': { type: 'string' },
      workers: { type: 'string' },
      'scoring-threads': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  })
  const { values } = parsed
  const positionals = kid === undefined ? parsed.positionals : [...parsed.positionals, kid]
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
  if (positionals[0] === 'sites') {
    sitesCommand(positionals.slice(1), values.sites ?? sitesPath(dataDir), { ...(values.origin ? { origin: values.origin } : {}), ...(values.grace ? { grace: values.grace } : {}) })
    return
  }
  if (positionals.length > 0) throw new Error(USAGE)
  const port = Number(values.port ?? process.env['PORT'] ?? 8080)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`bad port: ${values.port ?? process.env['PORT']}`)
  const level = process.env['VIGIL_LOG_LEVEL'] ?? 'info'
  const store = values.store ?? process.env['VIGIL_STORE']
  const metricsPortText = values['metrics-port'] ?? process.env['VIGIL_METRICS_PORT']
  const metricsPort = metricsPortText === undefined ? undefined : Number(metricsPortText)
  if (metricsPort !== undefined && (!Number.isInteger(metricsPort) || metricsPort < 0 || metricsPort > 65535)) throw new Error(`bad metrics port: ${metricsPortText}`)
  const trustProxy = values['trust-proxy'] ?? process.env['VIGIL_TRUST_PROXY']
  const waitText = values['wait-replicas'] ?? process.env['VIGIL_WAIT_REPLICAS']
  const waitReplicas = waitText === undefined || waitText === '' ? undefined : Number(waitText)
  if (waitReplicas !== undefined && (!Number.isInteger(waitReplicas) || waitReplicas < 0)) throw new Error(`--wait-replicas (VIGIL_WAIT_REPLICAS) must be a whole number ≥ 0: ${waitText}`)
  const workers = parseWorkers(values.workers ?? process.env['VIGIL_WORKERS'])
  const threadsText = values['scoring-threads'] ?? process.env['VIGIL_SCORING_THREADS']
  const scoringThreads = threadsText === undefined || threadsText === '' ? defaultScoringThreads(workers) : Number(threadsText)
  if (!Number.isInteger(scoringThreads) || scoringThreads < 0 || scoringThreads > 64) throw new Error(`--scoring-threads (VIGIL_SCORING_THREADS) must be a whole number from 0 to 64: ${threadsText}`)
  if (workers > 1 && !isWorker()) {
    await runPrimary({ workers, dataDir, ...(store ? { store } : {}), ...(metricsPort !== undefined ? { metrics: { port: metricsPort, host: values['metrics-host'] ?? '127.0.0.1' } } : {}) })
    return
  }
  const server = await startServer({
    port,
    host: values.host ?? process.env['HOST'] ?? '127.0.0.1',
    dataDir,
    ...(store ? { store } : {}),
    ...(waitReplicas !== undefined ? { waitReplicas } : {}),
    // Under --workers, the primary serves the metrics port, summed over the workers.
    ...(metricsPort !== undefined && !isWorker() ? { metricsPort, metricsHost: values['metrics-host'] ?? '127.0.0.1' } : {}),
    ...(values.sites ? { sitesFile: values.sites } : {}),
    demo: values.demo,
    ...(trustProxy ? { trustProxy: parseTrustProxy(trustProxy) } : {}),
    testKeys: !values['no-test-keys'],
    retention: retentionFrom(values),
    sharedStore: isWorker(),
    scoringThreads,
    logger: { level, redact: ['req.headers.authorization', 'req.headers.cookie'] },
    accessLog: values['access-log'] || isOn('VIGIL_ACCESS_LOG'),
    plugins: extras.plugins ?? [],
  })
  shareMetrics(server.metrics)
  const lines = [`Vigil collector on ${server.url} (store: ${server.store.kind}${server.store.durability ? `, ${server.store.durability}` : ''}; scoring threads: ${server.scoringThreads})`, ...(extras.onListening?.(server) ?? [])]
  lines.push(`  SDK         ${server.url}/sdk/vigil.min.js`)
  // The demo's key is public: its link fills the form (in the fragment, which no server sees).
  lines.push(`  dashboard   ${server.url}/dashboard/${values.demo ? '#siteKey=demo&key=demo-secret' : ''}`)
  lines.push(`  JWKS        ${server.url}/.well-known/jwks.json`)
  // The metrics port (under --workers, the primary's, summed over the workers), then the public port's route.
  const summed = summedMetricsUrl()
  if (summed) lines.push(`  metrics     ${summed}/metrics  (summed over ${workers} workers)`)
  else if (server.metricsUrl) lines.push(`  metrics     ${server.metricsUrl}/metrics`)
  lines.push(`  metrics     ${server.url}/metrics  (Authorization: Bearer <${process.env['VIGIL_METRICS_TOKEN'] ? 'VIGIL_METRICS_TOKEN' : `${dataDir}/keys/metrics.token`}>)`)
  if (isWorker() && server.store.kind === 'sqlite') {
    lines.push(`Note: the ${workers} workers share one SQLite file and take turns at its write lock; on 2 cores, two did a third to a half of the collects of one process (docs/performance.md, "Several processes"). For more than one process, use Redis (--store redis://…).`)
  }
  if (values.demo) lines.push('DEVELOPMENT MODE (--demo): the demo site and its public secret are enabled. Never expose this collector.')
  if (server.sites().list().every((site) => site.testVerdict !== undefined)) lines.push('No sites yet: vigil-collector sites add SITE --origin https://your.shop')
  if (isFirstWorker()) console.log(lines.join('\n'))

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

/**
 * `--workers N`: one collector process per core, sharing the listening port (node:cluster;
 * the primary hands connections out in turn) and the store: SQLite in WAL mode on the same
 * file, or Redis. The primary serves no requests. It creates the data directory's keys
 * and runs the store's migrations before the workers start (so they do not race to),
 * restarts a worker that dies, sums every worker's metrics (on `--metrics-port`, and for
 * `/metrics` on the public port, whichever worker is asked; a worker that is starting or
 * has died is left out, not waited for), and on SIGINT/SIGTERM lets each worker finish its
 * requests and stop.
 */
import cluster, { type Worker } from 'node:cluster'
import { AggregatorRegistry, Registry, type MetricObjectWithValues, type MetricValue } from 'prom-client'
import { loadKeyring } from './config/keyring'
import { loadMetricsToken } from './config/metrics-token'
import { listenMetrics, type MetricsListener } from './metrics-listener'
import { openStore } from './stores/index'
import { usableCores } from './cores'
import type { Metrics } from './metrics'

/** `--workers` / VIGIL_WORKERS: a count, or `auto` for one per core (cores.ts: a container's CPU quota counts). */
export function parseWorkers(text: string | undefined): number {
  if (text === undefined || text === '') return 1
  if (text === 'auto') return usableCores()
  const n = Number(text)
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new Error(`--workers (VIGIL_WORKERS) must be a whole number from 1 to 256, or auto: ${text}`)
  return n
}

/** Whether this process is a worker the primary started. */
export const isWorker = (): boolean => cluster.isWorker

/** The first worker prints the banner; the others stay quiet. */
export const isFirstWorker = (): boolean => !cluster.isWorker || cluster.worker?.id === 1

/** The primary's metrics listener, as its workers learn it (for the first one's banner). */
const SUMMED_METRICS_ENV = 'VIGIL_SUMMED_METRICS_URL'
export const summedMetricsUrl = (): string | null => (cluster.isWorker ? (process.env[SUMMED_METRICS_ENV] ?? null) : null)

/** A worker asks the primary for the sum (its public port's `/metrics`); the primary answers with the text. */
const METRICS_REQUEST = 'vigil:metrics-request'
const METRICS_RESPONSE = 'vigil:metrics-response'
/** A worker answers the primary's requests for its own figures from now on. */
const REGISTRY_READY = 'vigil:registry-ready'
/** The primary asks a worker for its own figures; it answers with its registry as JSON. */
const REGISTRY_REQUEST = 'vigil:registry-request'
const REGISTRY_RESPONSE = 'vigil:registry-response'
/** How long a worker waits for the primary's sum before serving its own figures, and the primary for a worker's figures. */
const METRICS_TIMEOUT_MS = 5_000

type WorkerMetrics = Array<MetricObjectWithValues<MetricValue<string>>>

interface MetricsMessage {
  type: typeof METRICS_REQUEST | typeof METRICS_RESPONSE | typeof REGISTRY_READY | typeof REGISTRY_REQUEST | typeof REGISTRY_RESPONSE
  id: number
  text?: string
  metrics?: WorkerMetrics
  error?: string
}

const isMetricsMessage = (m: unknown): m is MetricsMessage => typeof m === 'object' && m !== null && typeof (m as MetricsMessage).type === 'string' && (m as MetricsMessage).type.startsWith('vigil:')

/**
 * In a worker: answers the primary's requests for this worker's figures, and serves
 * `/metrics` on the public port with the sum (asked of the primary), so a scrape sees every
 * worker whichever one it reaches.
 */
export function shareMetrics(metrics: Metrics): void {
  if (!cluster.isWorker) return
  const registry = metrics.registry
  const waiting = new Map<number, (text: string | undefined) => void>()
  let next = 0
  process.on('message', (message: unknown) => {
    if (!isMetricsMessage(message)) return
    if (message.type === METRICS_RESPONSE) waiting.get(message.id)?.(message.text)
    else if (message.type === REGISTRY_REQUEST) {
      // A callback, so that a primary gone meanwhile is not an 'error' event on this process.
      const reply = (answer: Pick<MetricsMessage, 'metrics' | 'error'>): void => void process.send?.({ type: REGISTRY_RESPONSE, id: message.id, ...answer } satisfies MetricsMessage, undefined, undefined, ignore)
      registry.getMetricsAsJSON().then(
        (figures) => reply({ metrics: figures }),
        (err: unknown) => reply({ error: String(err) }),
      )
    }
  })
  process.send?.({ type: REGISTRY_READY, id: 0 } satisfies MetricsMessage, undefined, undefined, ignore)
  metrics.exposition = () =>
    new Promise<string>((resolve) => {
      const id = next++
      const timer = setTimeout(() => settle(undefined), METRICS_TIMEOUT_MS)
      function settle(text: string | undefined): void {
        clearTimeout(timer)
        waiting.delete(id)
        // The primary did not answer: this worker's own figures rather than none.
        if (text === undefined) registry.metrics().then(resolve, () => resolve(''))
        else resolve(text)
      }
      waiting.set(id, settle)
      process.send?.({ type: METRICS_REQUEST, id } satisfies MetricsMessage, undefined, undefined, ignore)
    })
}

const ignore = (): void => undefined

/**
 * In the primary: the sum of the figures of every worker that answers them. A worker joins
 * once it says it answers (a worker still starting would not, and would hold every scrape
 * for the timeout); one that exits before it answers is left out, as its counts leave the
 * sum with it. A live worker that does not answer within the timeout fails the sum, and so
 * does having no worker to ask (the primary's first moments).
 */
function workerMetrics(): { sum(): Promise<string>; ready(worker: Worker): void; answer(worker: Worker, message: MetricsMessage): void; exited(worker: Worker): void } {
  const answering = new Set<Worker>()
  const gathering = new Map<number, { pending: Set<Worker>; figures: WorkerMetrics[]; fail(err: Error): void; finish(): void }>()
  let next = 0
  return {
    ready(worker) {
      // A 'ready' read after the worker's exit (buffered messages can come after it) adds nothing.
      if (!worker.isDead() && worker.isConnected()) answering.add(worker)
    },
    answer(worker, message) {
      const g = gathering.get(message.id)
      if (!g || !g.pending.delete(worker)) return
      if (message.error !== undefined) return g.fail(new Error(`worker ${worker.process.pid}: ${message.error}`))
      g.figures.push(message.metrics ?? [])
      if (g.pending.size === 0) g.finish()
    },
    exited(worker) {
      answering.delete(worker)
      for (const g of [...gathering.values()]) if (g.pending.delete(worker) && g.pending.size === 0) g.finish()
    },
    sum: () =>
      new Promise<string>((resolve, reject) => {
        const id = next++
        const pending = new Set([...answering].filter((w) => w.isConnected()))
        if (pending.size === 0) return reject(new Error('no worker answers metrics yet'))
        // Settled once: the first of the last answer, a failure, the timeout.
        const settle = (outcome: () => Promise<string>): void => {
          if (!gathering.delete(id)) return
          clearTimeout(timer)
          outcome().then(resolve, reject)
        }
        const g = {
          pending,
          figures: [] as WorkerMetrics[],
          fail: (err: Error) => settle(() => Promise.reject(err)),
          // aggregate() throws on a figure it cannot sum: a failed scrape, not a throw in an event handler.
          finish: () => settle(() => Promise.resolve().then(() => AggregatorRegistry.aggregate(g.figures).metrics())),
        }
        const timer = setTimeout(() => g.fail(new Error(`${g.pending.size} worker(s) did not answer within ${METRICS_TIMEOUT_MS} ms`)), METRICS_TIMEOUT_MS)
        gathering.set(id, g)
        for (const worker of pending) {
          // A channel that closed since (the worker is dying): left out, as its exit would leave it.
          worker.send({ type: REGISTRY_REQUEST, id } satisfies MetricsMessage, (err) => {
            if (err && g.pending.delete(worker) && g.pending.size === 0) g.finish()
          })
        }
      }),
  }
}

/** A worker that dies this soon after it started, this many times in a row, stops the primary. */
const EARLY_DEATH_MS = 5_000
const MAX_EARLY_DEATHS = 3

export interface PrimaryOptions {
  workers: number
  dataDir: string
  /** The store URL (--store), to migrate once before the workers open it. */
  store?: string
  metrics?: { port: number; host: string }
}

/** A worker stopping takes at most this long before the primary kills it. */
const STOP_GRACE_MS = 30_000

/** Runs the primary until SIGINT/SIGTERM; resolves when every worker has stopped. */
export async function runPrimary(options: PrimaryOptions): Promise<void> {
  // Created here once, before any worker could race to create them; the store's migrations
  // too (an index built on a large table must not make the other workers time out waiting).
  loadKeyring(options.dataDir)
  loadMetricsToken(options.dataDir)
  await (await openStore(options.store, options.dataDir)).close()
  const started = new Map<Worker, number>()
  let earlyDeaths = 0
  let stopping = false
  let metricsListener: MetricsListener | null = null
  const fork = (): void => {
    const worker = cluster.fork(metricsListener ? { [SUMMED_METRICS_ENV]: metricsListener.url } : {})
    started.set(worker, Date.now())
  }

  const figures = workerMetrics()
  cluster.on('message', (worker, message: unknown) => {
    if (!isMetricsMessage(message)) return
    if (message.type === REGISTRY_READY) return figures.ready(worker)
    if (message.type === REGISTRY_RESPONSE) return figures.answer(worker, message)
    if (message.type !== METRICS_REQUEST) return
    const reply = (text: string | undefined): void => {
      if (worker.isConnected()) worker.send({ type: METRICS_RESPONSE, id: message.id, ...(text !== undefined ? { text } : {}) } satisfies MetricsMessage)
    }
    figures.sum().then(reply, () => reply(undefined))
  })
  // The first worker's banner names it.
  if (options.metrics) metricsListener = await listenMetrics({ ...options.metrics, contentType: Registry.PROMETHEUS_CONTENT_TYPE, exposition: () => figures.sum() })

  // Once every first worker listens: which processes serve (a restarted one is logged on its own).
  const listening = new Set<Worker>()
  let reported = false
  cluster.on('listening', (worker) => {
    listening.add(worker)
    if (reported) console.log(`  worker ${worker.process.pid} listening`)
    else if (listening.size === options.workers) {
      reported = true
      console.log(`  workers     ${options.workers} processes sharing the port: ${[...listening].map((w) => w.process.pid).join(', ')} (primary ${process.pid})`)
    }
  })
  const done = new Promise<void>((resolve) => {
    cluster.on('exit', (worker, code, signal) => {
      const at = started.get(worker) ?? 0
      started.delete(worker)
      listening.delete(worker)
      figures.exited(worker)
      if (stopping) {
        if (started.size === 0) resolve()
        return
      }
      earlyDeaths = Date.now() - at < EARLY_DEATH_MS ? earlyDeaths + 1 : 0
      if (earlyDeaths >= MAX_EARLY_DEATHS) {
        console.error(`vigil-collector: workers keep dying at start (last: code ${code}, signal ${signal}); stopping`)
        process.exitCode = 1
        stop()
        if (started.size === 0) resolve()
        return
      }
      console.error(`vigil-collector: worker ${worker.process.pid} died (code ${code}, signal ${signal}); starting another`)
      fork()
    })
  })
  const stop = (): void => {
    if (stopping) return
    stopping = true
    void metricsListener?.close()
    for (const worker of started.keys()) {
      worker.process.kill('SIGTERM')
      // A worker stuck closing does not hold the primary forever.
      setTimeout(() => worker.process.kill('SIGKILL'), STOP_GRACE_MS).unref()
    }
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
  for (let i = 0; i < options.workers; i++) fork()
  await done
}

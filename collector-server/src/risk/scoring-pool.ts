/**
 * A collect's signature check (collect-check.ts) and the payload's analysis
 * (payload-analysis.ts) on threads of their own. Together they are over half of a collect's CPU (docs/performance.md) and need
 * nothing but the request's body: on a machine with a core to spare, a thread does them
 * while the request thread parses, talks to the store and signs. The thread gets the
 * body as received (a string crosses to a thread for the cost of a copy; the parsed
 * payload, with its trace's thousands of numbers, would cost more to clone than to parse
 * again) and answers twice: the signature first, which the request waits for before it
 * spends the challenge, then the analysis, which it waits for only where the verdict
 * needs it.
 *
 * The pool never makes a collect wait for a thread, nor fail because of one:
 *  - a thread that has not started yet, or has `maxQueue` checks it has not finished, takes
 *    no more: the request thread does the check itself (an overloaded pool sheds to it).
 *    The thread counts what it finished in shared memory: answers it sent but this thread
 *    has not read yet are not its backlog, and counting them would shed work to the
 *    request thread exactly when that thread is the one behind;
 *  - a thread that finishes nothing for `hungMs` while it has checks (a loop it cannot leave)
 *    is stopped, and so dies; the check it was stuck on is refused (400 bad_request) rather
 *    than done again here, where it would stop the request thread instead;
 *  - a thread that dies, or fails a check, hands what it had not answered back to the
 *    request thread (both parts are pure functions of the body: doing them again gives
 *    the same answers), and a dead one is started again after a pause that grows while it
 *    keeps dying;
 *  - after close(), every check runs on the request thread.
 * Where each check ran is counted (vigil_collect_checks_total).
 */
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'
import type { CollectBody } from '@vigil-risk/core/protocol/schema'
import { checkSignature, type SignatureCheck } from './collect-check'
import { analysePayload, type PayloadAnalysis, type ProofTerms } from './payload-analysis'
import { usableCores } from '../cores'
import { CollectorError } from '../errors'

/** The answers to one collect's body, as they come. */
export interface CollectCheck {
  signature: Promise<SignatureCheck>
  /**
   * The payload's analysis (payload-analysis.ts); rejects when the signature did not
   * verify, or no analysis was asked for. On the request thread it is computed when first asked for: a collect
   * refused after its signature (a replay, another device's key) costs no analysis.
   */
  analysis: () => Promise<PayloadAnalysis>
}

export interface CollectScorer {
  /**
   * Checks `body`; `raw` is its text as received, which a thread parses for itself
   * (without it, the request thread checks). `terms` are its challenge's, for the
   * analysis; null checks the signature only.
   */
  check(body: CollectBody, raw: string | undefined, terms: ProofTerms | null): CollectCheck
  /** Threads the pool runs (0: every check on the request thread). */
  readonly threads: number
  close(): Promise<void>
}

export type CheckSite = 'thread' | 'inline'

export interface ScoringPoolOptions {
  threads: number
  /** A thread with this many checks it has not finished takes no more (default 32: about 20 ms of work). */
  maxQueue?: number
  /** Where each check ran. */
  onCheck?: (where: CheckSite) => void
  /** A thread failed to start or died; its checks ran on the request thread. */
  onError?: (err: Error) => void
  /**
   * A thread with checks that finishes none for this long is stopped (default 5,000 ms; one
   * check takes about a millisecond). Judged by the thread's own count, so a request thread
   * too busy to read answers never makes a thread look hung.
   */
  hungMs?: number
  /** The pause before a dead thread starts again, ms; it doubles while the thread keeps dying, up to 30 s (default 500). */
  restartMs?: number
  /** The thread's module (default: scoring-worker.js found beside the collector, or its source under tsx). */
  module?: URL
}

const NOT_ANALYSED = 'not analysed: the signature did not verify, or no analysis was asked for'

/** Settles with fn's value or its error, synchronously computed. */
function attempt<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn())
  } catch (err) {
    return Promise.reject(asError(err))
  }
}

const asError = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)))

/** The check on the request thread: the signature now, the analysis when first asked for (when the signature verified). */
function inline(body: CollectBody, terms: ProofTerms | null): CollectCheck {
  const signature = attempt(() => checkSignature(body))
  let analysis: Promise<PayloadAnalysis> | null = null
  return {
    signature,
    analysis: () =>
      (analysis ??= signature.then((checked) => {
        if (!checked.ok || !terms) throw new Error(NOT_ANALYSED)
        return analysePayload(body.payload, terms)
      })),
  }
}

export function inlineScorer(onCheck?: (where: CheckSite) => void): CollectScorer {
  return {
    threads: 0,
    check(body, _raw, terms) {
      onCheck?.('inline')
      return inline(body, terms)
    },
    close: () => Promise.resolve(),
  }
}

/**
 * The worker's module, in the three layouts the collector runs from: the bundle
 * (dist/collector/scoring-worker.js beside the chunk this code is in, or beside the entry
 * it was inlined into) and the sources (collector-server/src/scoring-worker.ts, under tsx:
 * tests and scripts). Null when none is there.
 */
function workerModule(): { url: string; tsx: string | null } | null {
  for (const candidate of ['../scoring-worker.js', './scoring-worker.js']) {
    const url = new URL(candidate, import.meta.url)
    if (existsSync(fileURLToPath(url))) return { url: url.href, tsx: null }
  }
  const source = new URL('../scoring-worker.ts', import.meta.url)
  if (!existsSync(fileURLToPath(source))) return null
  const tsx = tsxRegister()
  return tsx ? { url: source.href, tsx } : null // sources without tsx: nothing here can load them
}

/** tsx's ESM registration API (`tsx/esm/api`), as a file URL; null without tsx. */
function tsxRegister(): string | null {
  try {
    const manifest = createRequire(import.meta.url).resolve('tsx/package.json')
    const { exports } = JSON.parse(readFileSync(manifest, 'utf8')) as { exports?: Record<string, { import?: { default?: string } }> }
    const entry = exports?.['./esm/api']?.import?.default
    return entry ? pathToFileURL(join(dirname(manifest), entry)).href : null
  } catch {
    return null
  }
}

/** Loads the worker's module (registering tsx first for the sources) inside the thread. */
const BOOTSTRAP = `
const { workerData } = require('node:worker_threads')
;(workerData.tsx ? import(workerData.tsx).then((tsx) => tsx.register()) : Promise.resolve())
  .then(() => import(workerData.url))
  .catch((err) => setImmediate(() => { throw err }))
`

interface Deferred<T> {
  promise: Promise<T>
  resolve: (value: T) => void
  reject: (err: Error) => void
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void
  let reject!: (err: Error) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

/**
 * A check on a thread: the signature's answer is null once it came. It keeps the body's
 * text, not the parsed body: a value held in this long-lived map for the milliseconds a
 * check takes was promoted to V8's old generation all the same (2.7 MB per scavenge at
 * 500 collects/s against 0.4 MB holding the text; docs/performance.md), each scavenge
 * copying it and each full collection sweeping it.
 */
interface Pending {
  /** The text the request thread parsed and validated: a thread's unfinished check is redone from it. */
  raw: string
  terms: ProofTerms | null
  signature: Deferred<SignatureCheck> | null
  analysis: Deferred<PayloadAnalysis>
}

type Reply = { id: number; signature: SignatureCheck } | { id: number; analysis: PayloadAnalysis } | { id: number; error: string } | 'ready'

class Lane {
  worker: Worker | null = null
  ready = false
  /** Shared with the thread: [how many checks it has finished, 1 once it counts them]. */
  finished = new Int32Array(new SharedArrayBuffer(8))
  /**
   * The ids posted and not yet seen finished, in the order the thread takes them, and how
   * many were dropped from the front: the finished count the watchdog last saw.
   */
  order: number[] = []
  orderBase = 0
  /** Since when the finished count has not moved while the thread had checks. */
  stuckSince: number | null = null
  /** The check a stopped thread was stuck on: refused, not done again. */
  poisoned: number | null = null
  /** This thread's failure is reported already (an 'error' is followed by an 'exit'). */
  reported = false
  readonly pending = new Map<number, Pending>()
  failures = 0
  timer: NodeJS.Timeout | null = null
}

/** A check that stopped its thread: a 400 for its collect, as a body nothing can check. */
function refuse(p: Pending): void {
  const err = new CollectorError('bad_request', 'The payload could not be checked: its check did not finish.')
  p.signature?.reject(err)
  p.analysis.reject(err)
}

class ScoringPool implements CollectScorer {
  private readonly lanes: Lane[]
  private readonly maxQueue: number
  private readonly restartMs: number
  private readonly hungMs: number
  private readonly watchdog: NodeJS.Timeout
  private nextId = 1
  private closed = false

  constructor(
    private readonly module: { url: string; tsx: string | null },
    private readonly options: ScoringPoolOptions,
  ) {
    this.maxQueue = options.maxQueue ?? 32
    this.restartMs = options.restartMs ?? 500
    this.hungMs = options.hungMs ?? 5_000
    this.lanes = Array.from({ length: options.threads }, () => new Lane())
    for (const lane of this.lanes) this.start(lane)
    this.watchdog = setInterval(() => this.watch(), Math.max(10, Math.min(1_000, this.hungMs / 4)))
    this.watchdog.unref()
  }

  /** Stops a thread that has had checks and finished none for hungMs: its exit hands them back. */
  private watch(): void {
    const now = Date.now()
    for (const lane of this.lanes) {
      const worker = lane.worker
      // A module that does not count its checks (a test's) cannot be judged.
      if (!worker || !lane.ready || Atomics.load(lane.finished, 1) !== 1) continue
      const finished = Atomics.load(lane.finished, 0)
      const moved = finished !== lane.orderBase
      lane.order.splice(0, finished - lane.orderBase)
      lane.orderBase = finished
      if (moved || lane.pending.size === 0 || lane.order.length === 0) {
        lane.stuckSince = null
        continue
      }
      lane.stuckSince ??= now
      if (now - lane.stuckSince < this.hungMs) continue
      // The thread takes its checks in order: the one it is stuck on is the first it has not finished.
      lane.poisoned = lane.order[0] ?? null
      lane.ready = false // no more checks for it while it stops
      lane.reported = true
      lane.stuckSince = null
      this.options.onError?.(new Error(`a scoring thread finished no check in ${this.hungMs} ms: stopped; the check it was stuck on is refused, the others done on the request thread`))
      void worker.terminate()
    }
  }

  get threads(): number {
    return this.lanes.length
  }

  check(body: CollectBody, raw: string | undefined, terms: ProofTerms | null): CollectCheck {
    let best: Lane | null = null
    let backlog = Infinity
    for (const lane of this.lanes) {
      if (!lane.ready) continue
      // A module that does not count (a test's) is judged by its unread answers, as the bound allows.
      const waiting = Math.min(lane.pending.size, lane.orderBase + lane.order.length - Atomics.load(lane.finished, 0))
      if (waiting < backlog) [best, backlog] = [lane, waiting]
    }
    if (raw === undefined || this.closed || !best || backlog >= this.maxQueue) {
      this.options.onCheck?.('inline')
      return inline(body, terms)
    }
    const id = this.nextId++
    const signature = deferred<SignatureCheck>()
    const analysis = deferred<PayloadAnalysis>()
    // A check under way keeps the process alive, as one on this thread would; an idle thread does not.
    if (best.pending.size === 0) best.worker!.ref()
    best.pending.set(id, { raw, terms, signature, analysis })
    best.order.push(id)
    best.worker!.postMessage({ id, raw, terms })
    // Neither part may be an unhandled rejection when its caller no longer waits for it (a refused collect).
    signature.promise.catch(() => undefined)
    analysis.promise.catch(() => undefined)
    return { signature: signature.promise, analysis: () => analysis.promise }
  }

  async close(): Promise<void> {
    this.closed = true
    clearInterval(this.watchdog)
    await Promise.all(
      this.lanes.map(async (lane) => {
        if (lane.timer) clearTimeout(lane.timer)
        const worker = lane.worker
        if (worker) await worker.terminate() // its 'exit' hands what it had back to this thread
      }),
    )
  }

  private settle(lane: Lane, id: number, reply: Exclude<Reply, 'ready'>): void {
    const p = lane.pending.get(id)
    if (!p) return
    if ('signature' in reply) {
      p.signature?.resolve(reply.signature)
      p.signature = null
      if (reply.signature.ok && p.terms) return // the analysis follows
      p.analysis.reject(new Error(NOT_ANALYSED))
    } else if ('analysis' in reply) p.analysis.resolve(reply.analysis)
    lane.pending.delete(id)
    if (lane.pending.size === 0) lane.worker?.unref()
    // The thread could not do it: the request thread does what is left, as it would have.
    if ('error' in reply) this.adopt(p)
    else this.options.onCheck?.('thread')
  }

  /** What a thread did not answer (it died, or failed), done here: the same pure functions, the same answers. */
  private adopt(p: Pending): void {
    this.options.onCheck?.('inline')
    let body: CollectBody
    try {
      body = JSON.parse(p.raw) as CollectBody
    } catch {
      // Not reachable while the text is the one the request thread parsed: a 400, never a 500, if it were.
      return refuse(p)
    }
    if (p.signature) {
      const { signature, analysis } = inline(body, p.terms)
      signature.then(p.signature.resolve, p.signature.reject)
      analysis().then(p.analysis.resolve, p.analysis.reject)
      return
    }
    const terms = p.terms
    if (!terms) return p.analysis.reject(new Error(NOT_ANALYSED)) // never posted for analysis: its answer is the signature's
    attempt(() => analysePayload(body.payload, terms)).then(p.analysis.resolve, p.analysis.reject)
  }

  private start(lane: Lane): void {
    lane.timer = null
    if (this.closed) return
    lane.finished = new Int32Array(new SharedArrayBuffer(8))
    lane.order = []
    lane.orderBase = 0
    lane.stuckSince = null
    lane.poisoned = null
    const worker = new Worker(BOOTSTRAP, { eval: true, workerData: { ...this.module, finished: lane.finished } })
    lane.worker = worker
    lane.ready = false
    lane.reported = false
    worker.on('message', (reply: Reply) => {
      if (reply !== 'ready') return this.settle(lane, reply.id, reply)
      lane.ready = true
      lane.failures = 0
    })
    worker.on('error', (err) => {
      lane.reported = true
      this.options.onError?.(err)
    })
    worker.on('exit', (code) => {
      if (!this.closed && !lane.reported) this.options.onError?.(new Error(`a scoring thread exited with code ${code}`))
      lane.worker = null
      lane.ready = false
      const orphans = [...lane.pending]
      lane.pending.clear()
      for (const [id, p] of orphans) {
        if (id === lane.poisoned) refuse(p)
        else this.adopt(p)
      }
      lane.poisoned = null
      if (this.closed) return
      lane.failures++
      const delay = Math.min(30_000, this.restartMs * 2 ** Math.min(lane.failures - 1, 16))
      lane.timer = setTimeout(() => this.start(lane), delay)
      lane.timer.unref()
    })
    // After the listeners: adding a 'message' listener refs the worker again.
    worker.unref()
  }
}

/**
 * A pool of `threads` scoring threads; with 0, or when the worker's module cannot be found
 * (reported through onError), every check runs on the request thread.
 */
export function startScoringPool(options: ScoringPoolOptions): CollectScorer {
  if (options.threads <= 0) return inlineScorer(options.onCheck)
  const module = options.module ? { url: options.module.href, tsx: null } : workerModule()
  if (!module) {
    options.onError?.(new Error('the scoring worker module (scoring-worker.js) was not found beside the collector: collects are checked on the request thread'))
    return inlineScorer(options.onCheck)
  }
  return new ScoringPool(module, options)
}

/**
 * Scoring threads for one of `processes` collector processes on this machine: what its
 * share of the cores leaves beside its request thread, at most 4 (the request thread
 * cannot feed more). 0 on a machine with a core per process or fewer.
 */
export function defaultScoringThreads(processes: number): number {
  return Math.max(0, Math.min(4, Math.floor(usableCores() / Math.max(1, processes)) - 1))
}

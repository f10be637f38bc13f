/**
 * Answers a challenge: the proof of work and the probes it asks for
 * (core/src/protocol/pow.ts, probes.ts). The work and the text metrics run in a Web
 * Worker started from a blob URL (CSP: `worker-src blob:`); where no worker can start,
 * the page does the work in slices of a few milliseconds, never as a long task.
 */
import { POW_NONCE_BYTES, powDigestInput, searchPow, sha256 } from '@vigil-risk/core/protocol/pow'
import { probePlan, type TextPlan } from '@vigil-risk/core/protocol/probes'
import { toBase64url } from '@vigil-risk/core/protocol/base64url'
import type { ChallengeResponse, Proof } from '@vigil-risk/core/protocol/schema'
import workerSource from 'vigil:proof-worker'
import { VigilError, abortReason } from '../errors'
import { nextTask } from '../signals/slice'
import { measureText } from './text'
import { WORKER_STARTED, type WorkerJob, type WorkerMessage, type WorkerResult } from './messages'

/** Attempts per main-thread slice: a few ms each at ~1 M hashes/s. */
const SLICE = 4096
/** A worker that has not said it started within this long never will: the page does the work. */
const WORKER_START_MS = 2000

let workerUrl: string | null | undefined

function startWorker(): Worker | null {
  try {
    workerUrl ??= URL.createObjectURL(new Blob([workerSource], { type: 'text/javascript' }))
    return new Worker(workerUrl)
  } catch {
    workerUrl = null // Blocked by CSP, or no workers: the page does the work.
    return null
  }
}

/** At most this many proof workers at once: a page that asks for fifty tokens together gets them in turn. */
const MAX_WORKERS = 2
let running = 0
const waiting: Array<() => void> = []

/** Waits for a worker slot; the slot's release hands it to the next in line. */
function workerSlot(signal: AbortSignal): Promise<() => void> {
  let released = false
  const release = (): void => {
    if (released) return
    released = true
    const next = waiting.shift()
    if (next) next()
    else running--
  }
  if (signal.aborted) return Promise.reject(abortReason(signal))
  if (running < MAX_WORKERS) {
    running++
    return Promise.resolve(release)
  }
  return new Promise((resolve, reject) => {
    const go = (): void => {
      signal.removeEventListener('abort', stop)
      resolve(release)
    }
    const stop = (): void => {
      const at = waiting.indexOf(go)
      if (at >= 0) waiting.splice(at, 1)
      reject(abortReason(signal))
    }
    waiting.push(go)
    signal.addEventListener('abort', stop, { once: true })
  })
}

/** Workers that started and never said so, in a row: after two, the page does the work. */
let silentStarts = 0

async function inWorker(job: WorkerJob, signal: AbortSignal): Promise<WorkerResult | null> {
  if (workerUrl === null) return null
  const release = await workerSlot(signal)
  if (signal.aborted) {
    release()
    throw abortReason(signal)
  }
  const worker = workerUrl === null ? null : startWorker()
  if (!worker) {
    release()
    return null
  }
  return new Promise((resolve, reject) => {
    const done = (): void => {
      clearTimeout(silent)
      signal.removeEventListener('abort', abort)
      try {
        worker.terminate()
      } catch {
        // A page's own Worker without terminate: nothing more to stop.
      } finally {
        release()
      }
    }
    const abort = (): void => {
      done()
      reject(abortReason(signal))
    }
    // A worker that never answers (a page's own Worker that swallows messages) would hold
    // every getToken of the page until its timeout: after this one, the page works alone.
    // One slow start (a busy phone) is not enough to give workers up for the page's life.
    const silent = setTimeout(() => {
      done()
      if (++silentStarts >= 2) workerUrl = null
      resolve(null)
    }, WORKER_START_MS)
    signal.addEventListener('abort', abort)
    worker.onmessage = (e: MessageEvent<WorkerMessage>) => {
      if (e.data === WORKER_STARTED) {
        silentStarts = 0
        return clearTimeout(silent)
      }
      done()
      resolve(e.data)
    }
    // A worker that cannot run (a CSP that blocks its blob at load): the page does the work.
    worker.onerror = (e) => {
      e.preventDefault()
      done()
      resolve(null)
    }
    try {
      worker.postMessage(job)
    } catch {
      done()
      resolve(null)
    }
  })
}

async function onPage(job: WorkerJob, signal: AbortSignal): Promise<WorkerResult> {
  let lo = -1
  for (let start = 0; job.difficulty > 0 && lo < 0; start += SLICE) {
    if (signal.aborted) throw abortReason(signal)
    await nextTask()
    lo = searchPow(job.digest, job.difficulty, job.hi, start, SLICE)
  }
  return { lo, text: job.text ? pageText(job.text) : null }
}

function pageText(plan: TextPlan): NonNullable<Proof['text']> {
  try {
    return measureText(document.createElement('canvas').getContext('2d'), plan)
  } catch (err) {
    return { e: err instanceof Error ? err.name.slice(0, 64) : 'error' }
  }
}

export async function answerChallenge(c: Pick<ChallengeResponse, 'challenge' | 'seed' | 'probes' | 'difficulty'>, signal: AbortSignal): Promise<Proof> {
  const plan = probePlan(c.seed)
  if (!plan) throw new VigilError('bad_response', 'the challenge seed is malformed')
  const hi = (Math.random() * 2 ** 32) >>> 0
  const job: WorkerJob = { digest: sha256(powDigestInput(c.challenge)), difficulty: c.difficulty, hi, text: c.probes.includes('text') ? plan.text : null }
  let result = await inWorker(job, signal)
  // The worker's canvas could not measure (no OffscreenCanvas): the page measures.
  if (result && job.text && result.text && 'e' in result.text) result = { ...result, text: pageText(job.text) }
  result ??= await onPage(job, signal)
  const proof: Proof = {}
  if (c.difficulty > 0) {
    const nonce = new Uint8Array(POW_NONCE_BYTES)
    const view = new DataView(nonce.buffer)
    view.setUint32(0, hi)
    view.setUint32(4, result.lo >>> 0)
    proof.pow = { n: toBase64url(nonce) }
  }
  if (result.text) proof.text = result.text
  if (c.probes.includes('tz')) proof.tz = { o: plan.tz.map((t) => new Date(t).getTimezoneOffset()) }
  return proof
}

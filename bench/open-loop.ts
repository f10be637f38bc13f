/**
 * An open-loop load: request i is sent at t0 + i / rate, whatever the answers do, and its
 * latency runs from that scheduled time, so a stalled server shows as latency rather than
 * as fewer requests (no coordinated omission). Used by the soak and the collect bench.
 */
import { Agent, request as httpRequest } from 'node:http'
import { performance } from 'node:perf_hooks'

export interface Answer {
  status: number
  text: string
}

/** A request not answered within this is a transport error ("timeout"). */
export const TIMEOUT_MS = 30_000

/** POSTs `body` to `path` on `base` over a keep-alive agent; rejects on transport errors and after TIMEOUT_MS. */
export function post(agent: Agent, base: URL, path: string, body: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        agent,
        host: base.hostname,
        port: base.port,
        method: 'POST',
        path,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        signal: AbortSignal.timeout(TIMEOUT_MS),
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }))
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

/** The outcome of one answer: null when it is a success, else an error label. */
export type Judge = (answer: Answer, measured: boolean) => string | null

/** What an open-loop run observed, request by request. */
export class LoadRecord {
  /** Latency from the scheduled send, ms; NaN until (or unless) answered. */
  readonly latency: Float64Array
  /** How late each request was sent after its scheduled time, ms (the generator's own lag). */
  readonly sendLag: Float64Array
  readonly errors = new Map<string, number>()
  sent = 0
  answered = 0
  inFlight = 0
  maxInFlight = 0
  /** Successes among the measured requests (after the warm-up), and when the last measured one finished. */
  measuredOk = 0
  lastMeasuredDone = 0

  constructor(readonly total: number, readonly warmupCount: number) {
    this.latency = new Float64Array(total).fill(NaN)
    this.sendLag = new Float64Array(total)
  }

  fail(code: string): void {
    this.errors.set(code, (this.errors.get(code) ?? 0) + 1)
  }

  /** Tracks request i, scheduled at `scheduled`, whose answer `judge` classifies. */
  track(i: number, scheduled: number, answer: Promise<Answer>, judge: Judge): void {
    this.sendLag[i] = performance.now() - scheduled
    this.sent++
    this.inFlight++
    if (this.inFlight > this.maxInFlight) this.maxInFlight = this.inFlight
    const measured = i >= this.warmupCount
    answer.then(
      (a) => {
        const done = performance.now()
        this.inFlight--
        this.answered++
        this.latency[i] = done - scheduled
        if (measured) this.lastMeasuredDone = Math.max(this.lastMeasuredDone, done)
        const error = judge(a, measured)
        if (error !== null) this.fail(error)
        else if (measured) this.measuredOk++
      },
      (err: unknown) => {
        this.inFlight--
        const e = err as { code?: string; name?: string }
        this.fail(`transport ${e.name === 'AbortError' || e.name === 'TimeoutError' || e.code === 'ABORT_ERR' ? 'timeout' : (e.code ?? e.name ?? 'error')}`)
      },
    )
  }

  /** Waits until nothing is in flight, or until `deadlineMs` from now. */
  async drain(deadlineMs = TIMEOUT_MS + 5_000): Promise<void> {
    const deadline = performance.now() + deadlineMs
    while (this.inFlight > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50))
  }
}

/** Calls `fire(i, scheduledAt)` for i = 0 … total − 1 at t0 + i · 1000 / rate; resolves after the last. */
export function schedule(t0: number, rate: number, total: number, fire: (i: number, scheduled: number) => void): Promise<void> {
  const period = 1000 / rate
  return new Promise<void>((resolve) => {
    let next = 0
    const tick = (): void => {
      const now = performance.now()
      while (next < total && t0 + next * period <= now) {
        fire(next, t0 + next * period)
        next++
      }
      if (next >= total) return resolve()
      setTimeout(tick, Math.max(0, t0 + next * period - performance.now()))
    }
    setTimeout(tick, Math.max(0, t0 - performance.now()))
  })
}

/**
 * POSTs bodies[i] to `path` on `url` at `rate` a second from now, whatever the answers do
 * (a 200 is a success, anything else an error by its code), and resolves once every request
 * has been answered, failed or timed out. `onSend(i)` runs just before request i is sent.
 */
export async function postAtRate(url: string, path: string, bodies: readonly string[], rate: number, warmupCount: number, onSend?: (i: number) => void): Promise<LoadRecord> {
  const load = new LoadRecord(bodies.length, warmupCount)
  const agent = new Agent({ keepAlive: true, maxSockets: 256 })
  const base = new URL(url)
  try {
    await schedule(performance.now() + 50, rate, bodies.length, (i, scheduled) => {
      onSend?.(i)
      load.track(i, scheduled, post(agent, base, path, bodies[i]!), (a) => (a.status === 200 ? null : httpError(a)))
    })
    await load.drain()
  } finally {
    agent.destroy()
  }
  return load
}

/** An HTTP error label from the collector's envelope: `HTTP 503 store_unavailable`. */
export function httpError(answer: Answer): string {
  let code = ''
  try {
    code = (JSON.parse(answer.text) as { error?: { code?: string } }).error?.code ?? ''
  } catch {
    // Not our envelope.
  }
  return `HTTP ${answer.status}${code ? ` ${code}` : ''}`
}

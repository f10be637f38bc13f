/**
 * An open-loop load: request i is sent at t0 + i / rate, whatever the answers do, and its
 * latency runs from that scheduled time, so a stalled server shows as latency rather than
 * as fewer requests (no coordinated omission). Used by the soak and the collect bench.
 */
import { connect, type Socket } from 'node:net'
import { performance } from 'node:perf_hooks'

export interface Answer {
  status: number
  text: string
}

/** A request not answered within this is a transport error ("timeout"). */
export const TIMEOUT_MS = 30_000

/** At most this many connections at once; further requests wait for one (as node:http's Agent did). */
const MAX_CONNECTIONS = 256
/** A connection idle this long is closed before reuse: well inside any server's keep-alive timeout (Fastify's is 72 s). */
export const IDLE_MS = 4_000
const HEAD_END = Buffer.from('\r\n\r\n')

interface Waiting {
  resolve: (answer: Answer) => void
  reject: (err: Error) => void
  deadline: number
}

const transportError = (message: string, code: string): Error => Object.assign(new Error(message), { code })
const closedError = (): Error => transportError('the connections are closed', 'ECONNABORTED')
const timeoutError = (ms: number): Error => Object.assign(new Error(`no answer within ${ms} ms`), { name: 'TimeoutError' })

/**
 * Keep-alive HTTP/1.1 connections to one server, one request at a time on each. The load
 * generator runs on the cores it measures: node:http's client cost it about 0.5 ms of CPU per
 * 11.6 KB collect, a sixth of what the collector spends, which the collector then did not
 * get. This writes each request as one string and reads an answer's status line, length and
 * body, nothing else (docs/performance.md, "Latency, honestly"). Every request settles once:
 * with its answer, a transport error, or a timeout.
 */
export class Connections {
  private readonly idle: Connection[] = []
  private readonly queue: Array<{ request: string; waiting: Waiting }> = []
  private readonly live = new Set<Connection>()
  private readonly timer: NodeJS.Timeout
  private closed = false

  constructor(
    private readonly base: URL,
    private readonly timeoutMs = TIMEOUT_MS,
  ) {
    // One timer for every request in flight and every idle connection, not one each.
    this.timer = setInterval(() => {
      const now = performance.now()
      for (const c of [...this.live]) c.expire(now, this.timeoutMs)
      for (let i = this.queue.length - 1; i >= 0; i--) {
        if (this.queue[i]!.waiting.deadline <= now) this.queue.splice(i, 1)[0]!.waiting.reject(timeoutError(this.timeoutMs))
      }
    }, Math.min(250, this.timeoutMs / 4))
    this.timer.unref()
  }

  /** POSTs `body` (JSON) to `path`; rejects on transport errors and after the timeout (TIMEOUT_MS unless given). */
  post(path: string, body: string): Promise<Answer> {
    const request = `POST ${path} HTTP/1.1\r\nhost: ${this.base.host}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(closedError())
      const waiting = { resolve, reject, deadline: performance.now() + this.timeoutMs }
      const connection = this.idle.pop() ?? (this.live.size < MAX_CONNECTIONS ? this.connect() : null)
      if (connection) connection.send(request, waiting)
      else this.queue.push({ request, waiting })
    })
  }

  /** Closes every connection; what is in flight or queued is rejected. */
  close(): void {
    this.closed = true
    clearInterval(this.timer)
    for (const { waiting } of this.queue.splice(0)) waiting.reject(closedError())
    for (const c of [...this.live]) c.close(closedError())
  }

  private connect(): Connection {
    const port = Number(this.base.port) || 80
    const connection = new Connection(connect(port, this.base.hostname.replace(/^\[(.*)\]$/, '$1')), (c) => this.release(c))
    this.live.add(connection)
    return connection
  }

  /** A connection is free again: it takes the next waiting request, or waits; a closed one goes, and a new one takes its place in the queue. */
  private release(c: Connection): void {
    if (c.gone) {
      this.live.delete(c)
      const idle = this.idle.indexOf(c) // closed while it waited
      if (idle >= 0) this.idle.splice(idle, 1)
      const next = this.closed ? undefined : this.queue.shift()
      if (next) this.connect().send(next.request, next.waiting)
      return
    }
    const next = this.queue.shift()
    if (next) c.send(next.request, next.waiting)
    else this.idle.push(c)
  }
}

class Connection {
  /** Closed, or closing: it takes no more requests. */
  gone = false
  private received: Buffer | null = null
  private waiting: Waiting | null = null
  private idleSince = performance.now()

  constructor(
    private readonly socket: Socket,
    private readonly released: (c: Connection) => void,
  ) {
    socket.setNoDelay(true)
    socket.on('data', (chunk: Buffer) => this.read(chunk))
    socket.on('error', (err) => this.close(err))
    socket.on('end', () => this.close(transportError('the server closed the connection', 'ECONNRESET')))
    socket.on('close', () => this.close(transportError('the server closed the connection', 'ECONNRESET')))
  }

  send(request: string, waiting: Waiting): void {
    this.waiting = waiting
    this.socket.write(request)
  }

  /** Times out the request in flight; closes the connection when it has been idle too long. */
  expire(now: number, timeoutMs: number): void {
    if (this.waiting ? this.waiting.deadline <= now : now - this.idleSince >= IDLE_MS) this.close(timeoutError(timeoutMs))
  }

  /** Rejects the request in flight (if any) with `err`, closes the socket, and lets the pool forget it; once. */
  close(err: Error): void {
    if (this.gone) return
    this.gone = true
    const waiting = this.waiting
    this.waiting = null
    waiting?.reject(err)
    this.socket.destroy()
    this.released(this)
  }

  private read(chunk: Buffer): void {
    if (!this.waiting) return this.close(transportError('bytes from the server with no request in flight', 'EPROTO'))
    const data = (this.received = this.received ? Buffer.concat([this.received, chunk]) : chunk)
    const headEnd = data.indexOf(HEAD_END)
    if (headEnd < 0) return
    const head = data.toString('latin1', 0, headEnd)
    const status = Number(head.slice(9, 12))
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head)
    let body: Buffer | null
    let end: number
    if (length) {
      end = headEnd + 4 + Number(length[1])
      body = data.length < end ? null : data.subarray(headEnd + 4, end)
    } else if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
      const chunked = dechunk(data, headEnd + 4)
      if (chunked === 'malformed') return this.close(transportError('a malformed chunked answer', 'EPROTO'))
      ;[body, end] = chunked ? [chunked.body, chunked.end] : [null, 0]
    } else if (status === 204 || status === 304) {
      ;[body, end] = [Buffer.alloc(0), headEnd + 4]
    } else {
      return this.close(transportError('an answer with neither a length nor chunks', 'EPROTO'))
    }
    if (!body) return // the rest is on its way
    const waiting = this.waiting
    this.waiting = null
    this.received = null
    this.idleSince = performance.now()
    waiting.resolve({ status, text: body.toString('utf8') })
    // Anything after the answer, or a server that says it closes: this connection is done.
    if (data.length > end || /\r\nconnection:\s*close/i.test(head)) this.close(transportError('the server closed the connection', 'ECONNRESET'))
    else this.released(this)
  }
}

/** A chunked body from `at` in `data` and where it ends; null while it is incomplete. */
function dechunk(data: Buffer, at: number): { body: Buffer; end: number } | 'malformed' | null {
  const parts: Buffer[] = []
  for (;;) {
    const line = data.indexOf('\r\n', at)
    if (line < 0) return null
    const size = parseInt(data.toString('latin1', at, line), 16)
    if (Number.isNaN(size)) return 'malformed'
    if (size === 0) {
      // No trailers: the body ends with an empty line.
      const end = data.indexOf('\r\n', line + 2)
      return end < 0 ? null : { body: Buffer.concat(parts), end: end + 2 }
    }
    if (data.length < line + 2 + size + 2) return null
    parts.push(data.subarray(line + 2, line + 2 + size))
    at = line + 2 + size + 2
  }
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
  const connections = new Connections(new URL(url))
  try {
    await schedule(performance.now() + 50, rate, bodies.length, (i, scheduled) => {
      onSend?.(i)
      load.track(i, scheduled, connections.post(path, bodies[i]!), (a) => (a.status === 200 ? null : httpError(a)))
    })
    await load.drain()
  } finally {
    connections.close()
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

/**
 * A lingering close, as Apache and nginx do one. When the collector answers a request before
 * reading all of its body (a 413 for a body over the route's limit, which Fastify answers
 * with `connection: close`, or any answer to a client that asked to close) Node then closes
 * the connection at once. A client still writing its body meets a reset, and on Linux a
 * reset throws away what the client had received but not yet read: the answer. A client
 * that writes its whole body before reading (Node's, Python's urllib, many scripts) saw
 * EPIPE or ECONNRESET instead of the 413, every time.
 *
 * So a connection that closes with a request still arriving sends its FIN after the answer,
 * as before, and then keeps reading (Node's parser drops the rest of the body) until the
 * request has all arrived, the client closes its side, no byte came for one to two
 * LINGER_IDLE_MS (checked every LINGER_IDLE_MS), or `maxMs` passed since the close began
 * (in practice Node's request timeout, counted from the request's first byte, ends it
 * first). Then it closes. With nothing left unread there is no reset to lose the answer. No
 * request behind the refused one is run on a lingering connection: its answer could not go
 * out. A server that is stopping closes its lingering connections at once (one lingering
 * would otherwise hold the stop up for as long as its client sends).
 */
import type { IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'

/** A lingering connection that receives nothing for this long is closed. */
export const LINGER_IDLE_MS = 2_000

interface Parser {
  incoming?: IncomingMessage | null
  /** Node's HTTP server hands each parsed request's head to this. */
  onIncoming?: (...args: unknown[]) => number
}
/** Node's HTTP parser on a socket, if any (Node keeps it there). */
const parserOf = (socket: Socket): Parser | null => (socket as Socket & { parser?: Parser | null }).parser ?? null

/** Connections that are lingering: their answers are out, and nothing more is answered on them. */
const LINGERING = new WeakSet<Socket>()
/** The connection is lingering: what Node reports about it now (a timeout, a client gone mid-body) was already answered. */
export const isLingering = (socket: Socket): boolean => LINGERING.has(socket)

export interface Lingering {
  /** Makes `socket`'s close linger while a request is still arriving on it (see above). */
  attach(socket: Socket): void
  /** Closes every lingering connection now, and closes at once from now on: the server is stopping, and they would hold it up. */
  closeAll(): void
}

/**
 * Lingering closes for one server's connections. Node's HTTP server closes a connection with
 * `destroySoon` once its last answer is written; that close lingers while a request is still
 * arriving on it, and other closes are unchanged.
 */
export function lingering(maxMs: number, idleMs = LINGER_IDLE_MS): Lingering {
  const open = new Set<Socket>()
  const state = { stopping: false }
  return {
    attach: (socket) => lingerBeforeClosing(socket, maxMs, idleMs, open, state),
    closeAll: () => {
      state.stopping = true
      for (const socket of open) socket.destroy()
      open.clear()
    },
  }
}

function lingerBeforeClosing(socket: Socket, maxMs: number, idleMs: number, open: Set<Socket>, state: { stopping: boolean }): void {
  const closeNow = socket.destroySoon.bind(socket)
  socket.destroySoon = (): void => {
    if (LINGERING.has(socket)) return
    const parser = parserOf(socket)
    const request = parser?.incoming ?? null
    if (state.stopping || !parser || !request || request.complete || socket.destroyed) return closeNow()
    open.add(socket)
    LINGERING.add(socket)
    // A request sent behind the refused body must not run: its answer could never go out (a
    // collect would be stored, its challenge spent, and the retry refused as `replayed`).
    parser.onIncoming = (): number => {
      socket.destroy()
      return 0
    }
    // Once the answer is flushed: the FIN. Node's HTTP server lets a client half-close, so
    // reading goes on.
    socket.end()
    const started = Date.now()
    let read = socket.bytesRead
    // Not before the answer has gone out: destroying drops what is still queued.
    const close = (): void => void (socket.writableFinished ? socket.destroy() : socket.once('finish', () => socket.destroy()))
    const watch = setInterval(() => {
      if (socket.bytesRead === read || Date.now() - started >= maxMs) socket.destroy()
      read = socket.bytesRead
    }, idleMs).unref()
    socket.once('close', () => {
      clearInterval(watch)
      open.delete(socket)
    })
    socket.once('end', close)
    // The request's last byte: nothing the client sends for it is left to read.
    if (request.readableEnded) close()
    else request.once('end', close)
  }
}

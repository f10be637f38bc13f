/**
 * Refusals made below any route, shared by the public port (app.ts) and the metrics
 * listener (metrics-listener.ts): what Node's HTTP parser rejects, a bad Host, an Expect,
 * CONNECT, and a body the collector does not read.
 */
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { ERRORS, errorBody, type ErrorCode } from '../errors'

/** A host and an optional port (RFC 3986): an IP literal in brackets, or a name or IPv4 address; empty is allowed. */
const HOST_VALUE = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]*)(?::\d*)?$/

/**
 * Why a request's Host is refused, or null: RFC 9112 (3.2) has a server answer 400 to an
 * HTTP/1.1 request without one (HTTP/1.0 has none to require), with more than one, or with
 * a value that is not a host. Node keeps only the first of several.
 */
export function hostRefusal(request: IncomingMessage): string | null {
  const host = request.headers.host
  if (host === undefined) return request.httpVersion === '1.1' ? 'An HTTP/1.1 request needs a Host header.' : null
  const raw = request.rawHeaders
  let count = 0
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.length === 4 && raw[i]!.toLowerCase() === 'host') count++
  if (count > 1) return 'A request carries one Host header, not several.'
  return HOST_VALUE.test(host) ? null : 'The Host header is not a host name or address.'
}

/** The code a `clientError` from Node's parser (its `err.code`) is refused with. */
const parserRefusalCode = (errCode: string | undefined): ErrorCode =>
  errCode === 'ERR_HTTP_REQUEST_TIMEOUT' ? 'request_timeout' : errCode === 'HPE_HEADER_OVERFLOW' ? 'headers_too_large' : 'bad_request'

/** A whole HTTP/1.1 answer, for writing straight to a socket: the envelope, and the connection closes. */
function rawRefusal(code: ErrorCode, message?: string, allow?: string): string {
  const body = JSON.stringify(errorBody(code, message ?? (code === 'bad_request' ? 'The request is not well-formed HTTP/1.1.' : undefined)))
  const status = ERRORS[code].status
  const allowed = allow ? `allow: ${allow}\r\n` : ''
  return `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${allowed}connection: close\r\n\r\n${body}`
}

type Answer = ServerResponse & { req: { complete: boolean } }
/** The answer a connection is sending, if any (Node keeps it on the socket). */
const answering = (socket: Socket): Answer | null => (socket as Socket & { _httpMessage?: Answer | null })._httpMessage ?? null

/** Connections being refused: a failed parser reports its error again for every later chunk. */
const refusing = new WeakSet<Socket>()

/**
 * Refuses what Node's parser reported on `socket` (a `clientError`), once per connection,
 * then closes it; returns the code it refused with, or null when there was nobody to answer
 * (a reset, a connection already refused or closed, or one that never sent a byte: a
 * browser's preconnect, closed without a word). Whole requests before the bad bytes on this
 * connection (pipelined) are answered first: a collect's event is stored and its challenge
 * spent, and a lost answer would send its retry to `replayed`. Not for a timeout: that
 * request is the one still arriving. Answers still pending after `timeoutMs` are given up on.
 */
export function refuseParserError(socket: Socket, err: Error & { code?: string }, timeoutMs: number): ErrorCode | null {
  if (err.code === 'ECONNRESET' || socket.destroyed || refusing.has(socket)) return null
  refusing.add(socket)
  if (socket.bytesRead === 0) {
    socket.destroy()
    return null
  }
  const code = parserRefusalCode(err.code)
  const deadline = setTimeout(() => socket.destroy(err), timeoutMs).unref()
  const refuse = (): void => {
    const current = answering(socket)
    if (current && !current.writableFinished && current.req.complete && code !== 'request_timeout' && !socket.destroyed) {
      current.once('close', refuse)
      return
    }
    clearTimeout(deadline)
    // As Node does: no answer into the middle of another one.
    if (socket.writable && !(current?.headersSent && !current.writableFinished)) socket.write(rawRefusal(code))
    socket.destroy(err)
  }
  refuse()
  return code
}

/** A refusal in the envelope on a response not yet begun. */
export function refuseResponse(response: ServerResponse, code: ErrorCode, message?: string, headers: Record<string, string> = {}): void {
  const body = JSON.stringify(errorBody(code, message))
  response.writeHead(ERRORS[code].status, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(body)), ...headers }).end(body)
}

/**
 * A refusal before any of the body is read (an `Expect` other than 100-continue, where
 * Node's own 417 has an empty body; a 100-continue whose length is over the limit), and
 * the connection closes.
 */
export function refuseBeforeBody(response: ServerResponse, code: ErrorCode): void {
  refuseResponse(response, code, undefined, { connection: 'close' })
}

/** A CONNECT request (the server's `connect`): Node closes the connection without a word. `allow`: the port's methods. */
export function refuseConnect(socket: Socket, allow: string): void {
  if (socket.writable) socket.end(rawRefusal('method_not_allowed', 'CONNECT is not supported: this is not a proxy.', allow))
  else socket.destroy()
}

/**
 * Why a request's body cannot be read as sent, or null: a Content-Encoding (the collector
 * reads bodies as they come: a gzip body would be "not JSON", a `br` label on plain JSON
 * accepted), or a charset other than UTF-8 (the signature covers the text as UTF-8, so a
 * Latin-1 body failed as `bad_signature`). The SDK sends neither.
 */
export function bodyEncodingRefusal(request: IncomingMessage): string | null {
  const encoding = request.headers['content-encoding']
  if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') return 'Send the body without a Content-Encoding.'
  const charset = /;\s*charset\s*=\s*"?([^";\s]*)/i.exec(request.headers['content-type'] ?? '')?.[1]?.toLowerCase()
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8' && charset !== 'us-ascii') return 'Send the body in UTF-8.'
  return null
}

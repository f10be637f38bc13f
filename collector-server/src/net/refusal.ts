/**
 * Refusals made below any route, shared by the public port (app.ts) and the metrics
 * listener (metrics-listener.ts): what Node's HTTP parser rejects, and a missing Host.
 */
import { STATUS_CODES, type IncomingMessage } from 'node:http'
import { ERRORS, errorBody, type ErrorCode } from '../errors'

/** HTTP/1.1 requires a Host header (RFC 9112, 3.2); HTTP/1.0 has none to require. */
export const lacksHost = (request: IncomingMessage): boolean => request.headers.host === undefined && request.httpVersion === '1.1'
export const MISSING_HOST = 'An HTTP/1.1 request needs a Host header.'

/** The code a `clientError` from Node's parser (its `err.code`) is refused with. */
export const parserRefusalCode = (errCode: string | undefined): ErrorCode =>
  errCode === 'ERR_HTTP_REQUEST_TIMEOUT' ? 'request_timeout' : errCode === 'HPE_HEADER_OVERFLOW' ? 'headers_too_large' : 'bad_request'

/** A whole HTTP/1.1 answer, for writing straight to a socket: the envelope, and the connection closes. */
export function rawRefusal(code: ErrorCode): string {
  const body = JSON.stringify(errorBody(code, code === 'bad_request' ? 'The request is not well-formed HTTP/1.1.' : undefined))
  const status = ERRORS[code].status
  return `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`
}

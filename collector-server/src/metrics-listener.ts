/**
 * The metrics-only listener (`--metrics-port`): GET /metrics and nothing else, without a
 * token, for a scraper on a private network. One process serves its own registry; the
 * primary of `--workers` serves every worker's sum. Refusals carry the collector's error
 * envelope, as on the public port.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { REQUEST_TIMEOUT_MS } from './app'
import { hostRefusal, refuseBeforeBody, refuseConnect, refuseParserError, refuseResponse } from './net/refusal'

export interface MetricsListener {
  /** `http://host:port`, the port the system gave when asked for 0. */
  url: string
  close(): Promise<void>
}

export async function listenMetrics(options: { port: number; host: string; contentType: string; exposition: () => Promise<string> }): Promise<MetricsListener> {
  const server = createServer({ requireHostHeader: false, requestTimeout: REQUEST_TIMEOUT_MS }, (req: IncomingMessage, res: ServerResponse) => {
    // Node's own refusal of a missing Host is an empty 400.
    const badHost = hostRefusal(req)
    if (badHost) return refuseResponse(res, 'bad_request', badHost, { connection: 'close' })
    if ((req.url ?? '').split('?')[0] !== '/metrics') return refuseResponse(res, 'not_found', 'This listener serves GET /metrics only.')
    if (req.method !== 'GET' && req.method !== 'HEAD') return refuseResponse(res, 'method_not_allowed', undefined, { allow: 'GET, HEAD' })
    options.exposition().then(
      (text) => {
        res.writeHead(200, { 'content-type': options.contentType, 'cache-control': 'no-store', 'content-length': String(Buffer.byteLength(text)) })
        res.end(req.method === 'HEAD' ? undefined : text)
      },
      (err: unknown) => refuseResponse(res, 'metrics_unavailable', err instanceof Error ? err.message : undefined),
    )
  })
  // What Node's parser refuses (malformed framing, oversized headers, a request still
  // arriving after the timeout) gets the envelope too, where Node would send an empty 400.
  // A scrape pipelined before the bad bytes is answered first, as on the public port.
  server.on('clientError', (err: Error & { code?: string }, socket: Socket) => void refuseParserError(socket, err, REQUEST_TIMEOUT_MS))
  server.on('checkExpectation', (_req: IncomingMessage, res: ServerResponse) => refuseBeforeBody(res, 'expectation_failed'))
  server.on('connect', (_req: IncomingMessage, socket: Socket) => refuseConnect(socket, 'GET, HEAD'))
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, options.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : options.port
  return {
    url: `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeIdleConnections()
      }),
  }
}

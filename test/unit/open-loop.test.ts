/**
 * The load generator's HTTP client (bench/open-loop.ts Connections): what the soak and the
 * collect bench count as answered, failed or timed out must be what the server did.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { Connections, IDLE_MS } from '../../bench/open-loop'

let server: Server | null = null
let connections: Connections | null = null
/** The server's side of every connection it accepted, in order. */
let accepted: Socket[] = []
afterEach(async () => {
  connections?.close()
  connections = null
  await new Promise((r) => (server ? server.close(r) : r(undefined)))
  server = null
  accepted = []
})

/**
 * Resolves when the server's side of a connection has closed, by either end; rejects after
 * `withinMs`, so a close that only the client's idle timer (IDLE_MS) would bring fails.
 */
const closed = (socket: Socket, withinMs: number): Promise<void> =>
  new Promise((resolve, reject) => {
    if (socket.closed) return resolve()
    const timer = setTimeout(() => reject(new Error(`the connection was still open after ${withinMs} ms`)), withinMs)
    socket.once('close', () => {
      clearTimeout(timer)
      resolve()
    })
  })

/** A server whose handler may be async: its promise is the test's to settle. */
async function serve(handler: (req: IncomingMessage, res: ServerResponse) => unknown, keepAliveMs = 100): Promise<URL> {
  server = createServer((req, res) => void handler(req, res))
  server.on('connection', (socket: Socket) => accepted.push(socket))
  server.keepAliveTimeout = keepAliveMs
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r))
  return new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
}

const read = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve) => {
    let text = ''
    req.on('data', (c: Buffer) => (text += c.toString()))
    req.on('end', () => resolve(text))
  })

describe('open-loop connections', () => {
  it('sends the body and reads answers with a length, in chunks, and that close the connection', async () => {
    const url = await serve(async (req, res) => {
      const body = await read(req)
      const echo = JSON.stringify({ path: req.url, type: req.headers['content-type'], body })
      if (body.includes('chunked')) {
        res.writeHead(201, { 'content-type': 'application/json' })
        res.write(echo.slice(0, 5))
        setTimeout(() => res.end(echo.slice(5)), 10)
      } else if (body.includes('close')) res.writeHead(503, { connection: 'close', 'content-length': Buffer.byteLength(echo) }).end(echo)
      else res.writeHead(200, { 'content-length': Buffer.byteLength(echo) }).end(echo)
    })
    connections = new Connections(url)
    const big = 'é'.repeat(20_000) // several TCP segments, and UTF-8 of more bytes than characters
    const answers = await Promise.all(['{"a":1}', JSON.stringify({ big }), '"chunked"', '"close"', '{"a":2}'].map((b) => connections!.post('/v1/collect', b)))
    expect(answers.map((a) => a.status)).toEqual([200, 200, 201, 503, 200])
    expect(answers.map((a) => JSON.parse(a.text) as unknown)).toEqual(
      ['{"a":1}', JSON.stringify({ big }), '"chunked"', '"close"', '{"a":2}'].map((body) => ({ path: '/v1/collect', type: 'application/json', body })),
    )
    // Keep-alive: later requests reuse the open connections.
    const again = await Promise.all(Array.from({ length: 20 }, () => connections!.post('/x', '{}')))
    expect(again.every((a) => a.status === 200)).toBe(true)
  })

  it('opens a new connection after the server closed an idle one', async () => {
    const url = await serve(async (req, res) => {
      await read(req)
      res.writeHead(200, { 'content-length': 2 }).end('ok')
    })
    connections = new Connections(url)
    expect((await connections.post('/', '{}')).text).toBe('ok')
    await closed(accepted[0]!, 10_000) // the server's keep-alive timeout closed it (Node 20 closes an idle one about a second late)
    expect((await connections.post('/', '{}')).text).toBe('ok')
    expect(accepted).toHaveLength(2)
  })

  it('drops a connection that sends bytes nobody asked for, and rejects what is in flight or queued when closed', async () => {
    let neverArrived: () => void = () => undefined
    const never = new Promise<void>((r) => (neverArrived = r))
    const url = await serve(async (req, res) => {
      await read(req)
      if (req.url === '/chatty') {
        res.writeHead(200, { 'content-length': 2 }).end('ok')
        setTimeout(() => req.socket.write('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n'), 20)
      } else if (req.url === '/never') neverArrived()
      else res.writeHead(200, { 'content-length': 2 }).end('ok')
    }, 60_000)
    connections = new Connections(url)
    expect((await connections.post('/chatty', '{}')).text).toBe('ok')
    // The client hangs up on the unasked-for answer; the server would keep the connection a minute.
    await closed(accepted[0]!, IDLE_MS / 2)
    expect((await connections.post('/', '{}')).text).toBe('ok')
    expect(accepted).toHaveLength(2)
    const inFlight = connections.post('/never', '{}')
    await never // the server has the request: it is in flight
    connections.close()
    await expect(inFlight).rejects.toMatchObject({ code: 'ECONNABORTED' })
    await expect(connections.post('/', '{}')).rejects.toMatchObject({ code: 'ECONNABORTED' })
  })

  it('rejects what is not answered in time as a timeout, and a reset as a transport error', async () => {
    const url = await serve((req, res) => {
      if (req.url === '/reset') req.socket.destroy()
      else void read(req) // never answers
      void res
    })
    connections = new Connections(url, 300)
    await expect(connections.post('/slow', '{}')).rejects.toMatchObject({ name: 'TimeoutError' })
    await expect(connections.post('/reset', '{}')).rejects.toMatchObject({ code: 'ECONNRESET' })
  })
})

/**
 * What Node's HTTP parser refuses before Fastify routes a request: malformed framing,
 * oversized headers, a request that never finishes arriving. Each gets the collector's
 * error envelope and is counted, and a stalled request does not hold its connection.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { connect } from 'node:net'
import { spawn } from 'node:child_process'
import type { AddressInfo, Socket } from 'node:net'
import type { Server } from 'node:http'
import { makeTestApp, type TestApp } from '../../test/support/app'
import { ERRORS } from '../src/errors'
import Fastify from 'fastify'
import { clientTimeouts, refuseClientError, REQUEST_TIMEOUT_MS } from '../src/app'
import { createMetrics } from '../src/metrics'
import { TestDevice } from '../../test/support/device'
import { LINGER_IDLE_MS } from '../src/net/linger'
import { MAX_COLLECT_BYTES } from '@vigil-risk/core/protocol/payload'

let t: TestApp | null = null
afterEach(async () => {
  await t?.close()
  t = null
})

async function listening(requestTimeoutMs?: number): Promise<{ t: TestApp; port: number }> {
  t = await makeTestApp(requestTimeoutMs === undefined ? {} : { requestTimeoutMs })
  await t.app.listen({ port: 0, host: '127.0.0.1' })
  return { t, port: (t.app.server.address() as AddressInfo).port }
}

/**
 * Sends raw bytes, each string of `more` as its own write once the one before has gone out,
 * and resolves with everything the server sent until the connection closed. Writes the
 * server no longer reads (it closed) fail quietly; a connection that fails before any answer
 * rejects.
 */
function exchange(port: number, bytes: string, ...more: string[]): Promise<{ text: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const start = performance.now()
    const socket = connect(port, '127.0.0.1')
    let text = ''
    socket.on('data', (c: Buffer) => (text += c.toString('latin1')))
    socket.on('error', (err) => (text === '' ? reject(err) : undefined))
    socket.on('close', () => resolve({ text, ms: performance.now() - start }))
    const send = (chunks: string[]): void => {
      if (chunks.length > 0 && !socket.destroyed) socket.write(chunks[0]!, () => setTimeout(() => send(chunks.slice(1)), 20))
    }
    send([bytes, ...more])
  })
}

/** Each answer in a raw HTTP/1.1 stream of answers with a content-length. */
function answers(raw: string): Array<ReturnType<typeof answer>> {
  const out = []
  while (raw.startsWith('HTTP/1.1 ')) {
    const end = raw.indexOf('\r\n\r\n') + 4
    const length = Number(/content-length: (\d+)/i.exec(raw.slice(0, end))![1])
    out.push(answer(raw.slice(0, end + length)))
    raw = raw.slice(end + length)
  }
  expect(raw).toBe('') // nothing half-written, nothing interleaved
  return out
}

const collectRequest = (body: string): string =>
  `POST /v1/collect HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
const unparsed = async (t: TestApp): Promise<string[]> => (await t.metrics()).split('\n').filter((l) => l.startsWith('vigil_http_requests_total{route="unparsed"'))

function answer(raw: string): { status: number; headers: string; body: unknown } {
  const end = raw.indexOf('\r\n\r\n')
  return { status: Number(raw.slice(9, 12)), headers: raw.slice(0, end).toLowerCase(), body: JSON.parse(raw.slice(end + 4)) as unknown }
}

describe('requests the HTTP parser refuses', () => {
  it('malformed framing: 400 bad_request in the envelope, counted, connection closed', async () => {
    const { t, port } = await listening()
    const { text } = await exchange(port, 'POST /v1/collect HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n')
    const a = answer(text)
    expect(a.status).toBe(400)
    expect(a.headers).toContain('content-type: application/json')
    expect(a.body).toEqual({ error: { code: 'bad_request', message: 'The request is not well-formed HTTP/1.1.' } })
    expect(await t.metrics()).toContain('vigil_http_requests_total{route="unparsed",method="",status="400"} 1')
  })

  it('whole requests pipelined before malformed bytes are answered first, in order, then one 400', async () => {
    const { t, port } = await listening()
    const first = collectRequest(JSON.stringify(new TestDevice().body(await t.challenge())))
    const second = collectRequest(JSON.stringify(new TestDevice().body(await t.challenge())))
    const { text } = await exchange(port, `${first}${second}GARBAGE / HTTP/1.1\r\n\r\n`)
    const [a, b, refusal, ...rest] = answers(text)
    expect([a?.status, b?.status]).toEqual([200, 200])
    expect(typeof (a?.body as { token?: unknown }).token).toBe('string')
    expect(typeof (b?.body as { token?: unknown }).token).toBe('string')
    expect(refusal).toMatchObject({ status: 400, body: { error: { code: 'bad_request' } } })
    expect(rest).toEqual([])
    expect(await unparsed(t)).toEqual(['vigil_http_requests_total{route="unparsed",method="",status="400"} 1'])
  })

  it('two slow answers pipelined before bad bytes both go out, then one 400 however many bytes follow', async () => {
    // A failed parser reports its error again for every later chunk; Node reads them while answers are pending.
    // The first answer's end finds the second one going out: the refusal waits for that one too.
    const metrics = createMetrics({ defaultMetrics: false })
    const app = Fastify({ clientErrorHandler: refuseClientError(metrics, 5_000) })
    app.get('/slow', async () => {
      await new Promise((r) => setTimeout(r, 300))
      return { ok: true }
    })
    await app.listen({ port: 0, host: '127.0.0.1' })
    try {
      const port = (app.server.address() as AddressInfo).port
      const { text } = await exchange(port, 'GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /slow HTTP/1.1\r\nHost: x\r\n\r\nGARBAGE / HTTP/1.1\r\n\r\n', 'more', 'and more', 'and more again')
      expect(answers(text).map((a) => [a.status, a.body])).toEqual([
        [200, { ok: true }],
        [200, { ok: true }],
        [400, { error: { code: 'bad_request', message: 'The request is not well-formed HTTP/1.1.' } }],
      ])
      expect((await metrics.registry.metrics()).split('\n').filter((l) => l.includes('route="unparsed"'))).toEqual(['vigil_http_requests_total{route="unparsed",method="",status="400"} 1'])
    } finally {
      await app.close()
    }
  })

  it('an Expect other than 100-continue: 417 expectation_failed in the envelope, counted', async () => {
    const { t, port } = await listening()
    const { text } = await exchange(port, 'POST /v1/collect HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}')
    expect(answers(text).map((a) => [a.status, a.body])).toEqual([[417, { error: { code: 'expectation_failed', message: ERRORS.expectation_failed.message } }]])
    expect(await unparsed(t)).toEqual(['vigil_http_requests_total{route="unparsed",method="",status="417"} 1'])
  })

  it('Expect: 100-continue: a length over the limit is refused before the client uploads; a fitting one continues', async () => {
    const { t, port } = await listening()
    const tooLong = await exchange(port, `POST /v1/collect HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Type: application/json\r\nContent-Length: ${MAX_COLLECT_BYTES + 1}\r\n\r\n`)
    expect(tooLong.text).not.toContain('100 Continue')
    expect(answers(tooLong.text).map((a) => [a.status, a.body])).toEqual([[413, { error: { code: 'payload_too_large', message: ERRORS.payload_too_large.message } }]])
    expect(await unparsed(t)).toEqual(['vigil_http_requests_total{route="unparsed",method="",status="413"} 1'])
    const body = JSON.stringify(new TestDevice().body(await t.challenge()))
    const fits = await exchange(port, `POST /v1/collect HTTP/1.1\r\nHost: x\r\nConnection: close\r\nExpect: 100-continue\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`, body)
    expect(fits.text.startsWith('HTTP/1.1 100 Continue\r\n\r\n')).toBe(true)
    const [collected] = answers(fits.text.slice('HTTP/1.1 100 Continue\r\n\r\n'.length))
    expect(collected?.status).toBe(200)
  })

  it('CONNECT: 405 method_not_allowed in the envelope, counted, where Node closed without a word', async () => {
    const { t, port } = await listening()
    const { text } = await exchange(port, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n')
    expect(answers(text).map((a) => [a.status, a.body])).toEqual([[405, { error: { code: 'method_not_allowed', message: 'CONNECT is not supported: this is not a proxy.' } }]])
    expect(text).toMatch(/\r\nallow: GET, HEAD, OPTIONS, POST\r\n/)
    expect(await unparsed(t)).toEqual(['vigil_http_requests_total{route="unparsed",method="",status="405"} 1'])
  })

  it('a connection that sends nothing is closed at the timeout without an answer or a count', async () => {
    const { t, port } = await listening(400)
    const { text, ms } = await exchange(port, '')
    expect(text).toBe('')
    expect(ms).toBeGreaterThanOrEqual(400)
    expect(await unparsed(t)).toEqual([])
  })

  it('an HTTP/1.1 request without a Host header: 400 bad_request in the envelope; HTTP/1.0 needs none', async () => {
    const { port } = await listening()
    const { text } = await exchange(port, 'GET /healthz HTTP/1.1\r\n\r\n')
    expect(answers(text).map((a) => [a.status, a.body])).toEqual([[400, { error: { code: 'bad_request', message: 'An HTTP/1.1 request needs a Host header.' } }]])
    const old = await exchange(port, 'GET /healthz HTTP/1.0\r\n\r\n')
    expect(answer(old.text).status).toBe(200)
  })

  it('two Host headers, or one that is not a host: 400 bad_request (RFC 9112, 3.2); ports, IP literals and an empty Host pass', async () => {
    const { port } = await listening()
    const refused = async (hosts: string[]): Promise<unknown> => {
      const { text } = await exchange(port, `GET /healthz HTTP/1.1\r\nConnection: close\r\n${hosts.map((h) => `Host: ${h}\r\n`).join('')}\r\n`)
      const a = answer(text)
      return a.status === 200 ? 200 : [a.status, (a.body as { error: { message: string } }).error.message]
    }
    expect(await refused(['a.example', 'b.example'])).toEqual([400, 'A request carries one Host header, not several.'])
    for (const bad of ['a b', '[', 'a.example:80x', 'a/b', 'a@b']) expect(await refused([bad]), bad).toEqual([400, 'The Host header is not a host name or address.'])
    for (const good of ['shop.example', 'shop.example:8080', '127.0.0.1:80', '[::1]:8080', 'under_score.local', '']) expect(await refused([good]), good).toBe(200)
  })

  it('headers over 16 KiB: 431 headers_too_large', async () => {
    const { port } = await listening()
    const { text } = await exchange(port, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(20_000)}\r\n\r\n`)
    expect(answer(text)).toMatchObject({ status: 431, body: { error: { code: 'headers_too_large', message: ERRORS.headers_too_large.message } } })
  })

  it('a body that stops arriving: 408 request_timeout, and the connection is closed', async () => {
    const { port } = await listening(400)
    // Headers promise 2,000 bytes; 50 come.
    const { text, ms } = await exchange(port, `POST /v1/collect HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2000\r\n\r\n{"payload":${'1'.repeat(38)}`)
    expect(answer(text)).toMatchObject({ status: 408, body: { error: { code: 'request_timeout' } } })
    expect(ms).toBeGreaterThanOrEqual(400)
    expect(ms).toBeLessThan(10_000)
  })

  it('a request that arrives in time is not cut off by the timeout; by default a request has 30 s', async () => {
    expect(() => clientTimeouts(0)).toThrow(TypeError)
    const defaults = await listening()
    expect([defaults.t.app.server.requestTimeout, defaults.t.app.server.headersTimeout]).toEqual([REQUEST_TIMEOUT_MS, REQUEST_TIMEOUT_MS])
    await defaults.t.close()
    t = null
    const { port } = await listening(400)
    const { text } = await exchange(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    expect(answer(text).status).toBe(200)
  })
})

/**
 * The client of writeWholeThenRead, in a process of its own: in this one, the server could
 * not answer while the client's write was under way, and no reset would ever race the answer.
 */
const WRITE_WHOLE_CLIENT = `
const { connect } = require('node:net')
const [port, head, bodyBytes, trickleMs] = JSON.parse(process.argv[1])
const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true })
let text = ''
let error = null
socket.on('data', (c) => (text += c.toString('latin1')))
socket.on('error', (err) => (error = err.code || err.message))
socket.write(head)
socket.write(Buffer.alloc(bodyBytes, 'x'), () => {
  if (trickleMs) setInterval(() => socket.writable && socket.write('x'.repeat(100)), trickleMs).unref()
})
// A half-closed socket that is not reading keeps no process alive: this waits for the parent.
setInterval(() => {}, 1_000)
process.on('SIGTERM', () => process.exit(0))
process.on('exit', () => require('node:fs').writeSync(1, JSON.stringify({ text, error })))
`

/**
 * Writes a request's head and `bodyBytes` of body, all of it, before reading anything (as
 * Node's own client, Python's urllib and many scripts do), then collects the answer. The
 * client keeps its own side open after the server's FIN (`trickleMs`: and goes on writing),
 * so only the server closes the connection; `ms` is when it did, from the server's side.
 * Writes the server no longer reads are recorded, not thrown.
 */
async function writeWholeThenRead(server: Server, head: string, bodyBytes: number, options: { trickleMs?: number } = {}): Promise<{ text: string; error: string | null; ms: number }> {
  const start = performance.now()
  const closed = new Promise<number>((resolve) => server.once('connection', (s: Socket) => s.once('close', () => resolve(performance.now() - start))))
  const client = spawn(process.execPath, ['-e', WRITE_WHOLE_CLIENT, JSON.stringify([(server.address() as AddressInfo).port, head, bodyBytes, options.trickleMs ?? 0])], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  client.stdout.on('data', (c: Buffer) => (out += c.toString()))
  const exited = new Promise((r) => client.once('exit', r))
  const ms = await closed
  // What reached the client, once anything in flight has.
  await new Promise((r) => setTimeout(r, 100))
  client.kill('SIGTERM')
  await exited
  return { ...(JSON.parse(out) as { text: string; error: string | null }), ms }
}

describe('an answer before the body has arrived (lingering close)', () => {
  const MiB = 1 << 20
  const head = (path: string, length: number, close: boolean): string =>
    `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n${close ? 'Connection: close\r\n' : ''}\r\n`

  it.each([
    ['/v1/collect', false],
    ['/v1/collect', true],
    ['/v1/siteverify', false],
    ['/v1/siteverify', true],
  ])('a body over the limit on %s (client asks to close: %s), written whole before reading: the 413 arrives, no reset', async (path, close) => {
    const { t } = await listening()
    // Without the lingering close, each of these met EPIPE and read nothing.
    for (let i = 0; i < 3; i++) {
      const { text, error, ms } = await writeWholeThenRead(t.app.server, head(path, MiB, close), MiB)
      expect(error).toBeNull()
      expect(answers(text).map((a) => [a.status, a.body])).toEqual([[413, { error: { code: 'payload_too_large', message: ERRORS.payload_too_large.message } }]])
      // Closed once the body had all arrived, not at a timeout.
      expect(ms).toBeLessThan(LINGER_IDLE_MS)
    }
  })

  it('a client that stops sending after the 413 is closed once it has been silent for a while', async () => {
    const { t } = await listening()
    const { text, ms } = await writeWholeThenRead(t.app.server, head('/v1/siteverify', 100 * MiB, false), 1_000)
    expect(answer(text).status).toBe(413)
    expect(ms).toBeGreaterThanOrEqual(LINGER_IDLE_MS)
    expect(ms).toBeLessThan(3 * LINGER_IDLE_MS)
  }, 15_000)

  it('a lingering connection does not hold up stopping the server', async () => {
    const { t: app } = await listening()
    const port = (app.app.server.address() as AddressInfo).port
    // The 413 has gone out on the connection: it lingers from then on.
    const answered = new Promise<void>((resolve) =>
      app.app.server.once('connection', (socket: Socket) => {
        const watch = setInterval(() => socket.bytesWritten > 0 && (clearInterval(watch), resolve()), 10)
      }),
    )
    const client = spawn(process.execPath, ['-e', WRITE_WHOLE_CLIENT, JSON.stringify([port, head('/v1/siteverify', 100 * MiB, false), 1_000, 50])], { stdio: ['ignore', 'pipe', 'inherit'] })
    try {
      await answered
      const start = performance.now()
      await app.close()
      t = null
      // Without closing lingering connections first, this waited for the trickle to stop: 30 s.
      expect(performance.now() - start).toBeLessThan(LINGER_IDLE_MS)
    } finally {
      client.kill('SIGTERM')
    }
  })

  it('a client that goes on trickling a huge body is closed at the request timeout, refused once', async () => {
    const { t } = await listening(1_000)
    const { text, ms } = await writeWholeThenRead(t.app.server, head('/v1/siteverify', 100 * MiB, false), 1_000, { trickleMs: 50 })
    expect(answer(text).status).toBe(413)
    expect(ms).toBeGreaterThanOrEqual(1_000)
    expect(ms).toBeLessThan(1_000 + 2 * LINGER_IDLE_MS)
    // Node's request timeout ends the lingering: not a second refusal (a 408) of an answered request.
    expect(await unparsed(t)).toEqual([])
  }, 15_000)

  it('a request behind one in flight when the collector stops: 503 shutting_down in the envelope, then the connection closes', async () => {
    const { t: app, port } = await listening()
    const body = '{"siteKey":"demo","failures":[]}'
    const socket = connect(port, '127.0.0.1')
    let text = ''
    socket.on('data', (c: Buffer) => (text += c.toString('latin1')))
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()))
    await new Promise<void>((resolve) => socket.on('connect', () => resolve()))
    // The first request's head and half its body: it is in flight when the stop begins.
    socket.write(`POST /v1/telemetry HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 5)}`)
    await new Promise((r) => setTimeout(r, 100))
    const stopped = app.close()
    t = null
    await new Promise((r) => setTimeout(r, 100))
    socket.write(`${body.slice(5)}GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n`)
    await closed
    await stopped
    const [first, second, ...rest] = answers(text)
    expect(first?.status).not.toBe(503)
    expect(second).toMatchObject({ status: 503, body: { error: { code: 'shutting_down', message: ERRORS.shutting_down.message } } })
    expect(second?.headers).toContain('connection: close')
    expect(rest).toEqual([])
  })

  it('a collect pipelined behind a refused body is not run: its answer could not go out', async () => {
    const { t, port } = await listening()
    const collect = JSON.stringify(new TestDevice().body(await t.challenge()))
    const body = 'x'.repeat(200_000)
    const { text } = await exchange(port, `${head('/v1/siteverify', body.length, false)}${body}${collectRequest(collect)}`)
    expect(answers(text).map((a) => a.status)).toEqual([413])
    // Had it run, its event would be stored and its challenge spent: the retry would be `replayed`.
    const retry = await t.app.inject({ method: 'POST', url: '/v1/collect', payload: collect, headers: { 'content-type': 'application/json' } })
    expect(retry.statusCode).toBe(200)
    expect(await unparsed(t)).toEqual([])
  })
})

/**
 * What Node's HTTP parser refuses before Fastify routes a request: malformed framing,
 * oversized headers, a request that never finishes arriving. Each gets the collector's
 * error envelope and is counted, and a stalled request does not hold its connection.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { connect } from 'node:net'
import type { AddressInfo } from 'node:net'
import { makeTestApp, type TestApp } from '../../test/support/app'
import { ERRORS } from '../src/errors'
import { TestDevice } from '../../test/support/device'

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

/** Sends raw bytes (all at once, or `then` after a pause) and resolves with everything the server sent until it closed. */
function exchange(port: number, bytes: string): Promise<{ text: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const start = performance.now()
    const socket = connect(port, '127.0.0.1')
    let text = ''
    socket.on('data', (c: Buffer) => (text += c.toString('latin1')))
    socket.on('error', reject)
    socket.on('close', () => resolve({ text, ms: performance.now() - start }))
    socket.write(bytes)
  })
}

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

  it('a whole collect pipelined before malformed bytes is answered first, then the 400', async () => {
    const { t, port } = await listening()
    const body = JSON.stringify(new TestDevice().body(await t.challenge()))
    const collect = `POST /v1/collect HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
    const { text } = await exchange(port, `${collect}GARBAGE / HTTP/1.1\r\n\r\n`)
    const second = text.indexOf('HTTP/1.1 400')
    expect(second).toBeGreaterThan(0)
    const first = answer(text.slice(0, second))
    expect(first.status).toBe(200)
    expect(typeof (first.body as { token?: unknown }).token).toBe('string')
    expect(answer(text.slice(second))).toMatchObject({ status: 400, body: { error: { code: 'bad_request' } } })
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

  it('a request that arrives in time is not cut off by the timeout', async () => {
    const { port } = await listening(400)
    const { text } = await exchange(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    expect(answer(text).status).toBe(200)
  })
})

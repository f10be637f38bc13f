/**
 * The metrics-only listener (`--metrics-port`): GET /metrics, and every refusal in the
 * collector's error envelope, including those Node's HTTP parser makes.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { connect } from 'node:net'
import { listenMetrics, type MetricsListener } from '../src/metrics-listener'
import { ERRORS } from '../src/errors'

let listener: MetricsListener | null = null
afterEach(async () => {
  await listener?.close()
  listener = null
})

async function start(exposition: () => Promise<string> = () => Promise.resolve('# HELP up 1\nup 1\n')): Promise<MetricsListener> {
  listener = await listenMetrics({ port: 0, host: '127.0.0.1', contentType: 'text/plain; version=0.0.4; charset=utf-8', exposition })
  return listener
}

/** Sends raw bytes and resolves with the status line's code, the headers and the body of the one answer. */
function raw(url: string, bytes: string): Promise<{ status: number; headers: string; body: string }> {
  const { port } = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1')
    let text = ''
    socket.on('data', (c: Buffer) => (text += c.toString('latin1')))
    socket.on('error', reject)
    socket.on('close', () => {
      const end = text.indexOf('\r\n\r\n')
      resolve({ status: Number(text.slice(9, 12)), headers: text.slice(0, end).toLowerCase(), body: text.slice(end + 4) })
    })
    socket.end(bytes)
  })
}

describe('the metrics listener', () => {
  it('serves GET and HEAD /metrics, not cached', async () => {
    const { url } = await start()
    const res = await fetch(`${url}/metrics`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8')
    expect(res.headers.get('cache-control')).toBe('no-store')
    expect(await res.text()).toBe('# HELP up 1\nup 1\n')
    const head = await fetch(`${url}/metrics`, { method: 'HEAD' })
    expect([head.status, await head.text()]).toEqual([200, ''])
  })

  it('refuses other paths and methods with a typed error', async () => {
    const { url } = await start()
    const other = await fetch(`${url}/v1/collect`)
    expect([other.status, await other.json()]).toEqual([404, { error: { code: 'not_found', message: 'This listener serves GET /metrics only.' } }])
    const post = await fetch(`${url}/metrics`, { method: 'POST', body: '{}' })
    expect(post.headers.get('allow')).toBe('GET, HEAD')
    expect([post.status, await post.json()]).toEqual([405, { error: { code: 'method_not_allowed', message: ERRORS.method_not_allowed.message } }])
  })

  it('an HTTP/1.1 request without a Host header: 400 bad_request in the envelope; HTTP/1.0 needs none', async () => {
    const { url } = await start()
    const missing = await raw(url, 'GET /metrics HTTP/1.1\r\n\r\n')
    expect(missing.status).toBe(400)
    expect(JSON.parse(missing.body)).toEqual({ error: { code: 'bad_request', message: 'An HTTP/1.1 request needs a Host header.' } })
    const old = await raw(url, 'GET /metrics HTTP/1.0\r\n\r\n')
    expect([old.status, old.body]).toEqual([200, '# HELP up 1\nup 1\n'])
  })

  it("what Node's parser refuses gets the envelope, not an empty 400", async () => {
    const { url } = await start()
    const malformed = await raw(url, 'GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n')
    expect(malformed.status).toBe(400)
    expect(malformed.headers).toContain('content-type: application/json')
    expect(JSON.parse(malformed.body)).toEqual({ error: { code: 'bad_request', message: 'The request is not well-formed HTTP/1.1.' } })
    const big = await raw(url, `GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(20_000)}\r\n\r\n`)
    expect([big.status, JSON.parse(big.body)]).toEqual([431, { error: { code: 'headers_too_large', message: ERRORS.headers_too_large.message } }])
  })

  it('a scrape pipelined before bad bytes is answered first, then one 400', async () => {
    const { url } = await start()
    const { status, body } = await raw(url, 'GET /metrics HTTP/1.1\r\nHost: x\r\n\r\nGARBAGE / HTTP/1.1\r\n\r\n')
    expect(status).toBe(200)
    // The refusal follows the scrape's 17 bytes on the same connection.
    expect(body.slice(0, 17)).toBe('# HELP up 1\nup 1\n')
    const refusal = body.slice(17)
    expect(refusal.slice(0, 12)).toBe('HTTP/1.1 400')
    expect(JSON.parse(refusal.slice(refusal.indexOf('\r\n\r\n') + 4))).toEqual({ error: { code: 'bad_request', message: 'The request is not well-formed HTTP/1.1.' } })
  })

  it('an Expect other than 100-continue, and CONNECT: typed refusals, not an empty 417 or a silent close', async () => {
    const { url } = await start()
    const expect417 = await raw(url, 'GET /metrics HTTP/1.1\r\nHost: x\r\nExpect: foo\r\n\r\n')
    expect([expect417.status, JSON.parse(expect417.body)]).toEqual([417, { error: { code: 'expectation_failed', message: ERRORS.expectation_failed.message } }])
    const tunnel = await raw(url, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n')
    expect([tunnel.status, JSON.parse(tunnel.body)]).toEqual([405, { error: { code: 'method_not_allowed', message: 'CONNECT is not supported: this is not a proxy.' } }])
    expect(tunnel.headers).toContain('\r\nallow: get, head\r\n')
  })

  it('figures that cannot be gathered: 503 metrics_unavailable', async () => {
    const { url } = await start(() => Promise.reject(new Error('no worker answers metrics yet')))
    const res = await fetch(`${url}/metrics`)
    expect([res.status, await res.json()]).toEqual([503, { error: { code: 'metrics_unavailable', message: 'no worker answers metrics yet' } }])
  })
})

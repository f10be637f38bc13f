/**
 * A page on its own loopback origin that embeds the SDK from the collector, asks for a
 * token by itself (no automation needed to drive it) and reports the token back here.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface SelfPage {
  url: string
  nextToken(timeoutMs?: number): Promise<string>
  close(): Promise<void>
}

export async function startSelfPage(collectorUrl: string, action = 'checkout'): Promise<SelfPage> {
  const tokens: string[] = []
  const waiters: Array<(token: string) => void> = []
  const page = `<!doctype html><html><head><meta charset="utf-8"><title>self test</title>
<script src="${collectorUrl}/sdk/vigil.min.js"></script></head><body><p>Loading…</p><script>
const vigil = Vigil.init({ endpoint: ${JSON.stringify(collectorUrl)}, siteKey: 'demo' })
setTimeout(async () => {
  let body
  try { body = JSON.stringify({ token: await vigil.getToken(${JSON.stringify(action)}) }) }
  catch (err) { body = JSON.stringify({ error: err.code || String(err) }) }
  await fetch('/report', { method: 'POST', body })
  document.body.textContent = 'reported'
}, 2500)
</script></body></html>`
  const server: Server = createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/report') {
      let raw = ''
      req.on('data', (c: Buffer) => (raw += c.toString()))
      req.on('end', () => {
        const { token, error } = JSON.parse(raw) as { token?: string; error?: string }
        res.end('ok')
        const value = token ?? `error:${error}`
        const waiter = waiters.shift()
        if (waiter) waiter(value)
        else tokens.push(value)
      })
      return
    }
    res.setHeader('content-type', 'text/html; charset=utf-8')
    res.end(page)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/`,
    nextToken(timeoutMs = 30_000) {
      const ready = tokens.shift()
      if (ready) return Promise.resolve(ready)
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no token reported in time')), timeoutMs)
        waiters.push((t) => {
          clearTimeout(timer)
          resolve(t)
        })
      })
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}

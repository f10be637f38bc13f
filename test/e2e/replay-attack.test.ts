/**
 * The attack an allow must withstand: record one genuine collect from a clean Chromium (no
 * automation attached, real X input from xdotool) through a proxy of our own, then mint
 * payloads from Node alone: for each request a fresh challenge, the captured payload copied
 * onto it, re-signed with a fresh (or one reused) device key, posted with Node's headers or
 * the browser's. At most 5% of 40 checkout requests may be allowed, per variant. The
 * person's own token is allowed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http'
import { readFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import type { CollectBody, CollectPayload } from '@vigil-risk/core/protocol/schema'
import type { TraceEvent } from '@vigil-risk/core/protocol/trace'
import { DEMO_SITE } from '../../collector-server/src/config/sites'
import { spawnPlainChromium, type PlainChromium } from '../support/browser'
import { startTestCollector, type TestCollector } from '../support/collector'
import { TestDevice } from '../support/device'
import { solvePow } from '../support/proof'
import { startXvfb, type Display } from '../support/xvfb'

let collector: TestCollector
let display: Display
let capture: Capture

interface Captured {
  body: CollectBody
  headers: Record<string, string>
  token: string
}

interface Capture {
  page: Server
  proxy: Server
  pageUrl: string
  /** Resolves, once the SDK has its signals, to where the page's content starts on the screen. */
  ready: Promise<{ dx: number; dy: number }>
  captured: Promise<Captured>
}

const listen = async (server: Server): Promise<string> => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

/** A shop page on its own origin, and a proxy of our own between it and the collector that keeps the collect. */
async function startCapture(collectorUrl: string): Promise<Capture> {
  let onReady!: (offset: { dx: number; dy: number }) => void
  let onCaptured!: (c: Captured) => void
  const ready = new Promise<{ dx: number; dy: number }>((r) => (onReady = r))
  const captured = new Promise<Captured>((r) => (onCaptured = r))
  let collect: { body: CollectBody; headers: Record<string, string> } | undefined
  const upstream = new URL(collectorUrl)
  const proxy = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      if (req.url === '/v1/collect' && req.method === 'POST') collect = { body: JSON.parse(body.toString()) as CollectBody, headers: browserHeaders(req.headers) }
      const out = httpRequest({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers)
        up.pipe(res)
      })
      out.end(body)
    })
  })
  const proxyUrl = await listen(proxy)
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>shop</title>
<script src="${collectorUrl}/sdk/vigil.min.js"></script></head>
<body style="margin:0;background:#fff"><button id="buy" style="position:absolute;left:560px;top:420px;width:200px;height:64px">Buy</button><script>
const vigil = Vigil.init({ endpoint: ${JSON.stringify(proxyUrl)}, siteKey: 'demo' })
const ping = setInterval(() => {
  if (!performance.getEntriesByName('vigil:signals').length) return
  clearInterval(ping)
  fetch('/ready', { method: 'POST', body: JSON.stringify({ dx: outerWidth - innerWidth, dy: outerHeight - innerHeight }) })
}, 100)
document.getElementById('buy').addEventListener('click', async () => {
  let body
  try { body = JSON.stringify({ token: await vigil.getToken('checkout') }) } catch (err) { body = JSON.stringify({ error: err.code || String(err) }) }
  await fetch('/report', { method: 'POST', body })
})
</script></body></html>`
  const page = createServer((req, res) => {
    if (req.method === 'POST') {
      let raw = ''
      req.on('data', (c: Buffer) => (raw += c.toString()))
      req.on('end', () => {
        res.end('ok')
        if (req.url === '/ready') onReady(JSON.parse(raw) as { dx: number; dy: number })
        else {
          const { token, error } = JSON.parse(raw) as { token?: string; error?: string }
          if (token && collect) onCaptured({ ...collect, token })
          else throw new Error(`the genuine getToken failed: ${error}`)
        }
      })
      return
    }
    res.setHeader('content-type', 'text/html; charset=utf-8')
    res.end(html)
  })
  return { page, proxy, pageUrl: await listen(page), ready, captured }
}

/** What a browser sent, minus what a transport rewrites anyway. */
function browserHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(headers)) if (typeof v === 'string' && !['host', 'content-length', 'connection'].includes(k)) out[k] = v
  return out
}

/** A person's path to the button, played as real X input: a recorded human trace, scaled onto the screen. */
function movePerson(displayName: string, to: { x: number; y: number }): void {
  const golden = readFileSync('test/fixtures/traces/golden.jsonl', 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: string; events: TraceEvent[] })
  const moves = golden.find((g) => g.id === 'delbot-human-pc1')!.events.filter((e) => e.type === 'mousemove' && e.x !== undefined)
  const last = moves[moves.length - 1]!
  const env = { ...process.env, DISPLAY: displayName }
  const args: string[] = []
  let t = moves[0]!.t
  for (const m of moves) {
    const wait = Math.max(0, Math.round(m.t - t))
    t = m.t
    if (wait > 0) args.push('sleep', (wait / 1000).toFixed(3))
    args.push('mousemove', String(Math.round(to.x - (last.x! - m.x!) * 0.6)), String(Math.round(to.y - (last.y! - m.y!) * 0.6)))
  }
  // A person's click: the button stays down for about a tenth of a second.
  args.push('sleep', '0.12', 'mousedown', '1', 'sleep', '0.094', 'mouseup', '1')
  const run = spawnSync('xdotool', args, { env, encoding: 'utf8' })
  if (run.status !== 0) throw new Error(`xdotool failed: ${run.stderr}`)
}

let chromium: PlainChromium | undefined

beforeAll(async () => {
  collector = await startTestCollector()
  display = await startXvfb(1280, 900)
  capture = await startCapture(collector.url)
  // A clean Chromium: nothing attached, a window with no browser chrome so page and screen coordinates agree.
  chromium = spawnPlainChromium(display.display, ['--window-position=0,0', '--window-size=1280,900', `--app=${capture.pageUrl}`])
  // The window's own bar sits above the page: aim at the button where the screen shows it.
  const offset = await capture.ready
  movePerson(display.display, { x: 660 + offset.dx, y: 452 + offset.dy })
}, 60_000)

afterAll(async () => {
  await chromium?.stop()
  await new Promise<void>((resolve) => capture?.page.close(() => resolve()))
  await new Promise<void>((resolve) => capture?.proxy.close(() => resolve()))
  await display?.stop()
  await collector?.close()
})

async function verdictOf(token: string): Promise<{ verdict: string; reasons: string[] }> {
  const res = await fetch(`${collector.url}/v1/siteverify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ secret: DEMO_SITE.secret, token }) })
  return (await res.json()) as { verdict: string; reasons: string[] }
}

interface Variant {
  name: string
  /** Node's own fetch headers, or the browser's, copied. */
  headers: 'node' | 'browser'
  key: 'fresh' | 'reused'
  /** Recompute the proof of work for each new challenge (an attacker who read the code). */
  solve: boolean
}

const VARIANTS: Variant[] = [
  { name: "Node's headers, a new key each time", headers: 'node', key: 'fresh', solve: false },
  { name: "the browser's headers, a new key each time", headers: 'browser', key: 'fresh', solve: false },
  { name: "the browser's headers, one key reused", headers: 'browser', key: 'reused', solve: false },
  { name: "the browser's headers, a new key each time, the work done for each challenge", headers: 'browser', key: 'fresh', solve: true },
  { name: "the browser's headers, one key reused, the work done for each challenge", headers: 'browser', key: 'reused', solve: true },
]
const REQUESTS = 40
const results: Array<{ variant: string; allow: number; review: number; deny: number; reasons: Record<string, number> }> = []

describe('replaying a captured payload without a browser', () => {
  it('the person in the clean Chromium gets allow', { timeout: 60_000 }, async () => {
    const { token, body } = await capture.captured
    const v = await verdictOf(token)
    console.log(`genuine: ${v.verdict} [${v.reasons.join(', ')}]; ${body.payload.behavior?.trace.k.length ?? 0} events recorded`)
    expect(v.verdict).toBe('allow')
    expect(body.payload.proof?.pow).toBeDefined()
  })

  it.for(VARIANTS)('$name: at most 2 of 40 checkouts (5 percent) allowed', { timeout: 120_000 }, async (variant) => {
    const { body, headers } = await capture.captured
    const captured = body.payload
    const reused = new TestDevice()
    const tally = { variant: variant.name, allow: 0, review: 0, deny: 0, reasons: {} as Record<string, number> }
    for (let i = 0; i < REQUESTS; i++) {
      const device = variant.key === 'fresh' ? new TestDevice() : reused
      const send = variant.headers === 'browser' ? { ...headers, 'content-type': 'text/plain;charset=UTF-8' } : { 'content-type': 'application/json' }
      const c = (await (await fetch(`${collector.url}/v1/challenge?siteKey=demo&device=${device.id}`, { headers: variant.headers === 'browser' ? headers : {} })).json()) as { challenge: string; difficulty: number }
      const proof = { ...captured.proof, ...(variant.solve && c.difficulty > 0 ? { pow: { n: solvePow(c.challenge, c.difficulty) } } : {}) }
      const payload: CollectPayload = { ...captured, challenge: c.challenge, ts: Date.now(), device: { ...captured.device, id: device.id, pub: device.pub }, proof }
      const res = await fetch(`${collector.url}/v1/collect`, { method: 'POST', headers: send, body: JSON.stringify({ payload, sig: device.sign(payload) }) })
      if (res.status !== 200) {
        tally.deny++
        const code = ((await res.json()) as { error: { code: string } }).error.code
        tally.reasons[`refused:${code}`] = (tally.reasons[`refused:${code}`] ?? 0) + 1
        continue
      }
      const v = await verdictOf(((await res.json()) as { token: string }).token)
      tally[v.verdict as 'allow' | 'review' | 'deny']++
      for (const r of v.reasons) tally.reasons[r] = (tally.reasons[r] ?? 0) + 1
    }
    results.push(tally)
    console.log(`${variant.name}: allow ${tally.allow}, review ${tally.review}, deny ${tally.deny}; ${JSON.stringify(tally.reasons)}`)
    expect(tally.allow).toBeLessThanOrEqual(REQUESTS * 0.05)
  })
})

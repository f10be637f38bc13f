/**
 * Modern kits with humanlike paths, in a headful Chromium under Xvfb with no viewport
 * emulation, against a person in the same Chromium:
 *  - puppeteer-real-browser (rebrowser's patched Puppeteer, chrome-launcher, and
 *    ghost-cursor's `realCursor` for every move and click);
 *  - patchright (a Playwright fork that patches the DevTools-protocol leaks: no
 *    `Runtime.enable`, isolated worlds), moving along ghost-cursor's `path()` point by point.
 * Neither may be allowed. The person is the closest this machine has: real OS-level input
 * (XTest, through `xdotool`) replaying a recorded human movement into a Chromium that no
 * automation is attached to; the person must be allowed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { path as ghostPath } from 'ghost-cursor'
import { chromium as patchright } from 'patchright-core'
import { connect as realBrowser } from 'puppeteer-real-browser'
import { CHROMIUM_FLAGS, findChromium } from '../support/browser'
import { startTestCollector, type Inspection, type TestCollector } from '../support/collector'
import { startXvfb, type Display } from '../support/xvfb'
import { parseDelbot } from '../../model/src/data'

let collector: TestCollector
let display: Display

beforeAll(async () => {
  collector = await startTestCollector()
  display = await startXvfb(1280, 900)
})
afterAll(async () => {
  await display?.stop()
  await collector?.close()
})

const hasXdotool = spawnSync('sh', ['-c', 'command -v xdotool'], { stdio: 'ignore' }).status === 0

function report(name: string, v: Inspection): void {
  console.log(`red team ${name}: ${v.verdict} (score ${v.score}) reasons=[${v.reasons.join(', ')}] behaviour=${JSON.stringify(v.behavior)}\n  ${v.detections.map((d) => `${d.code}/${d.detector}: ${d.detail}`).join('\n  ')}`)
}

interface Point {
  x: number
  y: number
}

/** A page on its own loopback origin: the SDK, two buttons; a click on "Pay" asks for a token and reports it here. */
async function startShopPage(): Promise<{ url: string; nextToken(): Promise<string>; layout(): Promise<{ offset: Point; buttons: Record<string, Point> }>; close(): Promise<void> }> {
  const tokens: Array<(t: string) => void> = []
  const layouts: Array<(l: { offset: Point; buttons: Record<string, Point> }) => void> = []
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>shop</title>
<script src="${collector.url}/sdk/vigil.min.js"></script>
<style>body{margin:0;font:16px sans-serif} button{position:absolute;width:160px;height:48px}</style></head><body>
<p style="margin:20px">A shop</p><button id="add" style="left:220px;top:420px">Add to cart</button><button id="pay" style="left:860px;top:520px">Pay</button>
<script>
const vigil = Vigil.init({ endpoint: ${JSON.stringify(collector.url)}, siteKey: 'demo' })
const centre = (id) => { const r = document.getElementById(id).getBoundingClientRect(); return { x: r.left + r.width / 2, y: r.top + r.height / 2 } }
// Once the SDK has its signals (a person would still be reading the page): where the buttons are on the screen.
const ready = () => fetch('/layout', { method: 'POST', body: JSON.stringify({ offset: { x: screenX + (outerWidth - innerWidth) / 2, y: screenY + outerHeight - innerHeight }, buttons: { add: centre('add'), pay: centre('pay') } }) })
if (performance.getEntriesByName('vigil:signals').length > 0) ready()
else new PerformanceObserver((list, observer) => { if (list.getEntriesByName('vigil:signals').length > 0) { observer.disconnect(); ready() } }).observe({ type: 'mark' })
document.getElementById('pay').addEventListener('click', async () => {
  let body
  try { body = JSON.stringify({ token: await vigil.getToken('checkout') }) } catch (err) { body = JSON.stringify({ token: 'error:' + (err.code || err) }) }
  await fetch('/report', { method: 'POST', body })
})
</script></body></html>`
  const server: Server = createServer((req, res) => {
    if (req.method === 'POST') {
      let raw = ''
      req.on('data', (c: Buffer) => (raw += c.toString()))
      req.on('end', () => {
        res.end('ok')
        if (req.url === '/report') tokens.shift()?.((JSON.parse(raw) as { token: string }).token)
        else layouts.shift()?.(JSON.parse(raw) as { offset: Point; buttons: Record<string, Point> })
      })
      return
    }
    res.setHeader('content-type', 'text/html; charset=utf-8')
    res.end(html)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  // Asked for before the navigation, so that no answer can come before its waiter.
  const token = new Promise<string>((resolve) => tokens.push(resolve))
  const layout = new Promise<{ offset: Point; buttons: Record<string, Point> }>((resolve) => layouts.push(resolve))
  return {
    url: `http://127.0.0.1:${port}/`,
    nextToken: () => token,
    layout: () => layout,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}

describe('red team, humanlike kits', () => {
  it('puppeteer-real-browser with its ghost-cursor is not allowed', async () => {
    const shop = await startShopPage()
    const { browser, page } = await realBrowser({
      headless: false,
      disableXvfb: true,
      args: [...CHROMIUM_FLAGS, '--window-size=1280,900'],
      connectOption: { defaultViewport: null },
      customConfig: { chromePath: findChromium().path, envVars: { ...process.env, DISPLAY: display.display } },
    })
    try {
      await page.goto(shop.url)
      await shop.layout()
      const cursor = (page as unknown as { realCursor: { click(selector: string): Promise<void> } }).realCursor
      await cursor.click('#add')
      await cursor.click('#pay')
      const v = await collector.inspect(await shop.nextToken())
      report('puppeteer-real-browser', v)
      expect(v.verdict).not.toBe('allow')
    } finally {
      await browser.close()
      await shop.close()
    }
  })

  it('patchright moving along ghost-cursor paths is not allowed', async () => {
    const shop = await startShopPage()
    const browser = await patchright.launch({ executablePath: findChromium().path, headless: false, args: [...CHROMIUM_FLAGS, '--window-size=1280,900'], env: { ...process.env, DISPLAY: display.display } })
    try {
      const page = await browser.newPage({ viewport: null })
      await page.goto(shop.url)
      const { buttons } = await shop.layout()
      let at: Point = { x: 640, y: 300 }
      for (const id of ['add', 'pay']) {
        for (const p of ghostPath(at, { x: buttons[id]!.x - 60, y: buttons[id]!.y - 14, width: 120, height: 28 })) await page.mouse.move(p.x, p.y)
        at = buttons[id]!
        await page.mouse.down()
        await page.mouse.up()
      }
      const v = await collector.inspect(await shop.nextToken())
      report('patchright+ghost-cursor', v)
      expect(v.verdict).not.toBe('allow')
    } finally {
      await browser.close()
      await shop.close()
    }
  })

  it.skipIf(!hasXdotool)('a person (OS-level input replaying a recorded human movement) in the same Chromium is allowed', async () => {
    const shop = await startShopPage()
    const profile = mkdtempSync(join(tmpdir(), 'vigil-person-'))
    // Its own process group, so that the renderer and GPU processes go with it at the end.
    const child = spawn(findChromium().path, [...CHROMIUM_FLAGS, `--user-data-dir=${profile}`, '--window-position=0,0', '--window-size=1280,900', shop.url], {
      env: { ...process.env, DISPLAY: display.display },
      stdio: 'ignore',
      detached: true,
    })
    try {
      const { offset, buttons } = await shop.layout()
      const screen = (p: Point): Point => ({ x: Math.round(offset.x + p.x), y: Math.round(offset.y + p.y) })
      // Recorded people (DELBOT, MIT): each gesture translated so that it ends on the next button.
      const script: string[] = []
      let clock = 0
      for (const [file, id] of [['delbot-human-pc1.txt', 'add'], ['delbot-human-pc1.txt', 'pay']] as const) {
        const moves = parseDelbot(readFileSync(`test/fixtures/traces/${file}`, 'utf8')).filter((e) => e.type === 'mousemove')
        const last = moves[moves.length - 1]!
        const target = buttons[id]!
        for (const m of moves) {
          const p = screen({ x: target.x + (m.x! - last.x!) * 0.6, y: target.y + (m.y! - last.y!) * 0.6 })
          const wait = Math.max(0, m.t - clock) / 1000
          clock = m.t
          script.push('sleep', wait.toFixed(4), 'mousemove', String(p.x), String(p.y))
        }
        clock = 0
        script.push('sleep', '0.12', 'mousedown', '1', 'sleep', '0.09', 'mouseup', '1', 'sleep', '0.6')
      }
      const xdotool = spawnSync('xdotool', script, { env: { ...process.env, DISPLAY: display.display }, encoding: 'utf8' })
      expect(xdotool.status, xdotool.stderr).toBe(0)
      const token = await shop.nextToken()
      expect(token).not.toMatch(/^error:/)
      const v = await collector.inspect(token)
      report('person (xdotool)', v)
      expect(v.reasons).not.toContain('synthetic_input')
      expect(v.reasons).not.toContain('bot_behavior')
      expect(v.verdict).toBe('allow')
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      process.kill(-child.pid!, 'SIGKILL')
      await exited
      await shop.close()
      rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 })
    }
  })
})

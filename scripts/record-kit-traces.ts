/**
 * Records what modern kits with a humanlike-path library produce in a real headful
 * Chromium (under Xvfb, no viewport emulation), through the SDK's recorder, as bot traces
 * for the classifier (model/data/kits-traces.jsonl). Every kit moves with ghost-cursor,
 * the humanlike-path library attackers use:
 *  - kit_puppeteer: puppeteer-real-browser (patched Puppeteer) and its ghost-cursor `realCursor`;
 *  - kit_playwright: Playwright's page.mouse along ghost-cursor's path() (float positions);
 *  - kit_cdp: raw DevTools-protocol Input.dispatchMouseEvent along the same paths, rounded
 *    to whole pixels and paced to the display's frames (the careful variant).
 * Each trace clicks four to eight buttons of a grid, with a think time between clicks.
 *
 *   npx tsx scripts/record-kit-traces.ts [traces per kit]
 */
import { writeFileSync } from 'node:fs'
import { recorderBundle } from '../test/support/recorder-bundle'
import { chromium, type Page } from 'playwright-core'
import { path as ghostPath } from 'ghost-cursor'
import { connect as realBrowser } from 'puppeteer-real-browser'
import { expandTrace } from '@vigil-risk/core/protocol/trace'
import type { CompactTrace } from '@vigil-risk/core/protocol/schema'
import { CHROMIUM_FLAGS, findChromium } from '../test/support/browser'
import { startXvfb } from '../test/support/xvfb'
import { Rng } from '../model/src/rng'

const COUNT = Number(process.argv[2] ?? 30)
const rng = new Rng(20261202)
const recorder = `${await recorderBundle()}; window.__rec = window.__startRecorder(window)`

/** Eight buttons, one per cell of a 4×2 grid of a 1280×800 page. */
function page(): { html: string; centres: Array<{ x: number; y: number; width: number; height: number }> } {
  const boxes = Array.from({ length: 8 }, (_, i) => {
    const width = rng.int(60, 260)
    const height = rng.int(28, 60)
    return { x: (i % 4) * 320 + rng.int(5, 315 - width), y: Math.floor(i / 4) * 400 + rng.int(60, 390 - height), width, height }
  })
  const buttons = boxes.map((b, i) => `<button id="b${i}" style="position:absolute;left:${b.x}px;top:${b.y}px;width:${b.width}px;height:${b.height}px">Buy ${i}</button>`)
  return { html: `<!doctype html><body style="margin:0;overflow:hidden">${buttons.join('')}<script>${recorder}</script></body>`, centres: boxes }
}

const think = (): number => rng.pick([100, 300, 600, 1200]) * rng.uniform(0.5, 1.5)
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
const display = await startXvfb(1280, 900)
const lines: string[] = []
const save = (family: string, n: number, trace: CompactTrace): void => {
  lines.push(JSON.stringify({ id: `${family}-${n}`, family, events: expandTrace(trace) }))
}

// Playwright and raw DevTools-protocol input share one browser.
const browser = await chromium.launch({ executablePath: findChromium().path, headless: false, args: [...CHROMIUM_FLAGS, '--window-size=1280,900'], env: { ...process.env, DISPLAY: display.display } })
for (const family of ['kit_playwright', 'kit_cdp'] as const) {
  for (let n = 0; n < COUNT; n++) {
    const p: Page = await browser.newPage({ viewport: null })
    const { html, centres } = page()
    await p.route('http://localhost:9/', (r) => r.fulfill({ contentType: 'text/html', body: html }))
    await p.goto('http://localhost:9/')
    const cdp = await p.context().newCDPSession(p)
    let at = { x: rng.uniform(100, 1100), y: rng.uniform(100, 700) }
    for (let c = rng.int(4, 8); c > 0; c--) {
      const box = rng.pick(centres)
      // Aim at a point inside the button, as ghost-cursor's own click does.
      const aim = { x: box.x + box.width * rng.uniform(0.2, 0.8), y: box.y + box.height * rng.uniform(0.2, 0.8), width: box.width, height: box.height }
      for (const point of ghostPath(at, aim)) {
        if (!Number.isFinite(point.x) || !Number.isFinite(point.y)) continue
        if (family === 'kit_playwright') await p.mouse.move(point.x, point.y)
        else {
          await cdp.send('Input.dispatchMouseEvent', { type: 'mouseMoved', x: Math.round(point.x), y: Math.round(point.y) })
          await sleep(16)
        }
        at = point
      }
      const x = Math.round(at.x)
      const y = Math.round(at.y)
      if (family === 'kit_playwright') {
        await p.mouse.down()
        await sleep(rng.uniform(40, 140))
        await p.mouse.up()
      } else {
        await cdp.send('Input.dispatchMouseEvent', { type: 'mousePressed', x, y, button: 'left', clickCount: 1 })
        await sleep(rng.uniform(40, 140))
        await cdp.send('Input.dispatchMouseEvent', { type: 'mouseReleased', x, y, button: 'left', clickCount: 1 })
      }
      await sleep(think())
    }
    save(family, n, await p.evaluate<CompactTrace>('window.__rec.snapshot(600).trace'))
    await p.close()
  }
  console.log(`${family}: ${COUNT}`)
}
await browser.close()

const real = await realBrowser({
  headless: false,
  disableXvfb: true,
  args: [...CHROMIUM_FLAGS, '--window-size=1280,900'],
  connectOption: { defaultViewport: null },
  customConfig: { chromePath: findChromium().path, envVars: { ...process.env, DISPLAY: display.display } },
})
for (let n = 0; n < COUNT; n++) {
  const { html } = page()
  await real.page.goto(`data:text/html,${encodeURIComponent(html)}`)
  const cursor = (real.page as unknown as { realCursor: { click(selector: string, options?: object): Promise<void> } }).realCursor
  for (let c = rng.int(4, 8); c > 0; c--) await cursor.click(`#b${rng.int(0, 7)}`, { moveDelay: think(), hesitate: rng.uniform(0, 150) })
  save('kit_puppeteer', n, await real.page.evaluate('window.__rec.snapshot(600).trace') as CompactTrace)
}
console.log(`kit_puppeteer: ${COUNT}`)
await real.browser.close()
await display.stop()
writeFileSync('model/data/kits-traces.jsonl', lines.join('\n') + '\n')
console.log(`recorded ${lines.length} kit traces`)

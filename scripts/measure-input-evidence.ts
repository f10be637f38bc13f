/**
 * Measures the recorder's input evidence (docs/detectors.md, "Input pipeline") in a headful
 * Chromium under Xvfb, for real OS-level input and for injected input:
 *  - xdotool (XTest, through the X server: the closest to a physical device here) at
 *    60, 125 and 1000 reports a second, at device-pixel ratios 1, 1.5 and 2;
 *  - DevTools-protocol input as Playwright sends it (page.mouse.move with steps: float
 *    positions), as a careful kit would (whole pixels, one move per ~16 ms), and as
 *    ghost-cursor does (its path, each point sent when the last was acknowledged).
 * Prints one row per set-up with the detector's verdict.
 *
 *   npx tsx scripts/measure-input-evidence.ts
 */
import { spawnSync } from 'node:child_process'
import { recorderBundle } from '../test/support/recorder-bundle'
import { chromium, type Page } from 'playwright-core'
import { path as ghostPath } from 'ghost-cursor'
import { CHROMIUM_FLAGS, findChromium } from '../test/support/browser'
import { startXvfb } from '../test/support/xvfb'
import { detectInjectedInput } from '@vigil-risk/core/detectors'
import type { InputEvidence } from '@vigil-risk/core/protocol/schema'

const recorder = await recorderBundle()

const display = await startXvfb(1600, 1000)
const env = { blink: { engine: 'blink' as const, browser: 'chrome', mobile: false, privacy: [], webview: null, inApp: null } }

/** A wavy movement across the page: the points a hand or a script would pass through. */
const wave = (n: number): Array<{ x: number; y: number }> => Array.from({ length: n }, (_, i) => ({ x: 120 + i * (900 / n), y: 300 + 120 * Math.sin(i / (n / 6)) }))

async function run(name: string, dpr: number, drive: (page: Page, offset: { x: number; y: number }) => Promise<void>): Promise<void> {
  const browser = await chromium.launch({
    executablePath: findChromium().path,
    headless: false,
    args: [...CHROMIUM_FLAGS, '--window-position=0,0', '--window-size=1400,900', `--force-device-scale-factor=${dpr}`],
    env: { ...process.env, DISPLAY: display.display },
  })
  try {
    const page = await browser.newPage({ viewport: null })
    await page.route('http://localhost:9/', (r) => r.fulfill({ contentType: 'text/html', body: `<!doctype html><body style="margin:0;height:100vh"><script>${recorder}; window.__rec = window.__startRecorder(window)</script></body>` }))
    await page.goto('http://localhost:9/')
    const offset = await page.evaluate(() => ({ x: screenX + (outerWidth - innerWidth) / 2, y: screenY + outerHeight - innerHeight, dpr: devicePixelRatio }))
    await drive(page, offset)
    await page.waitForTimeout(200)
    const input = await page.evaluate<InputEvidence>('window.__rec.snapshot(600).input')
    const moves = Math.max(1, input.mouse.n)
    const verdict = detectInjectedInput(input, env.blink, 'Linux x86_64').map((d) => d.detail).join('; ') || 'none'
    const pct = (v: number): string => `${((100 * v) / moves).toFixed(0)}%`
    console.log(`| ${name} | ${dpr} | ${input.moves} | ${pct(input.offGrid)} | ${pct(input.sameFrame)} | ${(input.coalesced / Math.max(1, input.moves)).toFixed(2)} | ${pct(input.predicted)} | ${pct(input.movementMismatch)} | ${input.lag.join('/')} | ${verdict} |`)
  } finally {
    await browser.close()
  }
}

/** xdotool moves through screen pixels at `hz` reports a second. */
const xdotool = (hz: number) => async (_page: Page, offset: { x: number; y: number }): Promise<void> => {
  const args: string[] = []
  for (const p of wave(Math.round(hz * 1.5))) args.push('mousemove', String(Math.round(offset.x + p.x)), String(Math.round(offset.y + p.y)), 'sleep', (1 / hz).toFixed(4))
  spawnSync('xdotool', args, { env: { ...process.env, DISPLAY: display.display } })
}

console.log('| input | device-pixel ratio | pointermoves | off the pixel grid | same frame | coalesced per move | with predictions | movement ≠ screen delta | lag <0/0–1/1–4/4–16/16–50/≥50 ms | detector |')
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |')
for (const dpr of [1, 1.5, 2]) for (const hz of [60, 125, 1000]) await run(`xdotool, ${hz} Hz`, dpr, xdotool(hz))
await run('Playwright page.mouse.move, steps', 1, async (page) => {
  await page.mouse.move(120, 300)
  await page.mouse.move(1020, 420, { steps: 90 })
})
await run('DevTools protocol, whole pixels, 16 ms apart', 1, async (page) => {
  for (const p of wave(90)) {
    await page.mouse.move(Math.round(p.x), Math.round(p.y))
    await page.waitForTimeout(16)
  }
})
await run('ghost-cursor path, sent as acknowledged', 1, async (page) => {
  let at = { x: 120, y: 300 }
  for (const to of [{ x: 900, y: 500 }, { x: 300, y: 200 }]) {
    for (const p of ghostPath(at, to)) await page.mouse.move(p.x, p.y)
    at = to
  }
})
await display.stop()

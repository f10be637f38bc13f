/**
 * Records what Playwright's own mouse produces in a real Chromium, through the SDK's
 * recorder, as bot traces for the classifier (model/data/playwright-traces.jsonl).
 * Each scenario drives a page of buttons the way test and bot scripts do: page.click,
 * click with a delay, mouse.move with steps, hover then click, mouse.click, wheel.
 *
 *   npx tsx scripts/record-playwright-traces.ts [count]
 */
import { writeFileSync } from 'node:fs'
import { recorderBundle } from '../test/support/recorder-bundle'
import { launchChromium } from '../test/support/browser'
import { expandTrace } from '@vigil-risk/core/protocol/trace'
import type { CompactTrace } from '@vigil-risk/core/protocol/schema'
import { Rng } from '../model/src/rng'

const COUNT = Number(process.argv[2] ?? 90)
const rng = new Rng(20261126)
const recorder = `${await recorderBundle()}; window.__rec = window.__startRecorder(window)`

const browser = await launchChromium()
const lines: string[] = []
for (let n = 0; n < COUNT; n++) {
  const width = rng.pick([1280, 1366, 1440])
  const height = rng.pick([720, 800, 900])
  const page = await browser.newPage({ viewport: { width, height } })
  page.setDefaultTimeout(5000)
  // Eight buttons, one per cell of a 4×2 grid, so that none covers another.
  const cellW = width / 4
  const cellH = height / 2
  const buttons = Array.from({ length: 8 }, (_, i) => {
    const w = rng.int(60, Math.floor(cellW) - 20)
    const h = rng.int(28, 60)
    const left = Math.floor((i % 4) * cellW + rng.int(5, Math.floor(cellW) - w - 5))
    const top = Math.floor(Math.floor(i / 4) * cellH + rng.int(5, Math.floor(cellH) - h - 5))
    return `<button id="b${i}" style="position:absolute;left:${left}px;top:${top}px;width:${w}px;height:${h}px">Buy ${i}</button>`
  })
  await page.route('http://bots.test/', (route) => route.fulfill({ contentType: 'text/html', body: `<!doctype html><body style="margin:0;overflow:hidden">${buttons.join('')}<script>${recorder}</script></body>` }))
  await page.goto('http://bots.test/')
  const style = rng.pick(['click', 'click-delay', 'move-steps', 'hover-click', 'mouse-click', 'mixed'])
  const clicks = rng.int(4, 9)
  for (let c = 0; c < clicks; c++) {
    const id = `#b${rng.int(0, 7)}`
    const box = (await page.locator(id).boundingBox())!
    const x = box.x + box.width / 2
    const y = box.y + box.height / 2
    const kind = style === 'mixed' ? rng.pick(['click', 'click-delay', 'move-steps', 'hover-click', 'mouse-click']) : style
    if (kind === 'click') await page.click(id)
    else if (kind === 'click-delay') await page.click(id, { delay: rng.int(20, 150) })
    else if (kind === 'move-steps') {
      await page.mouse.move(x + rng.int(-5, 5), y + rng.int(-5, 5), { steps: rng.int(5, 60) })
      await page.mouse.down()
      await page.waitForTimeout(rng.int(0, 120))
      await page.mouse.up()
    } else if (kind === 'hover-click') {
      await page.hover(id)
      await page.waitForTimeout(rng.int(50, 400))
      await page.click(id)
    } else await page.mouse.click(x, y, { delay: rng.int(0, 100) })
    if (rng.next() < 0.2) await page.mouse.wheel(0, rng.pick([100, 200, -100]))
    await page.waitForTimeout(rng.pick([0, 50, 150, 400, 800]))
  }
  const trace = await page.evaluate<CompactTrace>('window.__rec.snapshot(600).trace')
  if (n % 10 === 9) console.log(`${n + 1}/${COUNT}`)
  lines.push(JSON.stringify({ id: `playwright-${n}-${style}`, family: 'playwright', viewport: { width, height }, events: expandTrace(trace) }))
  await page.close()
}
await browser.close()
writeFileSync('model/data/playwright-traces.jsonl', lines.join('\n') + '\n')
console.log(`recorded ${lines.length} Playwright traces`)

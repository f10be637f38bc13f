/**
 * The red team: real Chromium under real automation, against the real collector.
 *  (a) plain headless Playwright
 *  (b) headful Playwright under Xvfb with --disable-blink-features=AutomationControlled
 *  (c) Playwright with puppeteer-extra's stealth plugin (playwright-extra)
 *  (d) Chromium started by hand under Xvfb, no CDP, no WebDriver: a page asks for a token by itself
 * (a)–(c) must not be allowed, with automation or tampering among the reasons;
 * (d) must be given neither automation nor tampering.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chromium as playwright, type Browser, type Page } from 'playwright-core'
import { chromium as playwrightExtra } from 'playwright-extra'
import StealthPlugin from 'puppeteer-extra-plugin-stealth'
import { CHROMIUM_FLAGS, findChromium, spawnPlainChromium } from '../support/browser'
import { startTestCollector, type Inspection, type TestCollector } from '../support/collector'
import { startXvfb, type Display } from '../support/xvfb'
import { startSelfPage } from '../support/self-page'

let collector: TestCollector
let display: Display

beforeAll(async () => {
  collector = await startTestCollector({ workBits: 12 })
  display = await startXvfb()
})
afterAll(async () => {
  await display?.stop()
  await collector?.close()
})

/** What a bot does on the shop: add to cart, check out; returns the token the shop received. */
async function botCheckout(page: Page): Promise<string> {
  await page.goto(`${collector.url}/`)
  await page.waitForSelector('[data-sku]')
  // Once the SDK has its signals, the token carries them (rather than what getToken waits for).
  await page.waitForFunction(() => performance.getEntriesByName('vigil:signals').length > 0)
  await page.click('[data-sku="sku-001"]')
  const [request] = await Promise.all([page.waitForRequest('**/demo/api/checkout'), page.click('#checkout')])
  return (JSON.parse(request.postData()!) as { token: string }).token
}

function report(name: string, v: Inspection): void {
  console.log(`red team ${name}: ${v.verdict} (score ${v.score}) reasons=[${v.reasons.join(', ')}]\n  ${v.detections.map((d) => `${d.code}/${d.detector}: ${d.detail}`).join('\n  ')}`)
}

function expectCaught(v: Inspection): void {
  expect(v.verdict).not.toBe('allow')
  expect(v.reasons.some((r) => r === 'automation' || r === 'tampering')).toBe(true)
}

async function withBrowser(browser: Browser, run: (page: Page) => Promise<string>): Promise<string> {
  try {
    const page = await browser.newPage()
    return await run(page)
  } finally {
    await browser.close()
  }
}

describe('red team', () => {
  it('(a) plain headless Playwright is caught', async () => {
    const browser = await playwright.launch({ executablePath: findChromium().path, headless: true, args: CHROMIUM_FLAGS })
    const v = await collector.inspect(await withBrowser(browser, botCheckout))
    report('a', v)
    expectCaught(v)
  })

  it('(b) headful Playwright under Xvfb with AutomationControlled disabled is caught', async () => {
    const browser = await playwright.launch({
      executablePath: findChromium().path,
      headless: false,
      args: [...CHROMIUM_FLAGS, '--disable-blink-features=AutomationControlled'],
      env: { ...process.env, DISPLAY: display.display },
    })
    const v = await collector.inspect(await withBrowser(browser, botCheckout))
    report('b', v)
    expectCaught(v)
  })

  it('(c) Playwright with the stealth plugin is caught', async () => {
    playwrightExtra.use(StealthPlugin())
    const browser = await playwrightExtra.launch({ executablePath: findChromium().path, headless: true, args: CHROMIUM_FLAGS })
    const v = await collector.inspect(await withBrowser(browser, botCheckout))
    report('c', v)
    expectCaught(v)
    // Stealth hides navigator.webdriver and HeadlessChrome; what gives it away is what it patched.
    expect(v.detections.map((d) => d.detector)).toEqual(expect.arrayContaining(['cdp', 'lies', 'worker_mismatch']))
  })

  it('(d) Chromium with no automation attached is given neither automation nor tampering', async () => {
    const page = await startSelfPage(collector.url)
    const chromium = spawnPlainChromium(display.display, ['--window-size=1280,900', page.url])
    try {
      const token = await page.nextToken()
      expect(token).not.toMatch(/^error:/)
      const v = await collector.inspect(token)
      report('d', v)
      expect(v.reasons).not.toContain('automation')
      expect(v.reasons).not.toContain('tampering')
      expect(v.detections.filter((d) => d.code === 'automation' || d.code === 'tampering')).toEqual([])
    } finally {
      await chromium.stop()
      await page.close()
    }
  })
})

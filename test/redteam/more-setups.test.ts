/**
 * Automation set-ups beyond the four the issue names, each with its evasions switched
 * on: headful Playwright with stealth and no viewport emulation; Puppeteer with
 * puppeteer-extra's stealth; Selenium's chromedriver with the usual "undetected"
 * options. The shop's backend must not allow any of them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { chromium as playwrightExtra } from 'playwright-extra'
import puppeteer from 'puppeteer-extra'
import StealthPlugin from 'puppeteer-extra-plugin-stealth'
import { CHROMIUM_FLAGS, findChromium } from '../support/browser'
import { startTestCollector, type TestCollector } from '../support/collector'
import { startXvfb, type Display } from '../support/xvfb'
import { freePort } from '../support/ports'

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

function expectCaught(name: string, v: { verdict: string; reasons: readonly string[] }): void {
  console.log(`red team ${name}: ${v.verdict} reasons=[${v.reasons.join(', ')}]`)
  expect(v.verdict).not.toBe('allow')
  expect(v.reasons.some((r) => r === 'automation' || r === 'tampering')).toBe(true)
}

const hasChromedriver = spawnSync('sh', ['-c', 'command -v chromedriver'], { stdio: 'ignore' }).status === 0

describe('red team, more set-ups', () => {
  it('headful Playwright + stealth, no viewport emulation, AutomationControlled disabled', async () => {
    playwrightExtra.use(StealthPlugin())
    const browser = await playwrightExtra.launch({
      executablePath: findChromium().path,
      headless: false,
      args: [...CHROMIUM_FLAGS, '--disable-blink-features=AutomationControlled'],
      env: { ...process.env, DISPLAY: display.display },
    })
    try {
      const page = await browser.newPage({ viewport: null })
      await page.goto(`${collector.url}/`)
      await page.waitForSelector('[data-sku]')
      await page.waitForFunction(() => performance.getEntriesByName('vigil:signals').length > 0)
      await page.click('[data-sku="sku-003"]')
      const [request] = await Promise.all([page.waitForRequest('**/demo/api/checkout'), page.click('#checkout')])
      expectCaught('stealth-headful', await collector.inspect((JSON.parse(request.postData()!) as { token: string }).token))
    } finally {
      await browser.close()
    }
  })

  it('Puppeteer + puppeteer-extra stealth', async () => {
    puppeteer.use(StealthPlugin())
    const browser = await puppeteer.launch({ executablePath: findChromium().path, headless: true, args: CHROMIUM_FLAGS })
    try {
      const page = await browser.newPage()
      await page.goto(`${collector.url}/`)
      await page.waitForSelector('[data-sku]')
      await new Promise((r) => setTimeout(r, 2000))
      await page.click('[data-sku="sku-004"]')
      // Adding to the cart asks for its own token first; Puppeteer, unlike Playwright, clicks a disabled button.
      await page.waitForSelector('#checkout:not([disabled])')
      const [request] = await Promise.all([page.waitForRequest((r: { url(): string }) => r.url().endsWith('/demo/api/checkout')), page.click('#checkout')])
      expectCaught('puppeteer-stealth', await collector.inspect((JSON.parse(request.postData()) as { token: string }).token))
    } finally {
      await browser.close()
    }
  })

  it.skipIf(!hasChromedriver)('Selenium chromedriver, enable-automation excluded, AutomationControlled disabled', async () => {
    const port = await freePort()
    const driver: ChildProcess = spawn('chromedriver', [`--port=${port}`], { stdio: 'ignore', env: { ...process.env, DISPLAY: display.display } })
    const base = `http://127.0.0.1:${port}`
    const call = async (method: string, path: string, body?: unknown): Promise<{ value: unknown }> => {
      const res = await fetch(base + path, { method, headers: { 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) })
      return (await res.json()) as { value: unknown }
    }
    try {
      await waitFor(async () => (await fetch(`${base}/status`)).ok)
      const session = (await call('POST', '/session', {
        capabilities: {
          alwaysMatch: {
            browserName: 'chrome',
            'goog:chromeOptions': {
              binary: findChromium().path,
              args: [...CHROMIUM_FLAGS, '--disable-blink-features=AutomationControlled', '--window-size=1280,900'],
              excludeSwitches: ['enable-automation'],
            },
          },
        },
      })).value as { sessionId: string }
      const s = `/session/${session.sessionId}`
      await call('POST', `${s}/url`, { url: `${collector.url}/` })
      const find = async (css: string) => {
        let found: { [k: string]: string } | undefined
        await waitFor(async () => {
          const r = (await call('POST', `${s}/element`, { using: 'css selector', value: css })).value as { [k: string]: string }
          found = r && Object.keys(r).some((k) => k.startsWith('element-')) ? r : undefined
          return found !== undefined
        })
        return Object.values(found!)[0]!
      }
      await new Promise((r) => setTimeout(r, 2000))
      const script = async (body: string) => (await call('POST', `${s}/execute/sync`, { script: body, args: [] })).value
      await call('POST', `${s}/element/${await find('[data-sku="sku-005"]')}/click`, {})
      // Adding to the cart asks for its own token first; checkout is enabled once the item is in.
      await waitFor(async () => (await script('return !document.getElementById("checkout").disabled')) === true)
      await call('POST', `${s}/element/${await find('#checkout')}/click`, {})
      let verification: { verdict: string; reasons: string[] } | undefined
      await waitFor(async () => {
        const text = (await script('return document.getElementById("dev-output").textContent')) as string
        // The checkout's answer (it has an order field), not the cart's.
        const answer = text.startsWith('{') ? (JSON.parse(text) as { order?: unknown; verification?: { verdict: string; reasons: string[] } }) : undefined
        verification = answer && 'order' in answer ? answer.verification : undefined
        return verification !== undefined
      })
      await call('DELETE', s)
      expectCaught('chromedriver', verification!)
    } finally {
      driver.kill('SIGKILL')
    }
  })
})

async function waitFor(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs
  for (;;) {
    try {
      if (await check()) return
    } catch {
      // not ready yet
    }
    if (Date.now() > end) throw new Error('timed out waiting')
    await new Promise((r) => setTimeout(r, 200))
  }
}

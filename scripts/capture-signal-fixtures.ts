/**
 * Refreshes the detector fixtures in test/fixtures/signals/ from real browsers:
 * Chromium under plain headless Playwright, headful Playwright (Xvfb), Playwright with
 * the stealth plugin, and Chromium with nothing attached. Run after a Chromium upgrade:
 *
 *   npx tsx scripts/capture-signal-fixtures.ts
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { chromium, type Browser } from 'playwright-core'
import { chromium as playwrightExtra } from 'playwright-extra'
import StealthPlugin from 'puppeteer-extra-plugin-stealth'
import { CHROMIUM_FLAGS, findChromium } from '../test/support/browser'
import { startTestCollector } from '../test/support/collector'
import { startSelfPage } from '../test/support/self-page'
import { startXvfb } from '../test/support/xvfb'

const collector = await startTestCollector()
const display = await startXvfb()
const page = await startSelfPage(collector.url)
const executablePath = findChromium().path

async function viaPlaywright(launch: () => Promise<Browser>): Promise<string> {
  const browser = await launch()
  const tab = await browser.newPage()
  await tab.goto(page.url)
  const token = await page.nextToken()
  await browser.close()
  return token
}

const tokens: Record<string, string> = {}
tokens['chromium-playwright-headless'] = await viaPlaywright(() => chromium.launch({ executablePath, headless: true, args: CHROMIUM_FLAGS }))
tokens['chromium-playwright-headful'] = await viaPlaywright(() =>
  chromium.launch({ executablePath, headless: false, args: [...CHROMIUM_FLAGS, '--disable-blink-features=AutomationControlled'], env: { ...process.env, DISPLAY: display.display } }),
)
playwrightExtra.use(StealthPlugin())
tokens['chromium-playwright-stealth'] = await viaPlaywright(() => playwrightExtra.launch({ executablePath, headless: true, args: CHROMIUM_FLAGS }))
const profile = mkdtempSync(join(tmpdir(), 'vigil-capture-'))
const plain = spawn(executablePath, [...CHROMIUM_FLAGS, `--user-data-dir=${profile}`, '--window-size=1280,900', page.url], { env: { ...process.env, DISPLAY: display.display }, stdio: 'ignore' })
tokens['chromium-plain'] = await page.nextToken()
plain.kill('SIGKILL')
await new Promise((r) => plain.once('exit', r))
rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 })

for (const [name, token] of Object.entries(tokens)) {
  const { jti } = await collector.inspect(token)
  const db = new Database(join(collector.dataDir, 'vigil.db'), { readonly: true })
  const row = db.prepare('SELECT detail FROM events WHERE id = ?').get(jti) as { detail: string }
  db.close()
  const signals = (JSON.parse(row.detail) as { signals: unknown }).signals
  writeFileSync(join('test/fixtures/signals', `${name}.json`), JSON.stringify({ source: `captured by scripts/capture-signal-fixtures.ts on ${new Date().toISOString().slice(0, 10)}`, signals }, null, 2) + '\n')
  console.log(`wrote ${name}`)
}
await page.close()
await display.stop()
await collector.close()

/**
 * The SDK never harms the host page: every failure is a typed rejection of getToken,
 * within its timeout, with no uncaught error or unhandled rejection in the page.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { launchChromium } from '../support/browser'
import { startTestCollector, type TestCollector } from '../support/collector'

let collector: TestCollector
let browser: Browser

beforeAll(async () => {
  collector = await startTestCollector()
  browser = await launchChromium()
})
afterAll(async () => {
  await browser?.close()
  await collector?.close()
})

const TRACK_REJECTIONS = `window.__unhandled = []; window.addEventListener('unhandledrejection', (e) => window.__unhandled.push(String(e.reason)))`

async function blankPage(): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext()
  await context.addInitScript(TRACK_REJECTIONS)
  const page = await context.newPage()
  const errors: string[] = []
  page.on('pageerror', (err) => errors.push(String(err)))
  // A page on the collector's origin that only loads the SDK.
  await page.route(`${collector.url}/blank`, (route) => route.fulfill({ contentType: 'text/html', body: '<!doctype html><script src="/sdk/vigil.min.js"></script><p>host page</p>' }))
  await page.goto(`${collector.url}/blank`)
  return { page, errors }
}

/** Runs getToken in the page; returns the rejection's name/code and how long it took. */
function tokenAttempt(page: Page, options: Record<string, unknown>, action = 'checkout') {
  return page.evaluate(
    async ({ options, action }) => {
      const started = performance.now()
      const client = (window as unknown as { Vigil: { init(o: unknown): { getToken(a: string): Promise<string> } } }).Vigil.init(options)
      try {
        const token = await client.getToken(action)
        return { ok: true, token: token.length > 0, ms: performance.now() - started }
      } catch (err) {
        const e = err as { name: string; code: string; status?: number; serverCode?: string }
        return { ok: false, name: e.name, code: e.code, status: e.status, serverCode: e.serverCode, ms: performance.now() - started }
      }
    },
    { options, action },
  )
}

async function unhandled(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { __unhandled: string[] }).__unhandled)
}

describe('SDK fault isolation', () => {
  it('rejects with network_error when the collector is down', async () => {
    const { page, errors } = await blankPage()
    const result = await tokenAttempt(page, { endpoint: 'http://127.0.0.1:9', siteKey: 'demo', timeout: 3000 })
    expect(result).toMatchObject({ ok: false, name: 'VigilError', code: 'network_error' })
    expect(errors).toEqual([])
    expect(await unhandled(page)).toEqual([])
    await page.context().close()
  })

  it('rejects with timeout, within the timeout, when the collector never answers', async () => {
    const { page, errors } = await blankPage()
    await page.route('**/v1/challenge**', () => {
      /* never answered */
    })
    const result = await tokenAttempt(page, { endpoint: collector.url, siteKey: 'demo', timeout: 1000 })
    expect(result).toMatchObject({ ok: false, name: 'VigilError', code: 'timeout' })
    expect(result.ms).toBeGreaterThanOrEqual(990)
    expect(result.ms).toBeLessThan(1500)
    expect(errors).toEqual([])
    expect(await unhandled(page)).toEqual([])
    await page.context().close()
  })

  it('rejects with collector_error on a 500, and bad_response on garbage', async () => {
    const { page, errors } = await blankPage()
    await page.route('**/v1/challenge**', (route) => route.fulfill({ status: 500, body: '<html>oops</html>' }))
    expect(await tokenAttempt(page, { endpoint: collector.url, siteKey: 'demo' })).toMatchObject({ ok: false, code: 'collector_error', status: 500 })
    await page.unroute('**/v1/challenge**')
    await page.route('**/v1/challenge**', (route) => route.fulfill({ status: 200, contentType: 'application/json', body: '{"challenge": 42}' }))
    expect(await tokenAttempt(page, { endpoint: collector.url, siteKey: 'demo' })).toMatchObject({ ok: false, code: 'bad_response' })
    await page.unroute('**/v1/challenge**')
    await page.route('**/v1/collect', (route) => route.fulfill({ status: 200, contentType: 'application/json', body: 'not json' }))
    expect(await tokenAttempt(page, { endpoint: collector.url, siteKey: 'demo' })).toMatchObject({ ok: false, code: 'bad_response' })
    expect(errors).toEqual([])
    expect(await unhandled(page)).toEqual([])
    await page.context().close()
  })

  it("passes the collector's error code through (unknown_site)", async () => {
    const { page } = await blankPage()
    expect(await tokenAttempt(page, { endpoint: collector.url, siteKey: 'nosuchsite' })).toMatchObject({
      ok: false,
      code: 'collector_error',
      status: 400,
      serverCode: 'unknown_site',
    })
    await page.context().close()
  })

  it('never throws from init; bad options and bad actions reject with their codes', async () => {
    const { page, errors } = await blankPage()
    const results = await page.evaluate(async () => {
      const V = (window as unknown as { Vigil: { init(o?: unknown): { getToken(a: unknown): Promise<string>; destroy(): void } } }).Vigil
      const codeOf = (p: Promise<unknown>) => p.then(() => 'resolved', (e: { code: string }) => e.code)
      const out: Record<string, string> = {}
      out.noOptions = await codeOf(V.init().getToken('checkout'))
      out.badSiteKey = await codeOf(V.init({ siteKey: '../../etc' }).getToken('checkout'))
      out.badEndpoint = await codeOf(V.init({ siteKey: 'demo', endpoint: 'javascript:alert(1)' }).getToken('checkout'))
      const good = V.init({ siteKey: 'demo', endpoint: location.origin })
      out.emptyAction = await codeOf(good.getToken(''))
      out.longAction = await codeOf(good.getToken('x'.repeat(65)))
      out.objectAction = await codeOf(good.getToken({ toString: () => 'checkout' }))
      out.emptyAccount = await codeOf((good.getToken as (a: string, o: unknown) => Promise<string>)('login', { account: '   ' }))
      out.numberAccount = await codeOf((good.getToken as (a: string, o: unknown) => Promise<string>)('login', { account: 42 }))
      const pending = codeOf(good.getToken('checkout'))
      good.destroy()
      good.destroy()
      out.destroyedInFlight = await pending
      out.afterDestroy = await codeOf(good.getToken('checkout'))
      return out
    })
    expect(results).toEqual({
      noOptions: 'config_error',
      badSiteKey: 'config_error',
      badEndpoint: 'config_error',
      emptyAction: 'invalid_action',
      longAction: 'invalid_action',
      objectAction: 'invalid_action',
      emptyAccount: 'invalid_account',
      numberAccount: 'invalid_account',
      destroyedInFlight: 'destroyed',
      afterDestroy: 'destroyed',
    })
    expect(errors).toEqual([])
    expect(await unhandled(page)).toEqual([])
    await page.context().close()
  })

  it('defaults the endpoint to the origin the script came from', async () => {
    const { page } = await blankPage()
    expect(await tokenAttempt(page, { siteKey: 'demo' })).toMatchObject({ ok: true, token: true })
    await page.context().close()
  })
})

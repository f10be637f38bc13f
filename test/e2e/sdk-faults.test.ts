/**
 * The SDK never harms the host page: every failure is a typed rejection of getToken,
 * within its timeout, with no uncaught error or unhandled rejection in the page. Timing
 * claims (timeouts, backoff) are checked on the page's fake clock (Playwright's), never
 * against the wall clock of a shared machine.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { launchChromium } from '../support/browser'
import { startTestCollector, type TestCollector } from '../support/collector'
import { fetchMetrics } from '../support/metrics'

let collector: TestCollector
let browser: Browser

beforeAll(async () => {
  collector = await startTestCollector({ workBits: 12 })
  browser = await launchChromium()
})
afterAll(async () => {
  await browser?.close()
  await collector?.close()
})

const TRACK_REJECTIONS = `window.__unhandled = []; window.addEventListener('unhandledrejection', (e) => window.__unhandled.push(String(e.reason)))`

/** The host page: the SDK, and a button of the page's own that counts clicks (its script has a CSP nonce). */
const HOST_PAGE = `<!doctype html><script src="/sdk/vigil.min.js"></script><button id="buy">buy</button><output id="n">0</output>
  <script nonce="host">document.getElementById('buy').addEventListener('click', () => { const n = document.getElementById('n'); n.textContent = String(+n.textContent + 1) })</script>`

/** The host page on the collector's origin; `breakIt` runs before any page script, `watch` before navigation. */
async function blankPage(options: { breakIt?: string; headers?: Record<string, string>; watch?: (page: Page) => void } = {}): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext()
  await context.addInitScript(TRACK_REJECTIONS)
  if (options.breakIt) await context.addInitScript(options.breakIt)
  const page = await context.newPage()
  const errors: string[] = []
  page.on('pageerror', (err) => errors.push(String(err)))
  options.watch?.(page)
  await page.route(`${collector.url}/blank`, (route) => route.fulfill({ contentType: 'text/html', ...(options.headers ? { headers: options.headers } : {}), body: HOST_PAGE }))
  await page.goto(`${collector.url}/blank`)
  return { page, errors }
}

/** A `watch` for blankPage: every collect body the page sends lands in `bodies`. */
const recordCollects = (bodies: unknown[]) => (page: Page) => void page.on('request', (r) => r.url().endsWith('/v1/collect') && bodies.push(JSON.parse(r.postData() ?? '{}')))

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

/** The host page's own script still runs: its button still counts clicks. */
async function hostStillWorks(page: Page): Promise<void> {
  const n = Number(await page.textContent('#n'))
  await page.click('#buy')
  await expect.poll(() => page.textContent('#n')).toBe(String(n + 1))
}

/** Failure reports the collector has counted, all codes together. */
async function sdkFailures(): Promise<number> {
  const text = await (await fetchMetrics(collector.url, collector.dataDir)).text()
  return [...text.matchAll(/^vigil_sdk_failures_total\{code="[a-z_]+"\} (\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0)
}

/**
 * Runs the page's fake clock forward in steps until `done()` holds. Real work (network,
 * IndexedDB, workers) happens between the steps, a few ms of real time for each.
 */
async function driveClock(page: Page, done: () => boolean | Promise<boolean>, stepMs = 50, maxMs = 60_000): Promise<void> {
  for (let t = 0; !(await done()); t += stepMs) {
    if (t > maxMs) throw new Error(`still waiting after ${maxMs} ms of page time`)
    await page.clock.runFor(stepMs)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/**
 * Records, in the page's (fake) time, when the SDK sends each request to /v1/telemetry and
 * when its answer (or failure) reaches the SDK: the backoff runs from the failure.
 */
const TRACK_TELEMETRY = `window.__telemetry = []; window.__telemetryDone = []; const f = window.fetch
  window.fetch = function (input, init) {
    const p = f.call(this, input, init)
    if (String(input).includes('/v1/telemetry')) {
      window.__telemetry.push(Date.now())
      const done = () => window.__telemetryDone.push(Date.now())
      p.then(done, done)
    }
    return p
  }`
const telemetryTimes = (page: Page): Promise<number[]> => page.evaluate(() => (window as unknown as { __telemetry: number[] }).__telemetry)
const telemetryDone = (page: Page): Promise<number[]> => page.evaluate(() => (window as unknown as { __telemetryDone: number[] }).__telemetryDone)
const pageNow = (page: Page): Promise<number> => page.evaluate(() => Date.now())

/** Installs Playwright's fake clock in the page, paused: page time moves only when the test runs it. */
async function pauseClock(page: Page): Promise<void> {
  const start = Date.UTC(2026, 11, 1, 12)
  await page.clock.install({ time: start })
  await page.clock.pauseAt(start + 1000)
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
    await pauseClock(page)
    await page.route('**/v1/challenge**', () => {
      /* never answered */
    })
    let settled = false
    const attempt = tokenAttempt(page, { endpoint: collector.url, siteKey: 'demo', timeout: 1000 }).finally(() => (settled = true))
    // Not a millisecond early…
    await page.clock.runFor(999)
    await expect.poll(() => page.evaluate(() => true)).toBe(true) // a round trip: anything pending has run
    expect(settled).toBe(false)
    // …and not a millisecond late.
    await page.clock.runFor(1)
    const result = await attempt
    expect(result).toMatchObject({ ok: false, name: 'VigilError', code: 'timeout' })
    expect(result.ms).toBe(1000)
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

  it("gets a token, with every signal, on pages that replace the platform's promises or idle callbacks", async () => {
    const cases = {
      asIs: '',
      // What Angular's zone.js does: the global Promise is no longer the engine's.
      replacedPromise: 'window.Promise = class ZoneLikePromise extends Promise {}',
      noFinally: 'delete Promise.prototype.finally',
      idleThrows: "window.requestIdleCallback = () => { throw new Error('idle broken') }",
      idleNeverCalls: 'window.requestIdleCallback = () => 1',
    }
    const signalsSent: Record<string, string[]> = {}
    for (const [name, breakIt] of Object.entries(cases)) {
      const bodies: Array<{ payload: { signals: Record<string, unknown> } }> = []
      const { page, errors } = await blankPage({ breakIt, watch: recordCollects(bodies) })
      await page.evaluate(() => void ((window as unknown as { client: unknown }).client = (window as unknown as { Vigil: { init(o: unknown): unknown } }).Vigil.init({ siteKey: 'demo' })))
      // The start-up signals come in, however the page's idle callbacks behave.
      await page.waitForFunction(() => performance.getEntriesByName('vigil:signals').length > 0, undefined, { timeout: 10_000 })
      const result = await page.evaluate(() =>
        (window as unknown as { client: { getToken(a: string): Promise<string> } }).client.getToken('checkout').then((t) => ({ ok: true, token: t.length > 0 }), (e: { code: string }) => ({ ok: false, code: e.code })),
      )
      expect(result, name).toMatchObject({ ok: true, token: true })
      signalsSent[name] = Object.keys(bodies[0]!.payload.signals).sort()
      expect(errors, name).toEqual([])
      expect(await unhandled(page), name).toEqual([])
      await page.context().close()
    }
    expect(signalsSent.asIs!.length).toBeGreaterThan(10)
    for (const name of Object.keys(cases)) expect(signalsSent[name], name).toEqual(signalsSent.asIs)
  })

  it('gets a token when the background challenge request is lost, or when workers never answer', async () => {
    // The first challenge request (the background prefetch) never gets an answer.
    let challenges = 0
    const lost = await blankPage({
      watch: (p) =>
        void p.route('**/v1/challenge?**', (route) => {
          if (challenges++ > 0) return route.continue()
          // never answered
        }),
    })
    await lost.page.waitForTimeout(1500) // the prefetch has gone out
    const first = await tokenAttempt(lost.page, { siteKey: 'demo' })
    expect(challenges).toBeGreaterThanOrEqual(2)
    expect(first).toMatchObject({ ok: true, token: true })
    expect(lost.errors).toEqual([])
    expect(await unhandled(lost.page)).toEqual([])
    await lost.page.context().close()

    // A page whose Worker takes messages and never answers: the page does the work itself.
    const silent = await blankPage({ breakIt: 'window.Worker = class { postMessage() {} terminate() {} addEventListener() {} }' })
    const results = await silent.page.evaluate(async () => {
      const client = (window as unknown as { Vigil: { init(o: unknown): { getToken(a: string): Promise<string> } } }).Vigil.init({ siteKey: 'demo' })
      const attempt = () => client.getToken('checkout').then(() => 'token', (e: { code: string }) => e.code)
      return [await attempt(), await attempt()]
    })
    expect(results).toEqual(['token', 'token'])
    expect(silent.errors).toEqual([])
    expect(await unhandled(silent.page)).toEqual([])
    await silent.page.context().close()
  })

  it('collects nothing before the page has loaded, however long its loading takes', async () => {
    const context = await browser.newContext()
    const page = await context.newPage()
    // An image that takes 3 s holds the load event back; the SDK starts in <head>.
    await page.route(`${collector.url}/slow.png`, async (route) => {
      await new Promise((resolve) => setTimeout(resolve, 3000))
      await route.fulfill({ status: 404, body: '' })
    })
    await page.route(`${collector.url}/loading`, (route) =>
      route.fulfill({ contentType: 'text/html', body: `<!doctype html><head><script src="/sdk/vigil.min.js"></script><script>window.client = Vigil.init({ siteKey: 'demo' })</script></head><body><img src="/slow.png"></body>` }),
    )
    await page.goto(`${collector.url}/loading`, { waitUntil: 'load' })
    await page.waitForFunction(() => performance.getEntriesByName('vigil:signals').length > 0, undefined, { timeout: 15_000 })
    const times = await page.evaluate(() => ({
      load: (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).loadEventStart,
      signals: performance.getEntriesByName('vigil:signals')[0]!.startTime,
    }))
    expect(times.load).toBeGreaterThan(2500)
    expect(times.signals).toBeGreaterThan(times.load)
    await context.close()
  })

  it('never throws synchronously: methods taken off the client, options whose getters throw', async () => {
    const { page, errors } = await blankPage()
    const results = await page.evaluate(async () => {
      const V = (window as unknown as { Vigil: { init(o?: unknown): { getToken(this: void, a: string, o?: unknown): Promise<string>; destroy(this: void): void } } }).Vigil
      const outcome = (call: () => Promise<unknown>): Promise<string> => {
        try {
          return call().then(() => 'token', (e: { code?: string }) => `rejected ${e.code}`)
        } catch (err) {
          return Promise.resolve(`threw ${String(err)}`)
        }
      }
      const { getToken, destroy } = V.init({ siteKey: 'demo', endpoint: location.origin })
      const taken = await outcome(() => getToken('checkout'))
      const trap = await outcome(() => getToken('login', { get account(): string { throw new Error('trap') } }))
      destroy()
      const afterDestroy = await outcome(() => getToken('checkout'))
      const broken = V.init({ siteKey: '../../etc' }).getToken
      return { taken, trap, afterDestroy, broken: await outcome(() => broken('checkout')) }
    })
    expect(results).toEqual({ taken: 'token', trap: 'rejected internal_error', afterDestroy: 'rejected destroyed', broken: 'rejected config_error' })
    expect(errors).toEqual([])
    expect(await unhandled(page)).toEqual([])
    await page.context().close()
  })

  it('defaults the endpoint to the origin the script came from', async () => {
    const { page } = await blankPage()
    expect(await tokenAttempt(page, { siteKey: 'demo' })).toMatchObject({ ok: true, token: true })
    await page.context().close()
  })
  it('keeps the page working when CSP blocks the collector (connect-src) and workers; rejects with network_error', async () => {
    const csp = "default-src 'none'; script-src 'self' 'nonce-host'; connect-src 'none'; worker-src 'none'; img-src 'none'"
    const violations: string[] = []
    const { page, errors } = await blankPage({ headers: { 'content-security-policy': csp }, watch: (p) => p.on('console', (m) => m.type() === 'error' && violations.push(m.text())) })
    const result = await tokenAttempt(page, { siteKey: 'demo', timeout: 3000 })
    expect(result).toMatchObject({ ok: false, name: 'VigilError', code: 'network_error' })
    expect(violations.some((v) => /Content Security Policy/.test(v))).toBe(true) // the block did happen
    await hostStillWorks(page)
    expect(errors).toEqual([])
    expect(await unhandled(page)).toEqual([])
    await page.context().close()
  })

  it('gets a token without IndexedDB, without WebCrypto, without any storage: the page never notices', async () => {
    const cases = {
      noIndexedDb: "Object.defineProperty(window, 'indexedDB', { get() { throw new DOMException('denied', 'SecurityError') } })",
      brokenIndexedDb: "IDBFactory.prototype.open = function () { throw new DOMException('denied', 'InvalidStateError') }",
      noWebCrypto: "Object.defineProperty(Crypto.prototype, 'subtle', { get() { return undefined } })",
      neither: "Object.defineProperty(window, 'indexedDB', { value: undefined }); Object.defineProperty(Crypto.prototype, 'subtle', { get() { return undefined } })",
      noStorageAtAll: "Object.defineProperty(window, 'indexedDB', { value: undefined }); Object.defineProperty(window, 'localStorage', { get() { throw new DOMException('denied', 'SecurityError') } })",
    }
    const seen: Record<string, unknown> = {}
    for (const [name, breakIt] of Object.entries(cases)) {
      const bodies: Array<{ payload: { device: { impl: string; persisted: boolean } } }> = []
      const { page, errors } = await blankPage({ breakIt, watch: recordCollects(bodies) })
      const result = await tokenAttempt(page, { siteKey: 'demo' })
      expect(result, name).toMatchObject({ ok: true, token: true })
      seen[name] = bodies[0]?.payload.device && { impl: bodies[0].payload.device.impl, persisted: bodies[0].payload.device.persisted }
      await hostStillWorks(page)
      expect(errors, name).toEqual([])
      expect(await unhandled(page), name).toEqual([])
      await page.context().close()
    }
    // Continuity first (sdk/src/keys/device-key.ts): without IndexedDB a tweetnacl key in
    // localStorage; without any storage, a WebCrypto key for this page only.
    expect(seen).toEqual({
      noIndexedDb: { impl: 'tweetnacl', persisted: true },
      brokenIndexedDb: { impl: 'tweetnacl', persisted: true },
      noWebCrypto: { impl: 'tweetnacl', persisted: true },
      neither: { impl: 'tweetnacl', persisted: true },
      noStorageAtAll: { impl: 'webcrypto', persisted: false },
    })
  })

  it('queues failure reports while the collector is down and delivers them with backoff once it is back', { timeout: 60_000 }, async () => {
    const { page, errors } = await blankPage({ breakIt: TRACK_TELEMETRY })
    await pauseClock(page)
    const before = await sdkFailures()
    // The collector is "down" for this page: challenges and the first two report deliveries fail.
    await page.route('**/v1/challenge**', (route) => route.abort('connectionrefused'))
    const bodies: string[] = []
    let refuse = 2
    await page.route('**/v1/telemetry', async (route) => {
      bodies.push(route.request().postData() ?? '')
      if (refuse-- > 0) return route.abort('connectionrefused')
      return route.continue()
    })
    let results: string[] | undefined
    void page
      .evaluate(async () => {
        const client = (window as unknown as { Vigil: { init(o: unknown): { getToken(a: string): Promise<string> } } }).Vigil.init({ siteKey: 'demo', timeout: 2000 })
        const codes: string[] = []
        for (const action of ['checkout', 'coupon/claim']) await client.getToken(action).catch((e: { code: string }) => codes.push(e.code))
        return codes
      })
      .then((r) => (results = r))
    await driveClock(page, () => results !== undefined)
    expect(results).toEqual(['network_error', 'network_error'])
    await driveClock(page, () => bodies.length === 3)
    await expect.poll(async () => (await sdkFailures()) - before, { timeout: 5_000 }).toBe(2)
    // Backoff, in page time: the first try 0.5–1 s after the failure, then 1–2 s and 2–4 s after
    // each failed delivery (equal jitter).
    const delivered = JSON.parse(bodies[2]!) as { siteKey: string; reports: Array<Record<string, unknown>>; dropped: number }
    const [sent, done] = [await telemetryTimes(page), await telemetryDone(page)]
    const gaps = [sent[0]! - Number(delivered.reports[0]!.at), sent[1]! - done[0]!, sent[2]! - done[1]!]
    expect(gaps[0]).toBeGreaterThanOrEqual(500)
    expect(gaps[0]).toBeLessThanOrEqual(1_000)
    expect(gaps[1]).toBeGreaterThanOrEqual(1_000)
    expect(gaps[1]).toBeLessThanOrEqual(2_000)
    expect(gaps[2]).toBeGreaterThanOrEqual(2_000)
    expect(gaps[2]).toBeLessThanOrEqual(4_000)
    // Each retry carries the same reports; a report holds codes and numbers, never a URL.
    expect(delivered.siteKey).toBe('demo')
    expect(delivered.dropped).toBe(0)
    expect(delivered.reports.map((r) => [r.code, r.action])).toEqual([['network_error', 'checkout'], ['network_error', 'coupon/claim']])
    for (const r of delivered.reports) expect(Object.keys(r).sort()).toEqual(['action', 'at', 'code', 'ms'])
    expect(bodies[2]).not.toContain('http')
    // Nothing more is sent once delivered: not in the next two minutes of page time.
    await page.clock.runFor(120_000)
    expect(await telemetryTimes(page)).toHaveLength(3)
    expect(errors).toEqual([])
    expect(await unhandled(page)).toEqual([])
    await page.context().close()
  })

  it('flushes queued reports as soon as a token comes through again, without waiting out the backoff', async () => {
    const { page, errors } = await blankPage({ breakIt: TRACK_TELEMETRY })
    await pauseClock(page)
    const before = await sdkFailures()
    let down = true
    await page.route('**/v1/challenge**', (route) => (down ? route.fulfill({ status: 503, contentType: 'application/json', body: '{"error":{"code":"store_unavailable","message":"x"}}' }) : route.continue()))
    // The first delivery fails, decided by count: Playwright may run this handler after the
    // test has moved on, so a flag read here could already say the collector is back.
    let refuse = 1
    await page.route('**/v1/telemetry', (route) => (refuse-- > 0 ? route.abort('connectionrefused') : route.continue()))
    type W = { client: { getToken(a: string): Promise<string> }; failed?: string; ok?: boolean; Vigil: { init(o: unknown): { getToken(a: string): Promise<string> } } }
    await page.evaluate(() => {
      const w = window as unknown as W
      w.client = w.Vigil.init({ siteKey: 'demo' })
      void w.client.getToken('login').catch((e: { code: string; serverCode: string }) => (w.failed = `${e.code}/${e.serverCode}`))
    })
    await driveClock(page, () => page.evaluate(() => (window as unknown as W).failed !== undefined))
    expect(await page.evaluate(() => (window as unknown as W).failed)).toBe('collector_error/store_unavailable')
    // The first delivery fails; the next would wait 1–2 s of backoff…
    await driveClock(page, async () => (await telemetryDone(page)).length === 1)
    down = false
    // …but a token coming through means the collector is back: delivered at once, with the clock stopped.
    await page.evaluate(() => {
      const w = window as unknown as W
      void w.client.getToken('login').then((t) => (w.ok = t.length > 0))
    })
    await expect.poll(() => page.evaluate(() => (window as unknown as W).ok), { timeout: 10_000 }).toBe(true)
    const backAt = await pageNow(page)
    await expect.poll(async () => (await sdkFailures()) - before, { timeout: 5_000 }).toBe(1)
    const sent = await telemetryTimes(page)
    expect(sent).toHaveLength(2)
    expect(sent[1]).toBe(backAt)
    expect(errors).toEqual([])
    expect(await unhandled(page)).toEqual([])
    await page.context().close()
  })

  it('sends no reports when the site turns telemetry off', async () => {
    const { page } = await blankPage()
    await pauseClock(page)
    const sent: string[] = []
    page.on('request', (r) => r.url().includes('/v1/telemetry') && sent.push(r.url()))
    let result: Awaited<ReturnType<typeof tokenAttempt>> | undefined
    void tokenAttempt(page, { endpoint: 'http://127.0.0.1:9', siteKey: 'demo', timeout: 1000, telemetry: false }).then((r) => (result = r))
    await driveClock(page, () => result !== undefined)
    expect(result).toMatchObject({ ok: false })
    // Two minutes of page time: any backoff would have fired.
    await page.clock.runFor(120_000)
    await page.evaluate(() => true)
    expect(sent).toEqual([])
    await page.context().close()
  })
})

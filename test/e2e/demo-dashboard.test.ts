/**
 * The demo as a new user sees it, on each store: Playwright shops (sign-in, coupon, cart,
 * checkout), an attacker's scripts fail verification, and the dashboard at /dashboard draws
 * all of it and keeps up as more happens. Screenshots land in test-results/.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdirSync } from 'node:fs'
import { devices, type Browser, type Page } from 'playwright-core'
import { launchChromium } from '../support/browser'
import { startTestCollector, type TestCollector } from '../support/collector'
import { startRedis, type RedisServer } from '../support/redis'
import { STORE_KINDS } from '../support/app'
import {
  STAGING_POLICY,
  addToCart,
  attackerTraffic,
  canvasInk,
  checkout,
  claimCoupon,
  setDemoPolicy,
  signIn,
  signInUntil,
  signOut,
  type Answer,
} from '../support/demo-flows'

const SHOTS = 'test-results'
const VERDICT_COLORS = { allow: '#34a853', review: '#fbbc04', deny: '#ea4335' }

let browser: Browser
beforeAll(async () => {
  browser = await launchChromium()
  mkdirSync(SHOTS, { recursive: true })
})
afterAll(async () => browser?.close())

interface DashboardData {
  verdicts: Record<string, number>
  reasons: Record<string, number>
  failures: Record<string, number>
  behaviour: number
  risk: number
  devices: Array<[string, string]>
  total: string
}

async function dashboardData(page: Page): Promise<DashboardData> {
  return page.evaluate(() => {
    type Ds = { label: string; data: number[] }
    const charts = (window as unknown as { __charts: Record<string, { data: { labels: string[]; datasets: Ds[] } }> }).__charts
    const total = (ds: Ds) => ds.data.reduce((a, b) => a + b, 0)
    const byLabel = (datasets: Ds[]) => Object.fromEntries(datasets.map((ds) => [ds.label, total(ds)]))
    const reasons = charts['reasons']!.data
    return {
      verdicts: byLabel(charts['verdicts']!.data.datasets),
      reasons: Object.fromEntries(reasons.labels.map((l, i) => [l, reasons.datasets[0]!.data[i]!])),
      failures: byLabel(charts['failures']!.data.datasets),
      behaviour: total(charts['scores']!.data.datasets[0]!),
      risk: total(charts['scores']!.data.datasets[1]!),
      devices: [...document.querySelectorAll('#devices tr')].map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '') as [string, string]),
      total: document.getElementById('t-total')!.textContent ?? '',
    }
  })
}

// Not on a Cluster: a browser run costs CI minutes, and the dashboard's store calls run on
// the Cluster in the unit project (collector-server/test/stores.test.ts, collect.test.ts).
describe.each(STORE_KINDS.filter((k) => k !== 'redis-cluster'))('the demo shop and its risk dashboard, on the %s store', (kind) => {
  let redis: RedisServer | undefined
  let collector: TestCollector

  beforeAll(async () => {
    if (kind === 'redis') redis = await startRedis()
    collector = await startTestCollector(redis ? { store: redis.url } : {})
  })
  afterAll(async () => {
    await collector?.close()
    await redis?.stop()
  })

  it('shops, gets allowed, stepped up and blocked, and the dashboard draws it live', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } })
    const shop = await context.newPage()
    const pageErrors: string[] = []
    shop.on('pageerror', (err) => pageErrors.push(String(err)))
    let tokens = 0
    shop.on('response', (res) => {
      if (res.url().endsWith('/v1/collect') && res.status() === 200) tokens++
    })
    await shop.goto(`${collector.url}/`)
    await shop.waitForSelector('[data-sku]')
    const answers: Answer[] = []
    const record = (a: Answer) => (answers.push(a), a)

    // Production policy: this browser is driven over CDP, and the shop refuses it.
    const refused = record(await signIn(shop, 'ann@example.com'))
    expect(refused).toMatchObject({ action: 'login', outcome: 'blocked', verdict: 'deny', status: 'Sign-in blocked.' })
    expect(refused.reasons).toContain('automation')
    expect(await shop.isVisible('#signed-in')).toBe(false)

    // Staging policy (the shop's own QA automation tolerated): now accounts and coupons decide.
    setDemoPolicy(collector.dataDir, STAGING_POLICY)
    const ann = record(await signInUntil(shop, 'ann@example.com', 'allowed'))
    expect(ann).toMatchObject({ outcome: 'allowed', verdict: 'allow' })
    expect(await shop.textContent('#account')).toBe('Signed in as ann@example.com')

    expect(record(await claimCoupon(shop))).toMatchObject({ action: 'coupon/claim', outcome: 'allowed', status: 'Coupon WELCOME5 added: $5 off your order.' })
    expect(record(await addToCart(shop, 'sku-001'))).toMatchObject({ action: 'cart/add', outcome: 'allowed' })
    expect(record(await addToCart(shop, 'sku-003'))).toMatchObject({ action: 'cart/add', outcome: 'allowed' })
    expect(await shop.textContent('#cart-total')).toBe('$44.98')
    const order = record(await checkout(shop))
    expect(order).toMatchObject({ action: 'checkout', outcome: 'allowed' })
    expect(order.status).toMatch(/^Order ord_[\w-]+ placed: \$44\.98\.$/)
    await shop.screenshot({ path: `${SHOTS}/demo-${kind}-shop.png`, fullPage: true })

    // A second account on the same device claims the same coupon: incentive abuse, stepped up.
    await signOut(shop)
    expect(record(await signIn(shop, 'bob@example.com'))).toMatchObject({ outcome: 'allowed' })
    const abuse = record(await claimCoupon(shop))
    expect(abuse).toMatchObject({ action: 'coupon/claim', outcome: 'step-up', verdict: 'review' })
    expect(abuse.reasons).toContain('coupon_abuse')
    expect(abuse.status).toBe('We need to verify it is you before giving out this coupon.')

    const failures = await attackerTraffic(collector.url)
    expect(failures).toEqual({ bad_signature: 1, replayed: 1, already_redeemed: 1 })
    tokens += 1 // the attacker's one genuine collect

    // The dashboard, in another tab of the same browser.
    const dash = await context.newPage()
    dash.on('pageerror', (err) => pageErrors.push(String(err)))
    await dash.goto(`${collector.url}/dashboard/#siteKey=demo&key=demo-secret`)
    await dash.waitForFunction(() => (window as unknown as { __lastUpdate?: number }).__lastUpdate !== undefined)
    await expect.poll(async () => (await dashboardData(dash)).total, { timeout: 10_000 }).toBe(String(tokens))
    const data = await dashboardData(dash)
    const count = (verdict: string) => answers.filter((a) => a.verdict === verdict).length
    // Every token the shop got is on the chart, under its verdict (the attacker's one was allowed or not: count it where it fell).
    expect(data.verdicts['allow']! + data.verdicts['review']! + data.verdicts['deny']!).toBe(tokens)
    expect(data.verdicts['review']).toBeGreaterThanOrEqual(count('review'))
    expect(data.verdicts['deny']).toBeGreaterThanOrEqual(count('deny'))
    expect(data.verdicts['allow']).toBeGreaterThanOrEqual(count('allow'))
    expect(data.reasons['automation']).toBeGreaterThanOrEqual(answers.filter((a) => a.reasons.includes('automation')).length)
    expect(data.reasons['coupon_abuse']).toBe(1)
    expect(data.failures).toMatchObject({ bad_signature: 1, replayed: 1, already_redeemed: 1 })
    expect(data.risk).toBe(tokens)
    // The shopper's device, with both accounts, tops the devices table.
    expect(data.devices[0]![1]).toBe('2')
    expect(data.devices[0]![0]).toMatch(/^[A-Za-z0-9_-]{22}$/)

    // And the charts drew it: the verdict colours, the reasons bars, the score histogram, the failure lines.
    const verdictInk = await canvasInk(dash, 'c-verdicts', Object.values(VERDICT_COLORS))
    for (const [verdict, color] of Object.entries(VERDICT_COLORS)) if (data.verdicts[verdict]! > 0) expect(verdictInk[color], verdict).toBeGreaterThan(50)
    expect((await canvasInk(dash, 'c-reasons', ['#8ab4f8', '#f28b82']))['#8ab4f8']).toBeGreaterThan(50)
    const scoreInk = await canvasInk(dash, 'c-scores', ['#c58af9', '#8ab4f8'])
    expect(scoreInk['#8ab4f8']).toBeGreaterThan(50)
    expect(Object.values(await canvasInk(dash, 'c-failures', ['#f28b82', '#fdd663', '#81c995'])).reduce((a, b) => a + b, 0)).toBeGreaterThan(20)

    // Live: one more action in the shop shows up within a few polls.
    const seen = tokens
    record(await addToCart(shop, 'sku-006'))
    expect(tokens).toBe(seen + 1) // counted by the response listener
    await expect.poll(async () => (await dashboardData(dash)).total, { timeout: 10_000 }).toBe(String(tokens))
    await dash.screenshot({ path: `${SHOTS}/demo-${kind}-dashboard.png`, fullPage: true })
    expect(pageErrors).toEqual([])
    await context.close()
  })

  it('lays out for a phone-sized webview: no sideways scrolling, thumb-sized controls', async () => {
    const context = await browser.newContext({ ...devices['Pixel 7'] })
    const shop = await context.newPage()
    await shop.goto(`${collector.url}/`)
    await shop.waitForSelector('[data-sku]')
    const layout = await shop.evaluate(() => {
      const buttons = [...document.querySelectorAll('button')].filter((b) => b.offsetParent !== null)
      const rect = (sel: string) => document.querySelector(sel)!.getBoundingClientRect()
      return {
        overflow: document.documentElement.scrollWidth - window.innerWidth,
        smallestButton: Math.min(...buttons.map((b) => b.getBoundingClientRect().height)),
        cartBelowProducts: rect('.cart').top >= rect('#products').bottom,
      }
    })
    expect(layout.overflow).toBeLessThanOrEqual(0)
    expect(layout.smallestButton).toBeGreaterThanOrEqual(40)
    expect(layout.cartBelowProducts).toBe(true)
    // Touch works end to end on it.
    await shop.tap('[data-sku="sku-002"]')
    // A first-time device: the cart's token waits for its proof of work.
    await expect.poll(() => shop.textContent('#cart-total'), { timeout: 15_000 }).toBe('$9.99')
    await shop.screenshot({ path: `${SHOTS}/demo-${kind}-mobile.png`, fullPage: true })
    await context.close()
  })

  it('asks for a key before it asks for stats, and stops asking when the key is refused', async () => {
    const context = await browser.newContext()
    const dash = await context.newPage()
    const asked: string[] = []
    context.on('request', (req) => void (req.url().includes('/v1/stats') && asked.push(req.headers()['authorization'] ?? '')))
    // Opened bare, as on a production collector: empty fields, no request.
    await dash.goto(`${collector.url}/dashboard/`)
    expect(await dash.inputValue('#siteKey')).toBe('')
    expect(await dash.inputValue('#secret')).toBe('')
    expect(await dash.textContent('#status')).toBe('enter a site key and its dashboard key')
    // A wrong key: refused once, shown, and not asked again on every poll.
    await dash.fill('#siteKey', 'demo')
    await dash.fill('#secret', 'wrong-secret')
    await dash.click('button[type=submit]')
    await expect.poll(() => dash.textContent('#status')).toContain('unauthorized')
    await dash.waitForTimeout(5_000) // two and a half polling periods
    expect(asked).toEqual(['Bearer wrong-secret'])
    // The demo's link followed in that tab (no new page loads) fills the form and goes live.
    await dash.goto(`${collector.url}/dashboard/#siteKey=demo&key=demo-secret`)
    await dash.waitForFunction(() => (window as unknown as { __lastUpdate?: number }).__lastUpdate !== undefined)
    expect(asked.at(-1)).toBe('Bearer demo-secret')
    // In a new tab: the key comes off the address bar, and a reload keeps it.
    const linked = await context.newPage()
    await linked.goto(`${collector.url}/dashboard/#siteKey=demo&key=demo-secret`)
    await linked.waitForFunction(() => (window as unknown as { __lastUpdate?: number }).__lastUpdate !== undefined)
    expect(new URL(linked.url()).hash).toBe('')
    await linked.reload()
    await linked.waitForFunction(() => (window as unknown as { __lastUpdate?: number }).__lastUpdate !== undefined)
    expect(await linked.inputValue('#secret')).toBe('demo-secret')
    await context.close()
  })

  it("stops on a proxy's refusal that is not JSON, and keeps asking through a timeout", async () => {
    for (const [status, body, expected] of [[403, '<html>Forbidden</html>', 1], [408, '', 3]] as const) {
      const context = await browser.newContext()
      const dash = await context.newPage()
      let asked = 0
      await dash.route('**/v1/stats*', (route) => {
        asked++
        return route.fulfill({ status, contentType: 'text/html', body })
      })
      await dash.goto(`${collector.url}/dashboard/#siteKey=demo&key=demo-secret`)
      await expect.poll(() => dash.textContent('#status')).toBe(`HTTP ${status}`)
      await dash.waitForTimeout(5_000)
      if (expected === 1) expect(asked, `HTTP ${status}`).toBe(1)
      else expect(asked, `HTTP ${status}`).toBeGreaterThanOrEqual(expected)
      await context.close()
    }
  })

  it('keeps the stats behind the site secret', async () => {
    const get = (auth?: string) => fetch(`${collector.url}/v1/stats?siteKey=demo`, auth ? { headers: { authorization: auth } } : {})
    expect((await get()).status).toBe(401)
    expect(await (await get('Bearer wrong-secret')).json()).toEqual({ error: { code: 'unauthorized', message: expect.any(String) } })
    expect((await fetch(`${collector.url}/v1/stats?siteKey=nope`, { headers: { authorization: 'Bearer demo-secret' } })).status).toBe(401)
    expect((await get('Bearer demo-secret')).status).toBe(200)
  })
})

/**
 * Private Access Tokens from the SDK's side, in Chromium. Chromium has no Private Access
 * Token support, so the Safari path itself is untested here (docs/webview.md says so).
 * What runs: Chromium as it is (the SDK must not ask), and a Safari-shaped context (Safari's
 * user agent and vendor) whose network layer a Playwright route plays Safari's part in:
 * it answers the collector's `WWW-Authenticate: PrivateToken` challenge with a token from
 * an issuer key the test makes, as Safari would after asking Apple's attester and the
 * issuer, or passes the 401 through, as Safari would when no token can be had.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, BrowserContext } from 'playwright-core'
import { launchChromium } from '../support/browser'
import { startTestCollector, type TestCollector } from '../support/collector'
import { TestIssuer, challengeFrom } from '../support/platform'
import { DEMO_SITE } from '../../collector-server/src/config/sites'
import type { CollectBody } from '@vigil-risk/core/protocol/schema'

const SAFARI_UA = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Safari/605.1.15'
const issuer = new TestIssuer()
let collector: TestCollector
let browser: Browser

beforeAll(async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'vigil-pat-'))
  const site = { ...DEMO_SITE, attestation: { privateTokens: { issuers: [{ name: issuer.name, tokenKeys: [issuer.tokenKey] }] } } }
  writeFileSync(join(dataDir, 'sites.json'), JSON.stringify({ sites: [site] }))
  collector = await startTestCollector({ dataDir })
  browser = await launchChromium()
})
afterAll(async () => {
  await browser?.close()
  await collector?.close()
})

/** Safari's user agent and vendor: what the SDK looks at to decide whether to ask. */
async function safariShaped(): Promise<BrowserContext> {
  const context = await browser.newContext({ userAgent: SAFARI_UA })
  await context.addInitScript(`Object.defineProperty(Navigator.prototype, 'vendor', { get: () => 'Apple Computer, Inc.' })`)
  return context
}

/** Safari's part: fetch a token for the challenge and repeat the request with it (or, with `mint` null, give up). */
async function playSafari(context: BrowserContext, mint: ((challenge: Buffer) => Buffer) | null, seen: string[]): Promise<void> {
  await context.route('**/v1/private-token?**', async (route) => {
    const first = await route.fetch()
    seen.push(String(first.status()))
    const header = first.headers()['www-authenticate'] ?? ''
    if (first.status() !== 401 || !header.startsWith('PrivateToken') || !mint) return route.fulfill({ response: first })
    const token = mint(challengeFrom(header, issuer.tokenKey)).toString('base64url')
    const second = await route.fetch({ headers: { ...route.request().headers(), authorization: `PrivateToken token="${token}"` } })
    seen.push(String(second.status()))
    return route.fulfill({ response: second })
  })
}

/** Adds a product to the cart on the demo shop: one getToken('cart/add'). */
async function addToCart(context: BrowserContext): Promise<{ payload: CollectBody['payload']; token: string; asked: boolean }> {
  const page = await context.newPage()
  let payload: CollectBody['payload'] | undefined
  let asked = false
  page.on('request', (r) => {
    if (r.url().endsWith('/v1/collect')) payload = (JSON.parse(r.postData()!) as CollectBody).payload
    if (r.url().includes('/v1/private-token')) asked = true
  })
  await page.goto(`${collector.url}/`)
  await page.waitForSelector('[data-sku]')
  const [request] = await Promise.all([page.waitForRequest('**/demo/api/cart'), page.click('[data-sku="sku-001"]')])
  return { payload: payload!, token: (JSON.parse(request.postData()!) as { token: string }).token, asked }
}

describe('Private Access Tokens and the SDK', () => {
  it('Chromium: the SDK does not ask, and the collect carries no receipt', async () => {
    const context = await browser.newContext()
    const { payload, token, asked } = await addToCart(context)
    expect(asked).toBe(false)
    expect(payload.privateToken).toBeUndefined()
    expect((await collector.inspect(token)).evidence).toEqual([])
    await context.close()
  })

  it('Safari-shaped, a token issued: the receipt rides in the collect, and the verdict counts it', async () => {
    const context = await safariShaped()
    const seen: string[] = []
    await playSafari(context, (challenge) => issuer.token(challenge), seen)
    const { payload, token, asked } = await addToCart(context)
    expect(asked).toBe(true)
    expect(seen).toEqual(['401', '200'])
    expect(payload.privateToken).toMatch(/^[\w-]+\.[\w-]{43}$/)
    const v = await collector.inspect(token)
    expect(v.evidence).toEqual([{ kind: 'private_token', status: 'verified', by: issuer.name }])
    await context.close()
  })

  it('Safari-shaped, no token to be had: the 401 reaches the SDK, which goes on without', async () => {
    const context = await safariShaped()
    const seen: string[] = []
    await playSafari(context, null, seen)
    const { payload, token } = await addToCart(context)
    expect(seen).toEqual(['401'])
    expect(payload.privateToken).toBeUndefined()
    expect((await collector.inspect(token)).evidence).toEqual([])
    await context.close()
  })
})

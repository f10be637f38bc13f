/**
 * The webview path: Playwright's mobile emulation (touch, mobile user agent) with a fake
 * native bridge in the page, as an app embedding the shop would provide.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { devices, type Browser, type BrowserContext } from 'playwright-core'
import { launchChromium } from '../support/browser'
import { startTestCollector, type TestCollector } from '../support/collector'
import { expandTrace } from '@vigil-risk/core/protocol/trace'
import type { CollectBody } from '@vigil-risk/core/protocol/schema'

let collector: TestCollector
let browser: Browser

const TIKTOK_WEBVIEW_UA =
  'Mozilla/5.0 (Linux; Android 14; Pixel 7 Build/AP2A.240805.005; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/156.0.0.0 Mobile Safari/537.36 musical_ly_2024103030 BytedanceWebview/d8a21c6'
const WECHAT_IOS_UA =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.50(0x1800323b) NetType/WIFI Language/en'

beforeAll(async () => {
  collector = await startTestCollector({
    workBits: 12,
    attestationVerifiers: {
      // Stands in for a Play Integrity verifier: accepts the token the fake app minted for this nonce.
      play_integrity: async ({ token, nonce }) => ({ verified: token === `integrity-for:${nonce}`, detail: 'test verifier' }),
    },
  })
  browser = await launchChromium()
})
afterAll(async () => {
  await browser?.close()
  await collector?.close()
})

/** An Android app's bridge (addJavascriptInterface): answers through window.postMessage. */
const androidBridge = (mint: string) => `window.VigilNative = {
  postMessage(text) {
    const m = JSON.parse(text)
    if (m.type !== 'vigil:attest') return
    setTimeout(() => window.postMessage(JSON.stringify({ type: 'vigil:attestation', id: m.id, platform: 'android', kind: 'play_integrity', token: ${mint} }), '*'), 30)
  },
}`

async function shopInWebview(context: BrowserContext): Promise<{ payload: CollectBody['payload']; token: string }> {
  const page = await context.newPage()
  let body: CollectBody | undefined
  page.on('request', (r) => {
    if (r.url().endsWith('/v1/collect')) body = JSON.parse(r.postData()!) as CollectBody // the checkout's comes last
  })
  await page.goto(`${collector.url}/`)
  await page.waitForSelector('[data-sku]')
  await page.tap('[data-sku="sku-001"]')
  await page.tap('[data-sku="sku-002"]')
  const [request] = await Promise.all([page.waitForRequest('**/demo/api/checkout'), page.tap('#checkout')])
  return { payload: body!.payload, token: (JSON.parse(request.postData()!) as { token: string }).token }
}

describe('webviews', () => {
  it('an Android WebView in TikTok with a native bridge: classified, attested, touches recorded', async () => {
    const context = await browser.newContext({ ...devices['Pixel 7'], userAgent: TIKTOK_WEBVIEW_UA })
    await context.addInitScript(androidBridge("'integrity-for:' + m.nonce"))
    const { payload, token } = await shopInWebview(context)
    expect(payload.attestation).toMatchObject({ platform: 'android', kind: 'play_integrity' })
    const v = await collector.inspect(token)
    expect(v.environment).toMatchObject({ engine: 'blink', mobile: true, webview: 'android_webview', inApp: 'tiktok' })
    expect(v.attestation).toBe('verified')
    expect(v.reasons).not.toContain('attestation_failed')
    const types = new Set(expandTrace(payload.behavior!.trace).map((e) => e.type))
    expect([...types]).toEqual(expect.arrayContaining(['touchstart', 'touchend']))
    await context.close()
  })

  it('an attestation minted for another payload fails the binding', async () => {
    const context = await browser.newContext({ ...devices['Pixel 7'], userAgent: TIKTOK_WEBVIEW_UA })
    // A replayed attestation: valid-looking, but for a nonce from another request.
    await context.addInitScript(androidBridge("'integrity-for:someone-elses-nonce'"))
    const { token } = await shopInWebview(context)
    const v = await collector.inspect(token)
    expect(v.attestation).toBe('failed')
    expect(v.reasons).toContain('attestation_failed')
    await context.close()
  })

  it('an iOS WKWebView (WeChat) with a webkit message handler and no verifier configured: unverified', async () => {
    const context = await browser.newContext({ ...devices['iPhone 15'], userAgent: WECHAT_IOS_UA })
    await context.addInitScript(`window.webkit = { messageHandlers: { vigil: { postMessage(m) {
      setTimeout(() => window.postMessage({ type: 'vigil:attestation', id: m.id, platform: 'ios', kind: 'app_attest', token: 'assertion-' + m.nonce }, '*'), 30)
    } } } }`)
    const { payload, token } = await shopInWebview(context)
    expect(payload.attestation).toMatchObject({ platform: 'ios', kind: 'app_attest' })
    const v = await collector.inspect(token)
    expect(v.environment).toMatchObject({ mobile: true, webview: 'ios_wkwebview', inApp: 'wechat' })
    expect(v.attestation).toBe('unverified')
    await context.close()
  })

  it('without a bridge there is no attestation, and getToken does not wait for one', async () => {
    const context = await browser.newContext({ ...devices['Pixel 7'] })
    const { payload, token } = await shopInWebview(context)
    expect(payload.attestation).toBeUndefined()
    expect((await collector.inspect(token)).attestation).toBe('absent')
    await context.close()
  })
})

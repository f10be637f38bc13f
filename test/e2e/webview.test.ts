/**
 * The webview path: Playwright's mobile emulation (touch, mobile user agent) with the
 * native bridge stubbed by the test, as an app embedding the shop would provide it. The
 * stub hands the page real platform evidence minted in Node: App Attest objects and
 * assertions certified by a test CA playing Apple (the collector trusts its root), and
 * Play Integrity tokens signed and encrypted with keys playing Play Console's. The
 * collector verifies them with its built-in verifiers, configured in sites.json.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { devices, type Browser, type BrowserContext } from 'playwright-core'
import { launchChromium } from '../support/browser'
import { startTestCollector, type TestCollector } from '../support/collector'
import { TestApple, TestAppAttestDevice } from '../support/app-attest'
import { APP_ID, BUNDLE_ID, PACKAGE, TEAM_ID, TestPlay } from '../support/platform'
import { DEMO_SITE } from '../../collector-server/src/config/sites'
import { REASON_WEIGHTS, TRUST_WEIGHTS, type ReasonCode } from '../../collector-server/src/risk/engine'
import { expandTrace } from '@vigil-risk/core/protocol/trace'
import type { CollectBody } from '@vigil-risk/core/protocol/schema'

let collector: TestCollector
let browser: Browser
const apple = new TestApple()
const play = new TestPlay()

const TIKTOK_WEBVIEW_UA =
  'Mozilla/5.0 (Linux; Android 14; Pixel 7 Build/AP2A.240805.005; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/156.0.0.0 Mobile Safari/537.36 musical_ly_2024103030 BytedanceWebview/d8a21c6'
const WECHAT_IOS_UA =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.50(0x1800323b) NetType/WIFI Language/en'

beforeAll(async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'vigil-webview-'))
  const attestation = { appAttest: { teamId: TEAM_ID, bundleIds: [BUNDLE_ID] }, playIntegrity: { packageNames: [PACKAGE], ...play.keys } }
  writeFileSync(join(dataDir, 'sites.json'), JSON.stringify({ sites: [{ ...DEMO_SITE, attestation, policy: { proofOfWork: { newDevice: 12 } } }] }))
  collector = await startTestCollector({ dataDir, appAttestRoots: [apple.rootPem] })
  browser = await launchChromium()
})
afterAll(async () => {
  await browser?.close()
  await collector?.close()
})

/** The app's side of the bridge, in Node: given the nonce the page asks with, the token the app would answer. */
type App = (nonce: string) => Promise<string> | string

/**
 * An Android app's bridge (addJavascriptInterface) or an iOS app's (WKScriptMessageHandler),
 * answering through window.postMessage with what `app` mints in Node.
 */
async function withBridge(context: BrowserContext, platform: 'android' | 'ios', kind: string, app: App): Promise<void> {
  await context.exposeFunction('vigilTestApp', (nonce: string) => app(nonce))
  const answer = `(m) => window.vigilTestApp(m.nonce).then((token) => window.postMessage(${platform === 'android' ? 'JSON.stringify' : ''}({ type: 'vigil:attestation', id: m.id, platform: '${platform}', kind: '${kind}', token }), '*'))`
  await context.addInitScript(
    platform === 'android'
      ? `window.VigilNative = { postMessage(text) { const m = JSON.parse(text); if (m.type === 'vigil:attest') (${answer})(m) } }`
      : `window.webkit = { messageHandlers: { vigil: { postMessage(m) { if (m.type === 'vigil:attest') (${answer})(m) } } } }`,
  )
}

async function shopInWebview(context: BrowserContext): Promise<{ payloads: Array<CollectBody['payload']>; token: string }> {
  const page = await context.newPage()
  const payloads: Array<CollectBody['payload']> = []
  page.on('request', (r) => {
    if (r.url().endsWith('/v1/collect')) payloads.push((JSON.parse(r.postData()!) as CollectBody).payload) // the checkout's comes last
  })
  await page.goto(`${collector.url}/`)
  await page.waitForSelector('[data-sku]')
  // One action at a time, as a shopper's taps come: each waits for its verdict in the
  // developer log. Two collects at once could reach the collector in either order, and the
  // attestation must be registered before an assertion is checked against it.
  const tapAndWait = async (selector: string): Promise<void> => {
    const before = Number((await page.getAttribute('#dev-log', 'data-count')) ?? 0)
    await page.tap(selector)
    await page.waitForFunction((n) => Number(document.getElementById('dev-log')!.dataset['count'] ?? 0) > n, before, { timeout: 20_000 })
  }
  await tapAndWait('[data-sku="sku-001"]')
  await tapAndWait('[data-sku="sku-002"]')
  const [request] = await Promise.all([page.waitForRequest('**/demo/api/checkout'), page.tap('#checkout')])
  return { payloads, token: (JSON.parse(request.postData()!) as { token: string }).token }
}

describe('webviews with platform evidence', () => {
  it('an iOS app (WeChat-style WKWebView) with App Attest: attested once, then asserting; the checkout gets the attested verdict', async () => {
    const context = await browser.newContext({ ...devices['iPhone 15'], userAgent: WECHAT_IOS_UA })
    const iphone = new TestAppAttestDevice(apple, APP_ID)
    const used: string[] = []
    // What the Swift bridge in docs/webview.md does: attest the key the first time, assert after.
    await withBridge(context, 'ios', 'app_attest', (nonce) => {
      used.push(used.length === 0 ? 'attestation' : 'assertion')
      return used.length === 1 ? iphone.attest(nonce) : iphone.assert(nonce)
    })
    const { payloads, token } = await shopInWebview(context)
    expect(used[0]).toBe('attestation')
    expect(used.length).toBeGreaterThanOrEqual(2)
    expect(payloads.at(-1)!.attestation).toMatchObject({ platform: 'ios', kind: 'app_attest' })
    const v = await collector.inspect(token)
    expect(v.environment).toMatchObject({ mobile: true, webview: 'ios_wkwebview', inApp: 'wechat' })
    expect(v.attestation).toBe('verified')
    expect(v.evidence).toEqual([{ kind: 'app_attest', status: 'verified', by: APP_ID }])
    expect(v.reasons).not.toContain('attestation_failed')
    // The attested verdict: the same reasons weigh half as much. (Playwright drives this
    // browser, so automation is among them: attested, it is a review rather than a deny.)
    const risk = 1 - v.reasons.reduce((kept, r) => kept * (1 - REASON_WEIGHTS[r as ReasonCode]), 1)
    expect(v.score).toBeCloseTo(risk * (1 - TRUST_WEIGHTS.app_attest), 2)
    if (v.reasons.includes('automation')) expect(v.verdict).toBe('review')
    await context.close()
  })

  it('an iOS app replaying an assertion: its counter does not rise, and the checkout is refused it', async () => {
    const context = await browser.newContext({ ...devices['iPhone 15'], userAgent: WECHAT_IOS_UA })
    const iphone = new TestAppAttestDevice(apple, APP_ID)
    let calls = 0
    await withBridge(context, 'ios', 'app_attest', (nonce) => (++calls === 1 ? iphone.attest(nonce) : iphone.assert(nonce, { counter: 1 })))
    const { token } = await shopInWebview(context)
    expect(calls).toBeGreaterThanOrEqual(3)
    const v = await collector.inspect(token)
    expect(v.evidence).toEqual([expect.objectContaining({ kind: 'app_attest', status: 'failed', reason: 'counter_replayed' })])
    expect(v.reasons).toContain('attestation_failed')
    await context.close()
  })

  it('an Android app (TikTok-style WebView) with Play Integrity: verified, touches recorded', async () => {
    const context = await browser.newContext({ ...devices['Pixel 7'], userAgent: TIKTOK_WEBVIEW_UA })
    await withBridge(context, 'android', 'play_integrity', (nonce) => play.token(play.verdict(nonce, Date.now())))
    const { payloads, token } = await shopInWebview(context)
    expect(payloads.at(-1)!.attestation).toMatchObject({ platform: 'android', kind: 'play_integrity' })
    const v = await collector.inspect(token)
    expect(v.environment).toMatchObject({ engine: 'blink', mobile: true, webview: 'android_webview', inApp: 'tiktok' })
    expect(v.attestation).toBe('verified')
    expect(v.evidence).toEqual([{ kind: 'play_integrity', status: 'verified', by: PACKAGE }])
    const types = new Set(expandTrace(payloads.at(-1)!.behavior!.trace).map((e) => e.type))
    expect([...types]).toEqual(expect.arrayContaining(['touchstart', 'touchend']))
    await context.close()
  })

  it('an Android app answering with a verdict minted for another request: refused', async () => {
    const context = await browser.newContext({ ...devices['Pixel 7'], userAgent: TIKTOK_WEBVIEW_UA })
    await withBridge(context, 'android', 'play_integrity', () => play.token(play.verdict('someone-elses-nonce', Date.now())))
    const { token } = await shopInWebview(context)
    const v = await collector.inspect(token)
    expect(v.attestation).toBe('failed')
    expect(v.evidence[0]).toMatchObject({ reason: 'nonce_mismatch' })
    expect(v.reasons).toContain('attestation_failed')
    await context.close()
  })

  it('an attestation of a kind no verifier handles: unverified', async () => {
    const context = await browser.newContext({ ...devices['iPhone 15'], userAgent: WECHAT_IOS_UA })
    await withBridge(context, 'ios', 'device_check', (nonce) => `token-for-${nonce}`)
    const { token } = await shopInWebview(context)
    const v = await collector.inspect(token)
    expect(v.attestation).toBe('unverified')
    expect(v.evidence[0]).toMatchObject({ kind: 'device_check', reason: 'no_verifier' })
    await context.close()
  })

  it('without a bridge there is no attestation, and getToken does not wait for one', async () => {
    const context = await browser.newContext({ ...devices['Pixel 7'] })
    const { payloads, token } = await shopInWebview(context)
    expect(payloads.at(-1)!.attestation).toBeUndefined()
    expect((await collector.inspect(token)).attestation).toBe('absent')
    await context.close()
  })
})

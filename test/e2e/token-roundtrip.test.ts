/**
 * The trusted path in a real Chromium: the demo shop obtains a token, the shop's
 * backend accepts it, and so do siteverify (once) and the built vigil/verify.
 */
import type * as VerifySource from '../../verify/src/index'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page, Request } from 'playwright-core'
import { launchChromium } from '../support/browser'
import { startTestCollector, type TestCollector } from '../support/collector'
import type { CollectBody } from '@vigil-risk/core/protocol/schema'

// The built artifact, as a merchant backend imports it (typed by its source).
const DIST_VERIFY = '../../dist/verify/index.js'
const { remoteJwks, verifyToken, accountHash } = (await import(DIST_VERIFY)) as typeof VerifySource

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

interface Watched {
  page: Page
  collects: CollectBody[]
  urls: string[]
  errors: string[]
}

async function openShop(init?: string): Promise<Watched> {
  const context = await browser.newContext()
  if (init) await context.addInitScript(init)
  const page = await context.newPage()
  const watched: Watched = { page, collects: [], urls: [], errors: [] }
  page.on('pageerror', (err) => watched.errors.push(String(err)))
  page.on('request', (req: Request) => {
    watched.urls.push(req.url())
    if (req.url().endsWith('/v1/collect')) watched.collects.push(JSON.parse(req.postData() ?? 'null') as CollectBody)
  })
  await page.goto(`${collector.url}/`)
  await page.waitForSelector('[data-sku]')
  return watched
}

async function checkout(page: Page): Promise<{ token: string; outcome: string; response: Record<string, unknown> }> {
  await page.click('[data-sku="sku-002"]')
  const [request] = await Promise.all([page.waitForRequest('**/demo/api/checkout'), page.click('#checkout')])
  const response = (await (await request.response())!.json()) as Record<string, unknown>
  const outcome = await page.textContent('#outcome')
  return { token: (JSON.parse(request.postData()!) as { token: string }).token, outcome: outcome ?? '', response }
}

describe('demo shop → collector → backend, in Chromium', () => {
  it('gets a token that the shop backend, vigil/verify and siteverify (once) accept', async () => {
    const { page, collects, errors, urls } = await openShop()
    const { token, outcome, response } = await checkout(page)
    // This browser is driven over the DevTools protocol: the shop sees a denied bot.
    // (test/redteam has the same path in a browser nothing drives, which is allowed.)
    expect(outcome).toBe('This order was blocked.')
    expect(response).toMatchObject({ ok: false, outcome: 'blocked', verification: { verdict: 'deny', action: 'checkout', hostname: '127.0.0.1' } })
    expect((response as { verification: { reasons: string[] } }).verification.reasons).toContain('automation')

    // What the SDK signed: a WebCrypto key on this Chromium, and no tweetnacl download.
    // One token for adding to the cart, one for the checkout.
    expect(collects.map((c) => c.payload.action)).toEqual(['cart/add', 'checkout'])
    expect(collects[1]!.payload.device.impl).toBe('webcrypto')
    expect(collects[1]!.payload.device.persisted).toBe(true)
    expect(collects[1]!.payload.fp?.visitorId).toMatch(/^[0-9a-f]{32}$/)
    expect(urls.some((u) => u.includes('vigil-nacl'))).toBe(false)

    const verified = await verifyToken(token, {
      secret: 'demo-secret',
      siteKey: 'demo',
      jwks: remoteJwks(`${collector.url}/.well-known/jwks.json`),
      action: 'checkout',
      hostname: '127.0.0.1',
    })
    expect(verified.deviceId).toBe(collects[1]!.payload.device.id)

    const siteverify = async () =>
      (await fetch(`${collector.url}/v1/siteverify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ secret: 'demo-secret', token }) })).json()
    expect(await siteverify()).toMatchObject({ success: true, verdict: 'deny', action: 'checkout', siteKey: 'demo', hostname: '127.0.0.1', deviceId: verified.deviceId })
    expect(await siteverify()).toEqual({ success: false, errorCodes: ['already_redeemed'] })

    // The shop backend refuses the same token a second time, too.
    const again = await page.evaluate(async (tok) => (await fetch('/demo/api/checkout', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: tok, items: ['sku-001'] }) })).json(), token)
    expect(again).toMatchObject({ ok: false, error: 'already_used' })
    expect(errors).toEqual([])
    await page.context().close()
  })

  it('sends an account only as the salted hash the shop backend can recompute', async () => {
    const { page, collects } = await openShop()
    const token = await page.evaluate<string>(`window.Vigil.init({ endpoint: location.origin, siteKey: 'demo' }).getToken('login', { account: ' Shopper@Example.COM ' })`)
    // The site's salt comes with every challenge (and in the token: verifyToken's account check uses it).
    const { accountSalt } = (await (await fetch(`${collector.url}/v1/challenge?siteKey=demo`)).json()) as { accountSalt: string }
    const expected = accountHash('shopper@example.com', accountSalt)
    expect(collects.at(-1)!.payload.account).toBe(expected)
    expect(JSON.stringify(collects.at(-1))).not.toMatch(/shopper/i)
    const verified = await verifyToken(token, { secret: 'demo-secret', siteKey: 'demo', jwks: remoteJwks(`${collector.url}/.well-known/jwks.json`), action: 'login', hostname: '127.0.0.1', account: 'SHOPPER@example.com' })
    expect(verified.account).toBe(expected)
    await expect(verifyToken(token, { secret: 'demo-secret', siteKey: 'demo', jwks: remoteJwks(`${collector.url}/.well-known/jwks.json`), action: 'login', hostname: '127.0.0.1', account: 'someone-else@example.com' })).rejects.toMatchObject({ code: 'wrong_account' })
    await page.context().close()
  })

  it('keeps one device identity across reloads, and a fresh profile gets another', async () => {
    const first = await openShop()
    await checkout(first.page)
    await first.page.reload()
    await first.page.waitForSelector('[data-sku]')
    await checkout(first.page)
    // Cart and checkout, twice: four tokens, one device.
    const ids = first.collects.map((c) => c.payload.device.id)
    expect(ids).toHaveLength(4)
    expect(new Set(ids).size).toBe(1)
    const second = await openShop()
    await checkout(second.page)
    expect(second.collects[1]!.payload.device.id).not.toBe(ids[0])
    await first.page.context().close()
    await second.page.context().close()
  })

  it('falls back to tweetnacl where WebCrypto has no Ed25519, loading it lazily, and the token verifies', async () => {
    // An older browser: WebCrypto exists, Ed25519 does not.
    const noEd25519 = `(() => {
      const generateKey = SubtleCrypto.prototype.generateKey
      SubtleCrypto.prototype.generateKey = function (algorithm, ...rest) {
        const name = typeof algorithm === 'string' ? algorithm : algorithm && algorithm.name
        if (String(name).toLowerCase() === 'ed25519') return Promise.reject(new DOMException('Unrecognized name.', 'NotSupportedError'))
        return generateKey.call(this, algorithm, ...rest)
      }
    })()`
    const { page, collects, urls, errors } = await openShop(noEd25519)
    const { response } = await checkout(page)
    expect(response).toMatchObject({ outcome: 'blocked', verification: { action: 'checkout' } })
    expect(collects[1]!.payload.device.impl).toBe('tweetnacl')
    expect(collects[1]!.payload.device.persisted).toBe(true)
    expect(urls.some((u) => u.endsWith('/sdk/vigil-nacl.mjs'))).toBe(true)
    // The tweetnacl key persists too.
    await page.reload()
    await page.waitForSelector('[data-sku]')
    await checkout(page)
    expect(collects).toHaveLength(4)
    expect(collects[3]!.payload.device).toEqual(collects[1]!.payload.device)
    expect(errors).toEqual([])
    await page.context().close()
  })

  it('keeps a tweetnacl key in localStorage where IndexedDB is unavailable', async () => {
    const noIdb = `Object.defineProperty(window, 'indexedDB', { get() { throw new DOMException('blocked', 'SecurityError') } })`
    const { page, collects, errors } = await openShop(noIdb)
    const { response } = await checkout(page)
    expect(response).toMatchObject({ outcome: 'blocked', verification: { action: 'checkout' } })
    expect(collects[1]!.payload.device).toMatchObject({ impl: 'tweetnacl', persisted: true })
    expect(await page.evaluate(() => localStorage.getItem('vigil.device.v1'))).toContain('"impl":"tweetnacl"')
    expect(errors).toEqual([])
    await page.context().close()
  })
})

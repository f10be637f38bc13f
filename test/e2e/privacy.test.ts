/**
 * Privacy, proven: a person types an e-mail and a password into the demo (real key
 * events) on a page whose URL carries a query string; nothing the SDK sends contains
 * a typed character sequence, a field value or the query string. Key events are in the
 * trace as timing only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Request } from 'playwright-core'
import { launchChromium } from '../support/browser'
import { startTestCollector, type TestCollector } from '../support/collector'
import { expandTrace } from '@vigil-risk/core/protocol/trace'
import type { CollectBody } from '@vigil-risk/core/protocol/schema'

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

const EMAIL = 'privacy.tester@example.com'
const PASSWORD = 'Tr0ub4dor&3-horse'
const QUERY = 'utm_source=newsletter&email=leak%40example.org&session=SESSIONSECRET123'

/** Every substring of at least five characters: no run of typed characters may leave. */
function fragments(text: string, min = 5): string[] {
  const out = new Set<string>()
  for (let i = 0; i + min <= text.length; i++) for (let j = i + min; j <= text.length; j++) out.add(text.slice(i, j))
  return [...out]
}

describe('privacy', () => {
  it('sends no typed characters, field values or query strings; keys only as timing', async () => {
    const page = await browser.newPage()
    const sent: Array<{ url: string; body: string }> = []
    const headers: Array<Promise<{ url: string; headers: Record<string, string> }>> = []
    page.on('request', (req: Request) => {
      const url = req.url()
      // Everything that goes to the collector's API or loads SDK code.
      if (url.includes('/v1/') || url.includes('/sdk/') || url.includes('/.well-known/')) sent.push({ url, body: req.postData() ?? '' })
      // The SDK's own requests, headers and all (the script's own request is the page's).
      if (url.includes('/v1/')) headers.push(req.allHeaders().then((h) => ({ url, headers: h })))
    })
    await page.goto(`${collector.url}/?${QUERY}#frag`)
    await page.waitForSelector('[data-sku]')
    await page.click('#email')
    await page.keyboard.type(EMAIL, { delay: 35 })
    await page.click('#password')
    await page.keyboard.type(PASSWORD, { delay: 35 })
    const [login] = await Promise.all([page.waitForResponse('**/demo/api/login'), page.click('#signin-button')])
    expect(login.status()).toBe(200)

    const collects = sent.filter((s) => s.url.endsWith('/v1/collect'))
    expect(collects).toHaveLength(1)
    const forbidden = [...fragments(EMAIL), ...fragments(PASSWORD), 'SESSIONSECRET123', 'utm_source', 'newsletter', 'leak%40example', 'leak@example', '#frag']
    for (const { url, body } of sent) {
      for (const f of forbidden) {
        expect(url.includes(f), `${f} in ${url}`).toBe(false)
        expect(body.includes(f), `${f} in the body sent to ${url}`).toBe(false)
      }
    }
    // The collector shares the page's origin here, where a Referer would be the whole URL.
    const sentHeaders = await Promise.all(headers)
    expect(sentHeaders.length).toBeGreaterThanOrEqual(2)
    for (const { url, headers: h } of sentHeaders) {
      expect(h['referer'], `Referer on ${url}`).toBeUndefined()
      const all = JSON.stringify(h)
      for (const f of forbidden) expect(all.includes(f), `${f} in a header sent to ${url}`).toBe(false)
    }

    const { payload } = JSON.parse(collects[0]!.body) as CollectBody
    expect(payload.hostname).toBe('127.0.0.1')
    const events = expandTrace(payload.behavior!.trace)
    const keys = events.filter((e) => e.type === 'keydown' || e.type === 'keyup')
    // Every character typed went down and up, and the trace kept when, not what.
    expect(keys.length).toBeGreaterThanOrEqual(2 * (EMAIL.length + PASSWORD.length))
    for (const k of keys) expect(Object.keys(k).sort()).toEqual(['t', 'type'])
    // Key columns carry nothing but timing.
    const { k, x, y, b, c } = payload.behavior!.trace
    k.forEach((code, i) => {
      if (code === 9 || code === 10) expect([x[i], y[i], b[i], c[i]]).toEqual([0, 0, 0, 0])
    })
    await page.close()
  })
})

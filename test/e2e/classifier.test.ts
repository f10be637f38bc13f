/**
 * The classifier in the browser: the lazily loaded chunk scores the golden traces as the
 * collector does (within 1e-5), loads only after the page is idle, and its score travels
 * in the signed payload, where the collector's own re-score agrees with it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import type { Browser } from 'playwright-core'
import { launchChromium } from '../support/browser'
import { startTestCollector, type TestCollector } from '../support/collector'
import { compactTrace, type TraceEvent } from '@vigil-risk/core/protocol/trace'
import { extractFeatures } from '@vigil-risk/core/features'
import { forward } from '@vigil-risk/core/classifier/model'
import { classifier } from '../../collector-server/src/risk/behavior'
import type { CollectBody } from '@vigil-risk/core/protocol/schema'

let collector: TestCollector
let browser: Browser
const golden = readFileSync('test/fixtures/traces/golden.jsonl', 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: string; events: TraceEvent[] })

beforeAll(async () => {
  collector = await startTestCollector({ workBits: 12 })
  browser = await launchChromium()
})
afterAll(async () => {
  await browser?.close()
  await collector?.close()
})

describe('classifier chunk in Chromium', () => {
  it('scores the golden traces as the collector does, within 1e-5', async () => {
    const page = await browser.newPage()
    await page.route(`${collector.url}/blank`, (r) => r.fulfill({ contentType: 'text/html', body: '<!doctype html><p>x</p>' }))
    await page.goto(`${collector.url}/blank`)
    const compact = golden.map((g) => compactTrace(g.events))
    const browserScores = await page.evaluate<Array<{ score: number | null; model: string }>>(`(async () => {
      const { createScorer } = await import('/sdk/vigil-classifier.mjs')
      const score = await createScorer()
      return ${JSON.stringify(compact)}.map((t) => score(t))
    })()`)
    expect(browserScores).toHaveLength(golden.length)
    let compared = 0
    golden.forEach((g, i) => {
      // The server scores the trace as it arrives: expanded from the same compact form.
      const f = extractFeatures(g.events)
      const server = f.sufficient ? forward(classifier, f.vector) : null
      expect(browserScores[i]!.model).toBe(classifier.version)
      if (server === null) expect(browserScores[i]!.score, g.id).toBeNull()
      else {
        expect(Math.abs(browserScores[i]!.score! - server), g.id).toBeLessThanOrEqual(1e-5)
        compared++
      }
    })
    expect(compared).toBeGreaterThanOrEqual(10)
    await page.close()
  })

  it('loads after the page is idle, and its score travels in the payload and agrees with the re-score', async () => {
    const page = await browser.newPage()
    const loads: Array<{ url: string; at: number }> = []
    const started = Date.now()
    page.on('request', (r) => loads.push({ url: r.url(), at: Date.now() - started }))
    let body: CollectBody | undefined
    page.on('request', (r) => {
      if (r.url().endsWith('/v1/collect')) body = JSON.parse(r.postData()!) as CollectBody
    })
    // Listening before the navigation: on a fast machine the chunk may load before the products render.
    const chunkRequested = page.waitForRequest('**/sdk/vigil-classifier.mjs')
    await page.goto(`${collector.url}/`)
    await page.waitForSelector('[data-sku]')
    await chunkRequested
    // Not among the page's own first requests: it waits for load, the fingerprint and the signals.
    const chunk = loads.findIndex((l) => l.url.endsWith('/sdk/vigil-classifier.mjs'))
    expect(loads.findIndex((l) => l.url.endsWith('/demo/api/products'))).toBeLessThan(chunk)
    await page.waitForFunction(() => performance.getEntriesByName('vigil:classifier').length > 0)
    // Enough pointer behaviour for the classifier to judge.
    for (let i = 0; i < 4; i++) await page.mouse.move(100 + i * 150, 200 + i * 40, { steps: 12 })
    await page.click('[data-sku="sku-003"]')
    const [request] = await Promise.all([page.waitForRequest('**/demo/api/checkout'), page.click('#checkout')])
    const token = (JSON.parse(request.postData()!) as { token: string }).token
    expect(body!.payload.behavior!.client).toMatchObject({ model: classifier.version })
    const client = body!.payload.behavior!.client!.score
    expect(typeof client).toBe('number')
    const v = await collector.inspect(token)
    expect(v.behavior).toMatchObject({ model: classifier.version })
    expect(Math.abs(v.behavior!.server! - client!)).toBeLessThanOrEqual(1e-5)
    expect(v.detections.find((d) => d.detector === 'classifier')).toBeUndefined()
    await page.close()
  })
})

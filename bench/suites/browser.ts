/**
 * Browser-side benchmarks in Chromium against the real collector: long tasks on the
 * demo page, recorder cost per event, getToken latency. Baselines: the same page with
 * FingerprintJS alone, and without either.
 */
import { readFileSync } from 'node:fs'
import { recorderBundle } from '../../test/support/recorder-bundle'
import type { Browser, Page } from 'playwright-core'
import { launchChromium } from '../../test/support/browser'
import { startTestCollector, type TestCollector } from '../../test/support/collector'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DEMO_SITE } from '../../collector-server/src/config/sites'
import type { PolicyConfig } from '../../collector-server/src/risk/policy'
import { STAGING_POLICY } from '../../test/support/demo-flows'
import { BUDGETS } from '../budgets'
import type { SuiteResult } from '../types'
import { median, quantile } from '../stats'

const FPJS = readFileSync('node_modules/@fingerprintjs/fingerprintjs/dist/fp.min.js', 'utf8')
/** The demo page calls Vigil.init at load; with FingerprintJS alone, init only loads the agent. */
const FPJS_SHIM = `${FPJS};window.Vigil={init(){const a=FingerprintJS.load({monitoring:false});return{getToken:async()=>(await (await a).get()).visitorId,destroy(){}}}};`
const NO_SDK_SHIM = `window.Vigil={init(){return{getToken:async()=>'none',destroy(){}}}};`

type Variant = 'vigil' | 'fpjs' | 'none'

async function withEnv<T>(run: (collector: TestCollector, browser: Browser) => Promise<T>, policy?: PolicyConfig): Promise<T> {
  const dataDir = mkdtempSync(join(tmpdir(), 'vigil-bench-'))
  if (policy) writeFileSync(join(dataDir, 'sites.json'), JSON.stringify({ sites: [{ ...DEMO_SITE, policy }] }))
  const collector = await startTestCollector({ dataDir })
  const browser = await launchChromium()
  try {
    return await run(collector, browser)
  } finally {
    await browser.close()
    await collector.close()
  }
}

async function openDemo(browser: Browser, collector: TestCollector, variant: Variant): Promise<Page> {
  const page = await browser.newPage()
  // Long tasks (any cause), and the browser's own attribution of script time to the SDK
  // file (Long Animation Frame script timing: the script that ran, and for how long).
  await page.addInitScript(`window.__longtasks = []; window.__sdkScripts = []
    new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__longtasks.push(Math.round(e.duration)) }).observe({ type: 'longtask', buffered: true })
    if (PerformanceObserver.supportedEntryTypes.includes('long-animation-frame')) new PerformanceObserver((l) => { for (const f of l.getEntries()) for (const s of f.scripts) if ((s.sourceURL || '').endsWith('/sdk/vigil.min.js')) window.__sdkScripts.push(Math.round(s.duration)) }).observe({ type: 'long-animation-frame', buffered: true })`)
  if (variant !== 'vigil') {
    await page.route('**/sdk/vigil.min.js', (route) => route.fulfill({ contentType: 'application/javascript', body: variant === 'fpjs' ? FPJS_SHIM : NO_SDK_SHIM }))
  }
  await page.goto(`${collector.url}/`)
  return page
}


export async function longTasks(): Promise<SuiteResult> {
  const RUNS = 10
  return withEnv(async (collector, browser) => {
    const tasks: Record<Variant, number[]> = { vigil: [], fpjs: [], none: [] }
    const scripts: Record<Variant, number[]> = { vigil: [], fpjs: [], none: [] }
    for (let run = 0; run < RUNS; run++) {
      for (const variant of ['none', 'fpjs', 'vigil'] as Variant[]) {
        const page = await openDemo(browser, collector, variant)
        await page.waitForTimeout(2500)
        // A shopper checks out: one token, as the demo does on its button.
        await page.evaluate(`window.Vigil.init({ endpoint: location.origin, siteKey: 'demo' }).getToken('checkout').catch(() => {})`)
        await page.waitForTimeout(1500)
        tasks[variant].push(...(await page.evaluate<number[]>('window.__longtasks')))
        scripts[variant].push(...(await page.evaluate<number[]>('window.__sdkScripts')))
        await page.close()
      }
    }
    const attributable = Math.max(0, tasks.vigil.length - tasks.none.length)
    const longScripts = (v: Variant): number => scripts[v].filter((d) => d >= 50).length
    return {
      suite: 'longtasks',
      rows: [
        { metric: `long tasks ≥ 50 ms, demo page without any SDK (${RUNS} loads)`, value: tasks.none.length, unit: '', baseline: true },
        { metric: `long tasks ≥ 50 ms, demo page with FingerprintJS alone (${RUNS} loads)`, value: tasks.fpjs.length, unit: '' },
        { metric: `long tasks ≥ 50 ms, demo page with Vigil (${RUNS} loads)`, value: tasks.vigil.length, unit: '' },
        { metric: 'long tasks attributable to Vigil (Vigil − no SDK)', value: attributable, unit: '', budget: BUDGETS.sdkLongTasks, pass: attributable <= BUDGETS.sdkLongTasks },
        { metric: 'script runs of the SDK file ≥ 50 ms, FingerprintJS alone (browser attribution, LoAF)', value: longScripts('fpjs'), unit: '', baseline: true },
        { metric: 'script runs of the SDK file ≥ 50 ms, Vigil (browser attribution, LoAF)', value: longScripts('vigil'), unit: '', budget: 0, pass: longScripts('vigil') === 0 },
        { metric: 'longest SDK script run, FingerprintJS alone', value: Math.max(0, ...scripts.fpjs), unit: 'ms' },
        { metric: 'longest SDK script run, Vigil', value: Math.max(0, ...scripts.vigil), unit: 'ms', ratio: Math.max(0, ...scripts.vigil) / Math.max(1, ...scripts.fpjs) },
      ],
      notes: [
        `long task durations (ms): none=[${tasks.none.join(', ')}] fpjs=[${tasks.fpjs.join(', ')}] vigil=[${tasks.vigil.join(', ')}]`,
        'LoAF attributes script time inside frames longer than 50 ms only; shorter SDK scripts are not listed.',
      ],
    }
  })
}

export async function recorderCost(): Promise<SuiteResult> {
  const bundle = await recorderBundle({ minify: true })
  return withEnv(async (collector, browser) => {
    const page = await browser.newPage()
    await page.route(`${collector.url}/bench/recorder`, (route) =>
      route.fulfill({ contentType: 'text/html', body: `<!doctype html><script>${bundle}</script>` }),
    )
    await page.goto(`${collector.url}/bench/recorder`)
    // Batches of event objects shaped as the browser's; per-event time = batch time / size.
    const result = await page.evaluate<{ rec: number[]; ptr: number[]; base: number[]; disp: number[]; none: number[] }>(`(() => {
      const BATCH = 20000, BATCHES = 60
      const kinds = ['mousemove', 'mousemove', 'mousemove', 'mousedown', 'mouseup', 'click', 'wheel', 'keydown', 'keyup', 'scroll']
      const events = Array.from({ length: BATCH }, (_, i) => ({ type: kinds[i % kinds.length], isTrusted: true, timeStamp: performance.now() + i, clientX: i % 800, clientY: i % 600, button: 0, deltaX: 0, deltaY: 3, deltaMode: 0 }))
      const recorder = window.__startRecorder(window)
      let sink = 0
      const noop = (e) => { sink += e.clientX }
      const time = (fn) => { const out = []; for (let b = 0; b < BATCHES; b++) { const t = performance.now(); for (let i = 0; i < BATCH; i++) fn(events[i]); out.push((performance.now() - t) * 1000 / BATCH) } return out }
      // Pointer events for the input evidence, shaped as the browser's (coalesced lists included).
      const one = []
      const pointers = Array.from({ length: BATCH }, (_, i) => ({ type: i % 10 === 9 ? 'pointerrawupdate' : 'pointermove', isTrusted: true, pointerType: 'mouse', pointerId: 1, pressure: 0, width: 1, height: 1, buttons: 0, timeStamp: performance.now() - 3, clientX: i % 800, clientY: i % 600, screenX: i % 800, screenY: i % 600, movementX: 1, movementY: 1, getCoalescedEvents: () => [one], getPredictedEvents: () => one }))
      time(recorder.record); time(noop); time(recorder.recordPointer)
      const rec = time(recorder.record)
      const ptr = time(recorder.recordPointer)
      const base = time(noop)
      recorder.stop()
      // A real listener round trip too: dispatching untrusted events (counted, not stored).
      const r2 = window.__startRecorder(window)
      const ev = new MouseEvent('mousemove', { clientX: 1, clientY: 2 })
      const disp = []; for (let b = 0; b < 20; b++) { const t = performance.now(); for (let i = 0; i < 2000; i++) window.dispatchEvent(ev); disp.push((performance.now() - t) * 1000 / 2000) }
      r2.stop()
      const opts = { capture: true, passive: true }
      window.addEventListener('mousemove', noop, opts)
      const none = []; for (let b = 0; b < 20; b++) { const t = performance.now(); for (let i = 0; i < 2000; i++) window.dispatchEvent(ev); none.push((performance.now() - t) * 1000 / 2000) }
      window.removeEventListener('mousemove', noop, opts)
      return { rec, ptr, base, disp, none, sink }
    })()`)
    await page.close()
    const rec = median(result.rec)
    const base = median(result.base)
    return {
      suite: 'recorder',
      rows: [
        { metric: 'no-op handler, per event (median of 60 batches of 20,000)', value: base, unit: 'µs', baseline: true },
        { metric: 'recorder, per trusted event (median)', value: rec, unit: 'µs', ratio: rec / base, budget: BUDGETS.recorderMicrosPerEvent, pass: rec <= BUDGETS.recorderMicrosPerEvent },
        { metric: 'recorder, per pointer event: input evidence (median)', value: median(result.ptr), unit: 'µs', ratio: median(result.ptr) / base, budget: BUDGETS.recorderMicrosPerEvent, pass: median(result.ptr) <= BUDGETS.recorderMicrosPerEvent },
        { metric: 'dispatchEvent(mousemove) to a no-op listener (the browser\'s own cost)', value: median(result.none), unit: 'µs' },
        { metric: 'dispatchEvent(mousemove) to the recorder', value: median(result.disp), unit: 'µs', ratio: median(result.disp) / median(result.none) },
      ],
    }
  })
}

/**
 * getToken for a returning device with a clean history, as most of a shop's traffic is: the
 * first token makes the device known and allowed (the bench site's staging policy does not
 * weigh this automated browser's automation or its software GPU, as a staging site would
 * not, and lifts the velocity limit the loop would hit), so later challenges ask for no work. The first token of a page, for a first-time device, is the
 * proof of work's budget (the pow suite).
 */
export async function getTokenLatency(): Promise<SuiteResult> {
  const N = 40
  return withEnv(async (collector, browser) => {
    const measure = async (variant: Variant): Promise<number[]> => {
      const page = await openDemo(browser, collector, variant)
      await page.waitForTimeout(2000)
      const times = await page.evaluate<number[]>(`(async () => {
        const client = window.Vigil.init({ endpoint: location.origin, siteKey: 'demo' })
        await new Promise((r) => setTimeout(r, 500))
        const out = []
        for (let i = 0; i < ${N}; i++) { const t = performance.now(); await client.getToken('checkout'); out.push(performance.now() - t) }
        return out
      })()`)
      await page.close()
      return times
    }
    const fpjs = await measure('fpjs')
    const vigil = await measure('vigil')
    const p50 = median(vigil)
    return {
      suite: 'gettoken',
      rows: [
        { metric: `FingerprintJS agent.get(), p50 of ${N}, page open ≥ 2 s`, value: median(fpjs), unit: 'ms', baseline: true },
        { metric: `Vigil getToken() against the local collector, returning device, p50 of ${N}`, value: p50, unit: 'ms', ratio: p50 / median(fpjs), budget: BUDGETS.getTokenP50Ms, pass: p50 <= BUDGETS.getTokenP50Ms },
        { metric: 'Vigil getToken(), p95', value: quantile(vigil, 0.95), unit: 'ms', ratio: quantile(vigil, 0.95) / quantile(fpjs, 0.95) },
        { metric: 'FingerprintJS agent.get(), p95', value: quantile(fpjs, 0.95), unit: 'ms' },
      ],
    }
    // Forty tokens in a row are velocity to the collector: a shopper does not do that. And the
    // bench machine renders in software, an emulator signal that no shopper's GPU gives.
  }, { ...STAGING_POLICY, weights: { ...STAGING_POLICY.weights, emulator: 0 }, limits: { actionsPerMinute: 999 } })
}

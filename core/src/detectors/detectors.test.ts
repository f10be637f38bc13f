import { describe, expect, it } from 'vitest'
import { readFileSync, readdirSync } from 'node:fs'
import fc from 'fast-check'
import { runDetectors, type Signals } from './index'
import { valueOf } from './types'

const FIXTURES = 'test/fixtures/signals'
const load = (name: string): Signals => (JSON.parse(readFileSync(`${FIXTURES}/${name}.json`, 'utf8')) as { signals: Signals }).signals
const found = (name: string): string[] => runDetectors(load(name)).detections.map((d) => `${d.code}/${d.detector}`).sort()

describe('detectors on signals captured from real Chromium', () => {
  it('plain Chromium with nothing attached: nothing', () => {
    expect(found('chromium-plain')).toEqual([])
  })

  it('headless Playwright: webdriver, HeadlessChrome, CDP; SwiftShader as emulator', () => {
    expect(found('chromium-playwright-headless')).toEqual(['automation/cdp', 'automation/headless', 'automation/webdriver', 'emulator/software_renderer'])
  })

  it('headful Playwright with AutomationControlled off: CDP and the emulated viewport', () => {
    expect(found('chromium-playwright-headful')).toEqual(['automation/cdp', 'emulator/software_renderer', 'tampering/viewport_emulation'])
  })

  it('Playwright with the stealth plugin: CDP, and everything stealth patched', () => {
    expect(found('chromium-playwright-stealth')).toEqual([
      'automation/cdp',
      'emulator/software_renderer',
      'tampering/lies',
      'tampering/permissions',
      'tampering/viewport_emulation',
      'tampering/worker_mismatch',
    ])
    const report = runDetectors(load('chromium-playwright-stealth'))
    expect(report.detections.find((d) => d.detector === 'worker_mismatch')?.detail).toMatch(/platform.*hardwareConcurrency/)
  })
})

describe('false-positive guards: unusual browsers are classified, not punished', () => {
  it.each([
    ['brave-windows', { engine: 'blink', browser: 'brave', privacy: ['brave'], webview: null, inApp: null }],
    ['firefox-resist-fingerprinting', { engine: 'gecko', browser: 'firefox', privacy: ['firefox_rfp'], webview: null, inApp: null }],
    ['safari-ios', { engine: 'webkit', browser: 'safari', mobile: true, privacy: [], webview: null, inApp: null }],
    ['android-webview-tiktok', { engine: 'blink', mobile: true, webview: 'android_webview', inApp: 'tiktok' }],
    ['samsung-internet', { engine: 'blink', browser: 'samsung', mobile: true, webview: null, inApp: null }],
    ['wechat-ios', { engine: 'webkit', mobile: true, webview: 'ios_wkwebview', inApp: 'wechat' }],
    ['chrome-canvas-shield-extension', { engine: 'blink', privacy: ['fingerprint_shield'] }],
  ])('%s', (name, environment) => {
    const report = runDetectors(load(name))
    expect(report.environment).toMatchObject(environment)
    expect(report.detections.filter((d) => d.code === 'automation' || d.code === 'tampering')).toEqual([])
  })

  it('an open DevTools window is a CDP client like any other (documented false positive)', () => {
    expect(found('chromium-devtools-opened')).toEqual(['automation/cdp'])
  })
})

describe('single detectors', () => {
  const plain = (): Signals => load('chromium-plain')
  const set = (signals: Signals, name: keyof Signals, value: unknown): Signals => ({ ...signals, [name]: { value, duration: 1 } })

  it('a deleted navigator.webdriver, or own properties on navigator, is tampering', () => {
    const s = set(plain(), 'webdriver', { value: null, present: false, ownKeys: ['webdriver'] })
    expect(runDetectors(s).detections.map((d) => d.detail)).toEqual(['navigator.webdriver was deleted', 'navigator has own properties: webdriver'])
  })

  it('automation globals name the framework', () => {
    const d = runDetectors(set(plain(), 'automation', ['__nightmare', 'document.$cdc_asdjflasutopfhvcZLmcfl_'])).detections
    expect(d).toEqual([{ code: 'automation', detector: 'automation_globals', detail: '__nightmare,document.$cdc_asdjflasutopfhvcZLmcfl_' }])
  })

  it('getToken called from page.evaluate is automation', () => {
    expect(runDetectors(set(plain(), 'callStack', ['__playwright_evaluation_script__'])).detections[0]).toMatchObject({ code: 'automation', detector: 'cdp' })
  })

  it('old headless Chrome: notifications denied while the permission state says prompt', () => {
    const d = runDetectors(set(plain(), 'permissions', { notification: 'denied', query: 'prompt' })).detections
    expect(d).toEqual([{ code: 'automation', detector: 'headless', detail: "notifications 'denied' but permission state 'prompt'" }])
  })

  it('a spoofed user agent that forgets platform and client hints is tampering', () => {
    const s = plain()
    const ua = valueOf(s, 'userAgent')!
    const spoofed = set(s, 'userAgent', { ...ua, ua: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/150.0.0.0 Safari/537.36' })
    const details = runDetectors(spoofed).detections.filter((d) => d.detector === 'ua_consistency').map((d) => d.detail)
    expect(details).toEqual([
      "windows user agent on platform 'Linux x86_64'",
      "windows user agent with client-hint platform 'Linux'",
      'Chrome/150 in the user agent but Chromium/156 in client hints',
    ])
  })

  it('a mobile user agent on a device with no touch screen is tampering', () => {
    const s = load('samsung-internet')
    const hw = valueOf(s, 'hardware')!
    expect(runDetectors(set(s, 'hardware', { ...hw, touchPoints: 0 })).detections.map((d) => d.detail)).toContain('android user agent without a touch screen')
  })

  it('desktop Chromium with its PDF viewer on but no plugins has had them emptied', () => {
    const d = runDetectors(set(plain(), 'plugins', { plugins: 0, mimeTypes: 0, pdfViewer: true })).detections
    expect(d).toEqual([{ code: 'tampering', detector: 'headless', detail: 'PDF viewer on, but 0 plugins and 0 MIME types' }])
    // PDF viewer disabled by policy: no plugins, and nothing wrong.
    expect(runDetectors(set(plain(), 'plugins', { plugins: 0, mimeTypes: 0, pdfViewer: false })).detections).toEqual([])
  })

  it('a fullscreen window is not an emulated viewport', () => {
    const s = set(plain(), 'screen', { inner: [1920, 1080], outer: [1920, 1080], screen: [1920, 1080], avail: [1920, 1040], dpr: 1, position: [0, 0] })
    expect(runDetectors(s).detections).toEqual([])
  })

  it('software renderers and emulators are emulator, never automation', () => {
    const worker = valueOf(plain(), 'worker')!
    const s = set(plain(), 'worker', { ...worker, webglRenderer: 'ANGLE (Google, Android Emulator OpenGL ES Translator (Google SwiftShader))' })
    expect(runDetectors(s).detections.map((d) => d.code)).toEqual(['emulator'])
  })
})

describe('robustness: signals come from the network', () => {
  it('never throws, whatever arrives, and malformed signals count as tampering', () => {
    const names = [...new Set(readdirSync(FIXTURES).flatMap((f) => Object.keys((JSON.parse(readFileSync(`${FIXTURES}/${f}`, 'utf8')) as { signals: object }).signals)))]
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...names), fc.oneof(fc.jsonValue(), fc.record({ value: fc.jsonValue(), duration: fc.double() }))), (junk) => {
        const report = runDetectors(junk)
        for (const d of report.detections) expect(['automation', 'tampering', 'emulator']).toContain(d.code)
      }),
      { numRuns: 2000 },
    )
    const broken = runDetectors({ ...load('chromium-plain'), screen: { value: { inner: 'wide' }, duration: 1 } } as unknown as Signals)
    expect(broken.detections).toContainEqual({ code: 'tampering', detector: 'viewportEmulation', detail: 'malformed signals' })
    expect(broken.detections.every((d) => d.code === 'tampering' && d.detail === 'malformed signals')).toBe(true)
  })
})

/**
 * Writes the detector fixtures for browsers the test machine does not have (Brave,
 * Firefox with resistFingerprinting, Safari on iOS, in-app webviews, Samsung Internet):
 * each is chromium-plain.json (captured) changed to the values that browser is
 * documented to report. Run after scripts/capture-signal-fixtures.ts:
 *
 *   npx tsx scripts/model-signal-fixtures.ts
 */
import { readFileSync, writeFileSync } from 'node:fs'

type Signals = Record<string, { value?: unknown; duration: number }>
const DIR = 'test/fixtures/signals'
const base = (JSON.parse(readFileSync(`${DIR}/chromium-plain.json`, 'utf8')) as { signals: Signals }).signals
const MODEL = 'modelled on chromium-plain.json with the values this browser is documented to report (not captured: no such browser on the test machine)'

type Any = any
const v = (s: Signals, name: string): Any => s[name]!.value

function make(name: string, source: string, edit: (s: Signals) => void): void {
  const s = JSON.parse(JSON.stringify(base)) as Signals
  edit(s)
  writeFileSync(`${DIR}/${name}.json`, JSON.stringify({ source, signals: s }, null, 2) + '\n')
}

function setWorker(s: Signals, over: Record<string, unknown>): void {
  Object.assign(v(s, 'worker'), over)
}

make('brave-windows', MODEL, (s) => {
  const ua = v(s, 'userAgent')
  Object.assign(ua, { ua: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36', platform: 'Win32', uaPlatform: 'Windows', brands: ['Brave/156', 'Chromium/156', 'Not:A-Brand/8'] })
  v(s, 'environment').brave = true
  v(s, 'hardware').cores = 4
  Object.assign(v(s, 'timezone'), { offset: -60, name: 'Central European Standard Time' })
  // Brave farbles per context: the worker may see other values.
  setWorker(s, { ua: ua.ua, platform: 'Win32', brands: ua.brands, cores: 6, webglVendor: 'Google Inc. (NVIDIA)', webglRenderer: 'ANGLE (NVIDIA, NVIDIA GeForce RTX 3070 Direct3D11 vs_5_0 ps_5_0, D3D11)', zone: 'Europe/Berlin', offset: -60, zoneName: 'Central European Standard Time' })
  Object.assign(v(s, 'screen'), { inner: [1536, 730], outer: [1536, 824], screen: [1536, 864], avail: [1536, 824], dpr: 1.25 })
})

make('firefox-resist-fingerprinting', MODEL, (s) => {
  const ua = v(s, 'userAgent')
  Object.assign(ua, { ua: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:140.0) Gecko/20100101 Firefox/140.0', platform: 'Win32', vendor: '', brands: null, mobile: null, uaPlatform: null })
  v(s, 'environment').chromeObject = false
  Object.assign(v(s, 'hardware'), { cores: 2, memory: null })
  Object.assign(v(s, 'screen'), { inner: [1400, 900], outer: [1400, 900], screen: [1400, 900], avail: [1400, 900], position: [0, 0] })
  Object.assign(v(s, 'timezone'), { offset: 0, name: 'Coordinated Universal Time' })
  // The engine gate under test: a count from a non-Chromium console means nothing.
  v(s, 'cdp').nameReads = 2
  v(s, 'cdpAtToken').nameReads = 2
  setWorker(s, { ua: ua.ua, platform: 'Win32', brands: null, cores: 2, memory: null, webglVendor: 'Mozilla', webglRenderer: 'Mozilla', zone: 'UTC', offset: 0, zoneName: 'Coordinated Universal Time' })
})

function iosSafari(s: Signals): void {
  const ua = v(s, 'userAgent')
  Object.assign(ua, { ua: 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Mobile/15E148 Safari/604.1', platform: 'iPhone', vendor: 'Apple Computer, Inc.', brands: null, mobile: null, uaPlatform: null })
  v(s, 'environment').chromeObject = false
  Object.assign(v(s, 'hardware'), { cores: 4, memory: null, touchPoints: 5, languages: ['en-US'] })
  Object.assign(v(s, 'screen'), { inner: [390, 664], outer: [390, 844], screen: [390, 844], avail: [390, 844], dpr: 3, position: [0, 0] })
  Object.assign(v(s, 'permissions'), { notification: null, query: 'prompt' })
  Object.assign(v(s, 'timezone'), { offset: 300, name: 'Eastern Standard Time' })
  setWorker(s, { ua: ua.ua, platform: 'iPhone', brands: null, cores: 4, memory: null, languages: ['en-US'], webglVendor: 'Apple Inc.', webglRenderer: 'Apple GPU', zone: 'America/New_York', offset: 300, zoneName: 'Eastern Standard Time' })
}
make('safari-ios', MODEL, iosSafari)

make('android-webview-tiktok', MODEL, (s) => {
  const ua = v(s, 'userAgent')
  Object.assign(ua, {
    ua: 'Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/AP2A.240805.005; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/156.0.0.0 Mobile Safari/537.36 musical_ly_2024103030 JsSdk/1.0 NetType/WIFI Channel/googleplay AppName/musical_ly app_version/37.3.3 ByteLocale/en BytedanceWebview/d8a21c6',
    platform: 'Linux aarch64',
    brands: ['Android WebView/156', 'Chromium/156', 'Not:A-Brand/8'],
    mobile: true,
    uaPlatform: 'Android',
  })
  Object.assign(v(s, 'hardware'), { cores: 8, memory: 8, touchPoints: 5 })
  Object.assign(v(s, 'screen'), { inner: [412, 780], outer: [412, 915], screen: [412, 915], avail: [412, 915], dpr: 2.625, position: [0, 0] })
  Object.assign(v(s, 'plugins'), { plugins: 0, mimeTypes: 0, pdfViewer: false })
  Object.assign(v(s, 'permissions'), { notification: null, query: 'denied' })
  v(s, 'environment').bridges = ['ToutiaoJSBridge']
  setWorker(s, { ua: ua.ua, platform: 'Linux aarch64', brands: ua.brands, cores: 8, memory: 8, webglVendor: 'Qualcomm', webglRenderer: 'Adreno (TM) 740' })
})

make('samsung-internet', MODEL, (s) => {
  const ua = v(s, 'userAgent')
  Object.assign(ua, {
    ua: 'Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/27.0 Chrome/125.0.0.0 Mobile Safari/537.36',
    platform: 'Linux armv81',
    brands: ['Samsung Internet/27.0', 'Chromium/125', 'Not.A/Brand/24'],
    mobile: true,
    uaPlatform: 'Android',
  })
  Object.assign(v(s, 'hardware'), { cores: 8, memory: 8, touchPoints: 5 })
  Object.assign(v(s, 'screen'), { inner: [384, 725], outer: [384, 832], screen: [384, 832], avail: [384, 832], dpr: 2.8125, position: [0, 0] })
  Object.assign(v(s, 'plugins'), { plugins: 0, mimeTypes: 0, pdfViewer: false })
  setWorker(s, { ua: ua.ua, platform: 'Linux armv81', brands: ua.brands, cores: 8, memory: 8, webglVendor: 'ARM', webglRenderer: 'Mali-G715' })
})

make('wechat-ios', MODEL, (s) => {
  iosSafari(s)
  const ua = 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.50(0x1800323b) NetType/WIFI Language/zh_CN'
  v(s, 'userAgent').ua = ua
  setWorker(s, { ua })
  Object.assign(v(s, 'environment'), { webkitHandlers: true, bridges: ['WeixinJSBridge'] })
  Object.assign(v(s, 'permissions'), { notification: null, query: null })
})

make('chrome-canvas-shield-extension', 'chromium-plain.json with the lies an anti-fingerprinting extension (canvas noise) produces', (s) => {
  v(s, 'lies').lies = ['privacy:HTMLCanvasElement.toDataURL:toString', 'privacy:HTMLCanvasElement.toDataURL:keys', 'privacy:CanvasRenderingContext2D.getImageData:toString']
})

make('chromium-devtools-opened', 'chromium-plain.json, DevTools opened by a person before the token was requested (CDP Runtime attached)', (s) => {
  v(s, 'cdpAtToken').nameReads = 2
})
console.log('modelled fixtures written')

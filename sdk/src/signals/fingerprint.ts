/**
 * The device fingerprint, from FingerprintJS's open-source entropy sources, run by our
 * own agent so that it stays invisible to page performance:
 *  - every source starts in its own task (FingerprintJS's loop only yields every 16 ms);
 *  - sources that cost a long task on their own are replaced or left out: `fonts` and
 *    `fontPreferences` (60–130 ms of layout in an iframe; ./fonts.ts measures fonts a few
 *    per task instead), `canvas` (PNG-encoded data URLs, then hashed: ./canvas.ts hashes
 *    pixels instead), `webGlExtensions` (50–80 ms of WebGL parameter reads;
 *    `webGlBasics` keeps the renderer), and the two that make the page's first Intl call
 *    (`timezone`, `dateTimeLocale`: ICU start-up is 40–60 ms; the zone is read from Date).
 *  - `domBlockers` (hundreds of bait elements and a forced layout, on Safari and Android),
 *    `audio` (an OfflineAudioContext graph: 15–65 ms to build here) and `webGlBasics` (a
 *    WebGL context: 15–60 ms) are left out too; the WebGL renderer enters the identifier
 *    from the Web Worker, which creates its context off the main thread.
 * Nothing phones home: the agent's monitoring request lives in `load()`, which we do not use.
 */
import { hashComponents, loadSources, prepareForSources, sources as fp, type UnknownComponents } from '@fingerprintjs/fingerprintjs'
import type { FingerprintClaim } from '@vigil-risk/core/protocol/schema'
import type { Component, WorkerSignal } from '@vigil-risk/core/protocol/signals'
import { getTimezone } from './timezone'
import { getFonts } from './fonts'
import { getCanvas } from './canvas'

/** Listed one by one so the bundler drops the sources we leave out. */
const SOURCES = {
  userAgentData: fp.userAgentData,
  screenFrame: fp.screenFrame,
  canvas: getCanvas,
  osCpu: fp.osCpu,
  languages: fp.languages,
  colorDepth: fp.colorDepth,
  deviceMemory: fp.deviceMemory,
  screenResolution: fp.screenResolution,
  hardwareConcurrency: fp.hardwareConcurrency,
  sessionStorage: fp.sessionStorage,
  localStorage: fp.localStorage,
  indexedDB: fp.indexedDB,
  openDatabase: fp.openDatabase,
  cpuClass: fp.cpuClass,
  platform: fp.platform,
  plugins: fp.plugins,
  touchSupport: fp.touchSupport,
  vendor: fp.vendor,
  vendorFlavors: fp.vendorFlavors,
  cookiesEnabled: fp.cookiesEnabled,
  colorGamut: fp.colorGamut,
  invertedColors: fp.invertedColors,
  forcedColors: fp.forcedColors,
  monochrome: fp.monochrome,
  contrast: fp.contrast,
  reducedMotion: fp.reducedMotion,
  reducedTransparency: fp.reducedTransparency,
  hdr: fp.hdr,
  math: fp.math,
  pdfViewerEnabled: fp.pdfViewerEnabled,
  architecture: fp.architecture,
  applePay: fp.applePay,
  privateClickMeasurement: fp.privateClickMeasurement,
  audioBaseLatency: fp.audioBaseLatency,
}


/** How far the identifier can be trusted to single out a device, by platform (after FingerprintJS's open agent). */
function confidence(): number {
  const ua = navigator.userAgent
  if (/Android/.test(ua)) return 0.4
  if (/AppleWebKit/.test(ua) && !/Chrome|CriOS|Edg/.test(ua)) return /iPhone|iPad|iPod/.test(ua) ? 0.3 : 0.5
  return /^Win/.test(navigator.platform) ? 0.6 : 0.5
}

/** How long the fingerprint waits for the browser to go idle before its sources run. */
const PREPARE_WAIT_MS = 500

/** `worker` is the Web Worker snapshot, which carries the WebGL renderer. */
export async function getFingerprint(worker: Promise<WorkerSignal | null>): Promise<FingerprintClaim> {
  const started = performance.now()
  // FingerprintJS waits for an idle callback here; a page's polyfill may never call back.
  await Promise.race([prepareForSources().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, PREPARE_WAIT_MS))])
  // A release interval of 0: FingerprintJS returns to the event loop after every source.
  const components: UnknownComponents = await loadSources(SOURCES, { cache: {}, debug: false }, [], 0)()
  const fontsStarted = performance.now()
  let fonts: Component<string[]>
  try {
    fonts = { value: await getFonts(), duration: Math.round(performance.now() - fontsStarted) }
  } catch (err) {
    fonts = { error: String(err), duration: Math.round(performance.now() - fontsStarted) }
  }
  const tz = getTimezone()
  const w = await worker.catch(() => null)
  const visitorId = hashComponents({
    ...components,
    fonts,
    timezone: { value: `${tz.offset}/${tz.name ?? ''}`, duration: 0 },
    webgl: { value: w ? `${w.webglVendor ?? ''}/${w.webglRenderer ?? ''}` : null, duration: 0 },
  })
  return { visitorId, confidence: confidence(), ms: Math.round(performance.now() - started) }
}

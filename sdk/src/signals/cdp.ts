/**
 * Whether a DevTools-protocol client with the Runtime domain enabled is attached
 * (Playwright, Puppeteer, Selenium's chromedriver all enable it; so does an open
 * DevTools window). V8 reads an Error's `name` once to store a console message, and
 * once more to describe it for an attached Runtime client.
 */
import type { CdpSignal } from '@vigil-risk/core/protocol/signals'

const NATIVE = /^function debug\(\) \{\s*\[native code\]\s*\}$/

export function getCdp(): CdpSignal {
  // A page's own console wrappers (logging and error-reporting libraries) read the
  // arguments too; only the native method gives a clean count.
  if (!NATIVE.test(Function.prototype.toString.call(console.debug))) return { nameReads: null }
  let reads = 0
  const probe = new Error('vigil integrity probe')
  Object.defineProperty(probe, 'name', {
    configurable: true,
    get() {
      reads++
      return 'Error'
    },
  })
  console.debug(probe)
  return { nameReads: reads }
}

/** Source URLs automation frameworks give to code they evaluate in the page. */
const EVALUATION_MARKERS = ['__playwright_evaluation_script__', '__puppeteer_evaluation_script__', 'pptr:', '__selenium', 'webdriver']

/**
 * Markers of automation in the stack that called getToken: a bot that calls the SDK
 * through page.evaluate() leaves its framework's script names there. Only marker
 * names leave the page, never the stack itself (it holds URLs).
 */
export function getCallStackMarkers(): string[] {
  const stack = new Error().stack ?? ''
  return EVALUATION_MARKERS.filter((m) => stack.includes(m))
}

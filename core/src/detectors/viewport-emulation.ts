import { valueOf, type Detection, type Environment, type Signals } from './types'

/**
 * Device-metrics emulation (the DevTools protocol's Emulation domain, used by
 * Playwright's default viewport and DevTools' device mode): the page reports a screen
 * exactly the size of its viewport, inside a browser window larger than that screen.
 * A real window is never taller or wider than its screen while the page fills the
 * screen exactly; fullscreen gives outer = inner = screen and does not trigger this.
 */
export function detectViewportEmulation(signals: Signals, env: Environment): Detection | undefined {
  const s = valueOf(signals, 'screen')
  if (!s || env.mobile || env.webview !== null || env.privacy.includes('firefox_rfp')) return undefined
  const [iw, ih] = s.inner
  const [ow, oh] = s.outer
  const [sw, sh] = s.screen
  if (iw === sw && ih === sh && (oh > sh || ow > sw)) {
    return { code: 'tampering', detector: 'viewport_emulation', detail: `viewport ${iw}x${ih} equals the screen inside a ${ow}x${oh} window` }
  }
  return undefined
}

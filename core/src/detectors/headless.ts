import { valueOf, type Detection, type Environment, type Signals } from './types'

/**
 * Headless browsers: the HeadlessChrome token (UA or client hints), the permission pair
 * old headless Chrome reports (Notification 'denied' while the Permissions API says
 * 'prompt'), no outer window, and an emptied plugin list. Chrome's new headless mode
 * keeps the HeadlessChrome token unless a script overrides it.
 */
export function detectHeadless(signals: Signals, env: Environment): Detection[] {
  const out: Detection[] = []
  const agent = valueOf(signals, 'userAgent')
  const worker = valueOf(signals, 'worker')
  const headless = (s: unknown): boolean => typeof s === 'string' && /Headless/i.test(s)
  if (headless(agent?.ua) || (agent?.brands ?? []).some(headless) || headless(worker?.ua) || (worker?.brands ?? []).some(headless)) {
    out.push({ code: 'automation', detector: 'headless', detail: 'HeadlessChrome in the user agent' })
  }
  const permissions = valueOf(signals, 'permissions')
  if (env.engine === 'blink' && permissions?.notification === 'denied' && permissions.query === 'prompt') {
    out.push({ code: 'automation', detector: 'headless', detail: "notifications 'denied' but permission state 'prompt'" })
  }
  const plugins = valueOf(signals, 'plugins')
  // Desktop Chromium with its PDF viewer on lists five PDF plugins and two MIME types;
  // none at all (or plugins without MIME types) is a build or a script that emptied them.
  if (env.engine === 'blink' && !env.mobile && env.webview === null && plugins?.pdfViewer === true && (plugins.plugins === 0 || plugins.mimeTypes === 0)) {
    out.push({ code: 'tampering', detector: 'headless', detail: `PDF viewer on, but ${plugins.plugins} plugins and ${plugins.mimeTypes} MIME types` })
  }
  const screen = valueOf(signals, 'screen')
  if (!env.mobile && env.webview === null && screen && screen.outer[0] === 0 && screen.outer[1] === 0) {
    out.push({ code: 'automation', detector: 'headless', detail: 'window has no outer size' })
  }
  return out
}

import { valueOf, type Detection, type Environment, type Signals } from './types'

/**
 * navigator.webdriver is true under WebDriver and CDP automation (Playwright,
 * Puppeteer, Selenium) unless the AutomationControlled blink feature is disabled.
 * Hiding it is itself a tell: Chromium and Firefox always have the property on
 * Navigator.prototype, and never own properties on the navigator object.
 */
export function detectWebDriver(signals: Signals, env: Environment): Detection[] {
  const wd = valueOf(signals, 'webdriver')
  if (!wd) return []
  const out: Detection[] = []
  if (wd.value === true) out.push({ code: 'automation', detector: 'webdriver', detail: 'navigator.webdriver is true' })
  if (wd.present === false && (env.engine === 'blink' || env.engine === 'gecko')) {
    out.push({ code: 'tampering', detector: 'webdriver', detail: 'navigator.webdriver was deleted' })
  }
  if (Array.isArray(wd.ownKeys) && wd.ownKeys.length > 0) {
    out.push({ code: 'tampering', detector: 'webdriver', detail: `navigator has own properties: ${wd.ownKeys.slice(0, 5).join(',')}` })
  }
  return out
}

/** navigator.webdriver, and whether someone moved or deleted it to hide it. */
import type { WebDriverSignal } from '@vigil-risk/core/protocol/signals'

export function getWebDriver(): WebDriverSignal {
  const raw = (navigator as { webdriver?: unknown }).webdriver
  return {
    value: typeof raw === 'boolean' ? raw : null,
    present: 'webdriver' in navigator,
    ownKeys: Object.getOwnPropertyNames(navigator).slice(0, 20),
  }
}

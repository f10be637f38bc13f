/** navigator.webdriver, and whether someone moved or deleted it to hide it. */
export interface WebDriverSignal {
  /** navigator.webdriver (true under WebDriver/CDP automation unless disabled). */
  value: boolean | null
  /** 'webdriver' in navigator: Chromium and Firefox always have it; deleting it is an evasion. */
  present: boolean
  /** Own properties on the navigator object itself (all real ones live on Navigator.prototype). */
  ownKeys: string[]
}

export function getWebDriver(): WebDriverSignal {
  const raw = (navigator as { webdriver?: unknown }).webdriver
  return {
    value: typeof raw === 'boolean' ? raw : null,
    present: 'webdriver' in navigator,
    ownKeys: Object.getOwnPropertyNames(navigator).slice(0, 20),
  }
}

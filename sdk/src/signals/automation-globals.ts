/**
 * Names that automation frameworks leave in the page: PhantomJS, Nightmare, Selenium
 * and its drivers (cdc_ variables), Playwright bindings, Electron, Cypress. Only the
 * names found are reported.
 */
const WINDOW_NAMES = [
  '_phantom', 'callPhantom', 'phantom', '__nightmare', 'domAutomation', 'domAutomationController',
  '_selenium', 'callSelenium', '_Selenium_IDE_Recorder', '__webdriver_evaluate', '__selenium_evaluate',
  '__webdriver_script_function', '__webdriver_script_func', '__webdriver_script_fn', '__fxdriver_evaluate',
  '__driver_unwrapped', '__webdriver_unwrapped', '__driver_evaluate', '__selenium_unwrapped', '__fxdriver_unwrapped',
  '__lastWatirAlert', '__lastWatirConfirm', '__lastWatirPrompt', '__webdriverFunc', '_WEBDRIVER_ELEM_CACHE',
  '__playwright__binding__', '__pwInitScripts', '__playwright_builtins__', '__puppeteer_utility_world__',
  'Cypress', 'awesomium', 'geb', 'RunPerfTest', 'fmget_targets', 'wdioElectron',
]
const NAME_PATTERN = /^\$?(cdc|wdc)_|^\$chrome_asyncScriptInfo|__webdriver|__selenium|__fxdriver|__playwright|^__pw_|^__puppeteer/
const ATTRIBUTES = ['webdriver', 'selenium', 'driver', 'driver-evaluate', 'webdriver-evaluate', 'selenium-evaluate']

export function getAutomationGlobals(): string[] {
  const found = new Set<string>()
  const w = window as unknown as Record<string, unknown>
  for (const name of WINDOW_NAMES) if (name in w) found.add(name)
  for (const name of Object.getOwnPropertyNames(window)) if (NAME_PATTERN.test(name)) found.add(name)
  for (const name of Object.getOwnPropertyNames(document)) if (NAME_PATTERN.test(name)) found.add(`document.${name}`)
  for (const attr of ATTRIBUTES) if (document.documentElement.hasAttribute(attr)) found.add(`@${attr}`)
  // Electron renderer with Node integration.
  const proc = w['process'] as { versions?: { electron?: unknown }; type?: unknown } | undefined
  if (proc && typeof proc === 'object' && (proc.versions?.electron || proc.type === 'renderer')) found.add('process.versions.electron')
  return [...found].sort().slice(0, 32)
}

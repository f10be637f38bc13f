/**
 * The signals a payload carries (`payload.signals`): what each SDK source collects, by
 * name. The SDK's sources (sdk/src/signals) produce these values and the collector's
 * detectors (core/src/detectors) judge them, so both sides import this one definition.
 * A value crossed the network: detectors treat every field as possibly malformed.
 */

/** As FingerprintJS does it: the runner, not each source, captures failures. */
export type Component<T> = ({ value: T } | { error: string }) & { duration: number }

export interface PermissionsSignal {
  notification: string | null
  query: string | null
}

export interface WebDriverSignal {
  /** navigator.webdriver (true under WebDriver/CDP automation unless disabled). */
  value: boolean | null
  /** 'webdriver' in navigator: Chromium and Firefox always have it; deleting it is an evasion. */
  present: boolean
  /** Own properties on the navigator object itself (all real ones live on Navigator.prototype). */
  ownKeys: string[]
}

export interface UserAgentSignal {
  ua: string
  platform: string
  vendor: string
  /** navigator.userAgentData brands as "brand/version" (Chromium only). */
  brands: string[] | null
  mobile: boolean | null
  /** navigator.userAgentData.platform. */
  uaPlatform: string | null
}

export interface HardwareSignal {
  cores: number | null
  memory: number | null
  touchPoints: number
  languages: string[]
}

export interface ScreenSignal {
  inner: [number, number]
  outer: [number, number]
  screen: [number, number]
  avail: [number, number]
  dpr: number
  /** window.screenX/screenY. */
  position: [number, number]
}

export interface PluginsSignal {
  plugins: number
  mimeTypes: number
  pdfViewer: boolean | null
}

export interface TimezoneSignal {
  /** Minutes from UTC, as Date.getTimezoneOffset reports them. */
  offset: number
  /** The zone's display name from Date.toString(), e.g. "Central European Standard Time". */
  name: string | null
}

export interface CdpSignal {
  /** How often console.debug read the probe's name: 1 normally, 2 with a Runtime client; null if not measurable. */
  nameReads: number | null
}

export interface LiesSignal {
  /** "<group>:<Target>:<check>" for every failed check. */
  lies: string[]
  /** How many functions were examined. */
  checked: number
}

export interface EnvironmentSignal {
  /** Brave exposes navigator.brave. */
  brave: boolean
  /** window.chrome exists (every Chromium browser, headless included). */
  chromeObject: boolean
  /** WKWebView exposes window.webkit.messageHandlers. */
  webkitHandlers: boolean
  /** In-app browser bridges present in the page. */
  bridges: string[]
  /** A Vigil native bridge is present (see docs/webview.md). */
  vigilBridge: boolean
  /** iOS home-screen web app. */
  standalone: boolean | null
}

export interface WorkerSignal {
  ua: string
  platform: string
  cores: number | null
  memory: number | null
  languages: string[]
  brands: string[] | null
  webglVendor: string | null
  webglRenderer: string | null
  /** IANA zone (Intl, paid for off the main thread). */
  zone: string | null
  /** Same as the main thread's timezone signal. */
  offset: number
  zoneName: string | null
}

/** Every named signal and its value type. */
export interface SignalValues {
  permissions: PermissionsSignal
  webdriver: WebDriverSignal
  userAgent: UserAgentSignal
  hardware: HardwareSignal
  screen: ScreenSignal
  plugins: PluginsSignal
  timezone: TimezoneSignal
  cdp: CdpSignal
  /** Names automation frameworks leave in the page (only those found). */
  automation: string[]
  lies: LiesSignal
  environment: EnvironmentSignal
  /** Collected again inside getToken: automation can attach after the page loaded. */
  cdpAtToken: CdpSignal
  /** The Web Worker's view; null where workers are unavailable or blocked (CSP). */
  worker: WorkerSignal | null
  /** Automation markers in the stack that called getToken. */
  callStack: string[]
}

export type SignalName = keyof SignalValues
export type SignalComponents = { [K in SignalName]?: Component<SignalValues[K]> }

/** Collected once when the SDK starts: all of them, or (when getToken comes first) none. */
export const INIT_SIGNALS = ['permissions', 'webdriver', 'userAgent', 'hardware', 'screen', 'plugins', 'timezone', 'cdp', 'automation', 'lies', 'environment'] as const
/** Taken at every getToken: always present. */
export const TOKEN_SIGNALS = ['cdpAtToken', 'callStack'] as const
/** The Web Worker's snapshot: present unless the worker has not answered in time. */
export const LATE_SIGNALS = ['worker'] as const

type Listed = (typeof INIT_SIGNALS)[number] | (typeof TOKEN_SIGNALS)[number] | (typeof LATE_SIGNALS)[number]
type Exactly<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
type Assert<T extends true> = T
/** @public A compile-time check that the three lists name every signal. */
export type ListsCoverSignals = Assert<Exactly<Listed, SignalName>>

/**
 * What is missing from `signals` that an honest SDK always sends: the token-time signals,
 * and the rest of the start-up signals when any of them is present.
 */
export function missingSignals(signals: Readonly<Record<string, unknown>>): string[] {
  const has = (name: string): boolean => Object.prototype.hasOwnProperty.call(signals, name)
  const missing: string[] = TOKEN_SIGNALS.filter((name) => !has(name))
  if (INIT_SIGNALS.some(has)) missing.push(...INIT_SIGNALS.filter((name) => !has(name)))
  return missing
}

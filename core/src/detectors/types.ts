import type { ReasonCode } from '../protocol/reasons'
import type { SignalComponents, SignalName, SignalValues } from '../protocol/signals'

/** What one detector concluded: a reason code, the detector's name, and a short why. */
export interface Detection {
  code: ReasonCode
  detector: string
  detail: string
}

/**
 * The collected signals as the collector received them. They crossed the network, so
 * detectors treat every value as possibly malformed; the runner turns a detector
 * that throws on malformed input into a `tampering` detection.
 */
export type Signals = SignalComponents

export type Detector = (signals: Signals, env: Environment) => Detection | Detection[] | undefined

export interface Environment {
  engine: 'blink' | 'gecko' | 'webkit' | 'unknown'
  /** Chrome, Edge, Brave, Samsung Internet, Opera, Firefox, Safari, … as the UA names it. */
  browser: string
  mobile: boolean
  /** Privacy protections that make a browser look unusual: brave, firefox_rfp (Tor Browser too), fingerprint_shield. */
  privacy: string[]
  webview: 'android_webview' | 'ios_wkwebview' | null
  /** Named in-app browser: tiktok, instagram, facebook, wechat, line, … */
  inApp: string | null
}

/** A signal's value, or undefined when it failed or is missing. */
export function valueOf<K extends SignalName>(signals: Signals, name: K): SignalValues[K] | undefined {
  const component = signals[name]
  return component && typeof component === 'object' && 'value' in component ? component.value : undefined
}

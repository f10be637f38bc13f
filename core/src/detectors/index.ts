/**
 * The detector registry. Detectors are pure functions of the collected signals (no
 * DOM, no Node): the collector runs them on every payload, tests run them on captured
 * fixtures. docs/detectors.md lists each with its known false positives.
 */
import { detectWebDriver } from './webdriver'
import { detectHeadless } from './headless'
import { detectCdp } from './cdp'
import { detectAutomationGlobals } from './automation-globals'
import { detectLies } from './lies'
import { detectWorkerMismatch } from './worker-mismatch'
import { detectViewportEmulation } from './viewport-emulation'
import { detectPermissions } from './permissions'
import { detectSoftwareRenderer } from './software-renderer'
import { detectUaConsistency } from './ua-consistency'
import { classifyEnvironment } from './environment'
import type { Detection, Detector, Environment, Signals } from './types'

export type { Detection, Environment, Signals } from './types'
export { valueOf } from './types'
export { classifyEnvironment } from './environment'

export const detectors: Record<string, Detector> = {
  webdriver: detectWebDriver,
  headless: detectHeadless,
  cdp: detectCdp,
  automationGlobals: detectAutomationGlobals,
  lies: detectLies,
  workerMismatch: detectWorkerMismatch,
  viewportEmulation: detectViewportEmulation,
  permissions: detectPermissions,
  softwareRenderer: detectSoftwareRenderer,
  uaConsistency: detectUaConsistency,
}

export interface DetectionReport {
  environment: Environment
  detections: Detection[]
}

/**
 * Runs every detector. A detector that throws was fed a value of the wrong shape, which
 * the SDK never sends: that is reported as tampering with the payload.
 */
export function runDetectors(signals: Signals): DetectionReport {
  let environment: Environment
  try {
    environment = classifyEnvironment(signals)
  } catch {
    environment = { engine: 'unknown', browser: 'other', mobile: false, privacy: [], webview: null, inApp: null }
  }
  const detections: Detection[] = []
  for (const [name, detector] of Object.entries(detectors)) {
    try {
      const result = detector(signals, environment)
      if (Array.isArray(result)) detections.push(...result)
      else if (result) detections.push(result)
    } catch {
      detections.push({ code: 'tampering', detector: name, detail: 'malformed signals' })
    }
  }
  return { environment, detections }
}

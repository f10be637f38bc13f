import { valueOf, type Detection, type Signals } from './types'

/** Globals, document properties and attributes that automation frameworks leave behind. */
export function detectAutomationGlobals(signals: Signals): Detection | undefined {
  const found = valueOf(signals, 'automation')
  if (!Array.isArray(found) || found.length === 0) return undefined
  return { code: 'automation', detector: 'automation_globals', detail: found.slice(0, 5).join(',') }
}

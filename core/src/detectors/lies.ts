import { valueOf, type Detection, type Signals } from './types'

/**
 * Identity APIs (navigator, screen, permissions, WebGL, Function.prototype.toString)
 * whose native functions were replaced. Privacy-API patches (canvas, audio, rects),
 * which anti-fingerprinting extensions make for their users, are classified by the
 * environment, not reported here.
 */
export function detectLies(signals: Signals): Detection | undefined {
  const lies = valueOf(signals, 'lies')?.lies
  if (!Array.isArray(lies)) return undefined
  const identity = lies.filter((l) => typeof l === 'string' && l.startsWith('identity:'))
  if (identity.length === 0) return undefined
  return { code: 'tampering', detector: 'lies', detail: identity.slice(0, 4).map((l) => l.slice('identity:'.length)).join(',') }
}

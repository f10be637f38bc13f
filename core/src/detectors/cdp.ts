import { valueOf, type Detection, type Environment, type Signals } from './types'

/**
 * A DevTools-protocol client with the Runtime domain enabled (every CDP automation
 * framework; also an open DevTools window). Measured only in Chromium, where V8 reads
 * an Error's name once per console message, and once more per attached Runtime client.
 * Also: getToken called from code a framework evaluated (page.evaluate).
 */
export function detectCdp(signals: Signals, env: Environment): Detection[] {
  const out: Detection[] = []
  if (env.engine === 'blink') {
    const reads = [valueOf(signals, 'cdp')?.nameReads, valueOf(signals, 'cdpAtToken')?.nameReads]
    if (reads.some((n) => typeof n === 'number' && n >= 2)) {
      out.push({ code: 'automation', detector: 'cdp', detail: 'a DevTools protocol client is attached (Runtime domain)' })
    }
  }
  const markers = valueOf(signals, 'callStack')
  if (Array.isArray(markers) && markers.length > 0) {
    out.push({ code: 'automation', detector: 'cdp', detail: `getToken called from evaluated code: ${markers.slice(0, 3).join(',')}` })
  }
  return out
}

/**
 * Windows: what the SDK holds when a page asks for a token. The SDK sends the last 600
 * recorded events at getToken, which a page calls on a click; so a window ends with a
 * click (mousedown, mouseup, click) and reaches back up to 600 events, and as far as
 * the page has been open (a few seconds to half a minute).
 */
import { TRACE_EVENTS_PER_PAYLOAD } from '@vigil-risk/core/protocol/payload'
import type { TraceEvent } from '@vigil-risk/core/protocol/trace'
import type { Rng } from './rng'
import type { Session } from './data'

export interface Window {
  session: Session
  events: TraceEvent[]
}

const LOOKBACKS_MS = [3_000, 6_000, 12_000, 20_000, 30_000]

/** Up to `max` windows per session, each ending just after a click. */
export function windowsOf(session: Session, rng: Rng, max = 12): Window[] {
  const events = session.events
  if (session.whole) return events.length > 0 ? [{ session, events: rebase(events) }] : []
  const ends: number[] = []
  for (let i = 0; i < events.length; i++) {
    if (events[i]!.type !== 'mousedown' || events[i]!.t < 1500) continue
    // Include the release and click that follow the press.
    let j = i
    while (j + 1 < events.length && events[j + 1]!.t - events[i]!.t < 3000 && (events[j + 1]!.type === 'mouseup' || events[j + 1]!.type === 'click')) j++
    ends.push(j)
  }
  rng.shuffle(ends)
  const out: Window[] = []
  for (const end of ends.slice(0, max)) {
    const tEnd = events[end]!.t
    const lookback = rng.pick(LOOKBACKS_MS) * rng.uniform(0.7, 1)
    let start = end
    while (start > 0 && tEnd - events[start - 1]!.t <= lookback && end - start + 1 < TRACE_EVENTS_PER_PAYLOAD) start--
    out.push({ session, events: rebase(events.slice(start, end + 1)) })
  }
  return out
}

/** Times from the start of the window, as the recorder reports them. */
function rebase(events: readonly TraceEvent[]): TraceEvent[] {
  const t0 = events[0]?.t ?? 0
  return events.map((e) => ({ ...e, t: Math.round((e.t - t0) * 10) / 10 }))
}

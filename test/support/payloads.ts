/**
 * Realistic payload parts, as the SDK sends them: signals captured from real browsers
 * (test/fixtures/signals) and a person's pointer trace (test/fixtures/traces/human-session.json).
 * For the benchmarks, the fuzz and any test that needs a body shaped like production's.
 */
import { readFileSync } from 'node:fs'
import { compactTrace, type TraceEvent } from '@vigil-risk/core/protocol/trace'

export type CompactTrace = ReturnType<typeof compactTrace>

/** The `signals` object of a captured fixture (`chromium-plain`, `safari-ios`, …). */
export function capturedSignals(fixture = 'chromium-plain'): Record<string, unknown> {
  return (JSON.parse(readFileSync(`test/fixtures/signals/${fixture}.json`, 'utf8')) as { signals: Record<string, unknown> }).signals
}

/** A person drawing circles, 640 events (test/fixtures/traces/NOTICE.md). */
function humanEvents(events: number): TraceEvent[] {
  return (JSON.parse(readFileSync('test/fixtures/traces/human-session.json', 'utf8')) as { events: TraceEvent[] }).events.slice(-events)
}

/** The last `events` (at most 640) events of a person's trace, compacted as the SDK sends it. */
export function humanTrace(events = 600): CompactTrace {
  return compactTrace(humanEvents(events))
}

/**
 * The same person's trace, but a path of its own for each `seed`: every stroke (moves
 * between pauses of 60 ms or clicks) is turned about its start by a seeded angle and scaled
 * by a seeded 0.7–1.4, and the strokes are chained end to start. Speeds, pauses and jitter stay human; the path is
 * another one, so load tests do not look like one trace replayed from many devices.
 */
export function humanTraceVariant(seed: number, events = 600): CompactTrace {
  let state = (seed * 2654435761) >>> 0 || 1
  const random = (): number => {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    return (state >>> 0) / 2 ** 32
  }
  const source = humanEvents(events)
  const out: TraceEvent[] = []
  let angle = random() * 2 * Math.PI
  let scale = 0.7 + random() * 0.7
  let prev: TraceEvent | null = null
  let origin = { x: 0, y: 0 }
  let at = { x: 400 + random() * 400, y: 300 + random() * 200 }
  for (const e of source) {
    if (e.x === undefined || e.y === undefined) {
      out.push(e)
      continue
    }
    const newStroke = prev === null || e.t - prev.t > 60 || e.type !== 'mousemove'
    if (newStroke && prev) {
      angle = random() * 2 * Math.PI
      scale = 0.7 + random() * 0.7
      origin = { x: e.x, y: e.y }
      at = { x: out.at(-1)?.x ?? at.x, y: out.at(-1)?.y ?? at.y }
    } else if (prev === null) origin = { x: e.x, y: e.y }
    const dx = (e.x - origin.x) * scale
    const dy = (e.y - origin.y) * scale
    out.push({ ...e, x: Math.round(at.x + dx * Math.cos(angle) - dy * Math.sin(angle)), y: Math.round(at.y + dx * Math.sin(angle) + dy * Math.cos(angle)) })
    prev = e
  }
  return compactTrace(out)
}

/**
 * What a script that sets the pointer at one point after another sends: `n` points drawn
 * from a seeded generator over a 1280 × 800 page, `dt` ms apart, then a click (risk/turning.ts).
 */
export function randomPointsTrace(n: number, seed: number, dt = 100): TraceEvent[] {
  let s = seed
  const next = (): number => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32
  const events: TraceEvent[] = Array.from({ length: n }, (_, i) => ({ type: 'mousemove' as const, t: i * dt, x: Math.round(next() * 1280), y: Math.round(next() * 800) }))
  events.push({ type: 'click', t: n * dt, x: 640, y: 400, button: 0 })
  return events
}

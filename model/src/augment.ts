/**
 * Augmentation: the ways real capture set-ups differ, applied to training windows of
 * humans and bots alike (an augmentation seen on one class only would become a label).
 *
 *  - rate:      the pointer re-sampled at 10–250 Hz (a smooth curve through the recorded
 *               points, positions on the pixel grid), with the device clock's jitter;
 *  - frames:    events coalesced to the display's frames, as browsers deliver them (a fast
 *               device's reports within one frame arrive as one event);
 *  - bursts:    lossy or bursty delivery (a busy main thread): events dropped, and runs of
 *               events with one timestamp;
 *  - remote:    a remote desktop: ~10 reports a second, lost runs of them (gaps of a few
 *               hundred ms), bursts;
 *  - clock:     timestamp jitter, or a coarse clock (1 ms, 4 ms, Windows' 15.6 ms);
 *  - scale:     coordinates scaled (another screen size, high-DPI CSS pixels) and rounded
 *               to whole CSS pixels, as the recorder sends them;
 *  - inertia:   trackpad glides: a stroke that ends in a pause coasts on, decaying;
 *  - clutch:    long movements split by finger lifts (trackpads, small mouse pads);
 *  - slow:      slow or hesitant movers: time stretched, pauses inside movements.
 * Pure: the caller owns the RNG.
 */
import { TRACE_EVENTS_PER_PAYLOAD } from '@vigil-risk/core/protocol/payload'
import type { TraceEvent } from '@vigil-risk/core/protocol/trace'
import type { Rng } from './rng'

type Events = readonly TraceEvent[]

const isMove = (e: TraceEvent): boolean => e.type === 'mousemove'
const r1 = (t: number): number => Math.round(t * 10) / 10

/** Times made non-decreasing again after an edit, at the trace's 0.1 ms resolution. */
function monotone(events: TraceEvent[]): TraceEvent[] {
  let last = 0
  for (const e of events) e.t = last = Math.max(last, r1(e.t))
  return events
}

/** Catmull-Rom interpolation of the position at time t between moves i and i + 1. */
function positionAt(moves: readonly TraceEvent[], i: number, t: number): [number, number] {
  const p1 = moves[i]!
  const p2 = moves[Math.min(moves.length - 1, i + 1)]!
  const p0 = moves[Math.max(0, i - 1)]!
  const p3 = moves[Math.min(moves.length - 1, i + 2)]!
  const span = p2.t - p1.t
  const u = span > 0 ? Math.min(1, Math.max(0, (t - p1.t) / span)) : 1
  const u2 = u * u
  const u3 = u2 * u
  const f = (a: number, b: number, c: number, d: number): number => 0.5 * (2 * b + (-a + c) * u + (2 * a - 5 * b + 4 * c - d) * u2 + (-a + 3 * b - 3 * c + d) * u3)
  return [f(p0.x!, p1.x!, p2.x!, p3.x!), f(p0.y!, p1.y!, p2.y!, p3.y!)]
}

/**
 * Re-samples the moves at `hz` (device reports with clock jitter), keeping only reports
 * that land on a new pixel, as a browser or OS hook would. Movement pauses (gaps over
 * 100 ms) stay pauses; clicks, keys and scrolls keep their times.
 */
export function resample(events: Events, hz: number, r: Rng): TraceEvent[] {
  const moves = events.filter(isMove)
  const others = events.filter((e) => !isMove(e))
  if (moves.length < 2) return events.map((e) => ({ ...e }))
  const period = 1000 / hz
  const out: TraceEvent[] = [{ ...moves[0]! }]
  let lastX = moves[0]!.x!
  let lastY = moves[0]!.y!
  for (let i = 0; i < moves.length - 1; i++) {
    const a = moves[i]!
    const b = moves[i + 1]!
    if (b.t - a.t > 100) {
      // A pause: the pointer rests, then moves on from where it was.
      if (b.x !== lastX || b.y !== lastY) out.push({ ...b })
      lastX = b.x!
      lastY = b.y!
      continue
    }
    let t = Math.ceil(a.t / period) * period
    if (t <= a.t) t += period
    for (; t <= b.t; t += period) {
      const [x, y] = positionAt(moves, i, t)
      const rx = Math.round(x)
      const ry = Math.round(y)
      if (rx === lastX && ry === lastY) continue
      out.push({ type: 'mousemove', t: t + r.normal(0, Math.min(1, period / 8)), x: rx, y: ry })
      lastX = rx
      lastY = ry
    }
  }
  return monotone([...out, ...others].sort((p, q) => p.t - q.t))
}

/** Moves coalesced to display frames: one event per frame, at the frame's last report. */
export function frames(events: Events, frameMs: number, r: Rng): TraceEvent[] {
  const phase = r.uniform(0, frameMs)
  const out: TraceEvent[] = []
  let pending: TraceEvent | null = null
  let pendingFrame = -1
  for (const e of events) {
    if (!isMove(e)) {
      if (pending) out.push(pending)
      pending = null
      out.push({ ...e })
      continue
    }
    const frame = Math.floor((e.t + phase) / frameMs)
    if (pending && frame !== pendingFrame) out.push(pending)
    pending = { ...e }
    pendingFrame = frame
  }
  if (pending) out.push(pending)
  return out
}

/** Lossy, bursty delivery: some moves dropped, runs of moves delivered with one timestamp. */
function bursts(events: Events, r: Rng): TraceEvent[] {
  const drop = r.uniform(0, 0.3)
  const burst = r.uniform(0.05, 0.4)
  const out: TraceEvent[] = []
  for (const e of events) {
    if (isMove(e) && r.next() < drop) continue
    out.push({ ...e })
  }
  // A burst: the next few moves arrive together, stamped when the last of them arrived.
  for (let i = 0; i < out.length; i++) {
    if (!isMove(out[i]!) || r.next() >= burst / 3) continue
    const n = r.int(2, 5)
    let j = i
    while (j + 1 < out.length && j - i + 1 < n && isMove(out[j + 1]!) && out[j + 1]!.t - out[i]!.t < 120) j++
    for (let k = i; k < j; k++) out[k]!.t = out[j]!.t
    i = j
  }
  return monotone(out)
}

/** Timestamp jitter, or a coarse clock. */
function clock(events: Events, r: Rng): TraceEvent[] {
  const u = r.next()
  if (u < 0.5) {
    const sd = r.uniform(0.3, 3)
    return monotone(events.map((e) => ({ ...e, t: e.t + r.normal(0, sd) })))
  }
  const tick = r.pick([1, 1, 4, 10, 15.6])
  return monotone(events.map((e) => ({ ...e, t: Math.floor(e.t / tick) * tick })))
}

/** Coordinates scaled by `s` (another screen, or CSS pixels at a device-pixel ratio) and rounded to whole pixels. */
export function scale(events: Events, s: number): TraceEvent[] {
  return events.map((e) => (e.x === undefined || e.y === undefined ? { ...e } : { ...e, x: Math.round(e.x * s), y: Math.round(e.y * s) }))
}

/** Trackpad glides: a stroke that ends in a pause (not in a press) coasts on, slowing. */
function inertia(input: Events, r: Rng): TraceEvent[] {
  const events = input.map((e) => ({ ...e }))
  const decay = r.uniform(0.8, 0.93)
  const frame = r.pick([8.33, 16.67, 16.67])
  const out: TraceEvent[] = []
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!
    out.push({ ...e })
    const next = events[i + 1]
    const prev = events[i - 1]
    if (!isMove(e) || !prev || !isMove(prev) || !next || next.t - e.t < 200 || next.type !== 'mousemove') continue
    const dt = Math.max(1, e.t - prev.t)
    let vx = (e.x! - prev.x!) / dt
    let vy = (e.y! - prev.y!) / dt
    if (Math.hypot(vx, vy) < 0.3) continue
    let x = e.x!
    let y = e.y!
    let t = e.t
    let lastX = x
    let lastY = y
    while (Math.hypot(vx, vy) * frame >= 0.5 && t + frame < next.t - 20) {
      t += frame
      x += vx * frame
      y += vy * frame
      vx *= decay
      vy *= decay
      const rx = Math.round(x)
      const ry = Math.round(y)
      if (rx === lastX && ry === lastY) continue
      out.push({ type: 'mousemove', t: r1(t), x: rx, y: ry })
      lastX = rx
      lastY = ry
    }
    // The next stroke starts where the glide ended.
    const shiftX = Math.round(x) - e.x!
    const shiftY = Math.round(y) - e.y!
    if (shiftX !== 0 || shiftY !== 0) {
      for (let j = i + 1; j < events.length; j++) {
        const f = events[j]!
        if (f.x === undefined || f.y === undefined) continue
        f.x += shiftX
        f.y += shiftY
      }
    }
  }
  return monotone(out)
}

/** Finger lifts: a long movement pauses for 80–300 ms somewhere along the way. */
function clutch(events: Events, r: Rng): TraceEvent[] {
  let shift = 0
  const out: TraceEvent[] = []
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!
    const prev = events[i - 1]
    if (prev && isMove(e) && isMove(prev) && e.t - prev.t < 60 && r.next() < 0.03) shift += r.uniform(80, 300)
    out.push({ ...e, t: e.t + shift })
  }
  return monotone(out)
}

/** Slow or hesitant movers: time stretched, and pauses inside movements. */
function slow(events: Events, r: Rng): TraceEvent[] {
  const stretch = r.uniform(1.2, 2.2)
  const hesitate = r.uniform(0.005, 0.03)
  let shift = 0
  const out: TraceEvent[] = []
  for (const e of events) {
    if (isMove(e) && r.next() < hesitate) shift += r.logNormal(200, 0.5)
    out.push({ ...e, t: e.t * stretch + shift })
  }
  return monotone(out)
}

/** A remote-desktop session: coarse reports, lost runs of them, bursts. */
function remote(events: Events, r: Rng): TraceEvent[] {
  const coarse = resample(events, r.uniform(7, 12), r)
  const lossy: TraceEvent[] = []
  for (let i = 0; i < coarse.length; i++) {
    const e = coarse[i]!
    // A lost run: the next one to five reports never arrive.
    if (isMove(e) && r.next() < 0.06) {
      let skip = r.int(1, 5)
      while (skip-- > 0 && i + 1 < coarse.length && isMove(coarse[i + 1]!)) i++
      lossy.push({ ...coarse[i]! })
      continue
    }
    lossy.push({ ...e })
  }
  return bursts(lossy, r)
}

const STEPS = ['rate', 'frames', 'bursts', 'remote', 'clock', 'scale', 'inertia', 'clutch', 'slow'] as const

/** One training window as another set-up might have captured it: one to three of the steps above, then cut to what the SDK sends. */
export function augment(events: Events, r: Rng): TraceEvent[] {
  let out: TraceEvent[] = events.map((e) => ({ ...e }))
  const n = r.pick([1, 1, 2, 2, 3])
  const chosen = r.shuffle([...STEPS]).slice(0, n)
  for (const step of STEPS) {
    if (!chosen.includes(step)) continue
    if (step === 'rate') out = resample(out, r.pick([10, 15, 20, 30, 40, 60, 90, 125, 125, 250]), r)
    else if (step === 'frames') out = frames(out, r.pick([16.67, 16.67, 8.33, 6.94]), r)
    else if (step === 'bursts') out = bursts(out, r)
    else if (step === 'remote') out = remote(out, r)
    else if (step === 'clock') out = clock(out, r)
    else if (step === 'scale') out = scale(out, r.pick([0.5, 0.67, 0.8, 1.25, 1.5, 2]) * r.uniform(0.95, 1.05))
    else if (step === 'inertia') out = inertia(out, r)
    else if (step === 'clutch') out = clutch(out, r)
    else out = slow(out, r)
  }
  // As the SDK sends it: the last 600 events, times from the first.
  out = out.slice(-TRACE_EVENTS_PER_PAYLOAD)
  const t0 = out[0]?.t ?? 0
  return out.map((e) => ({ ...e, t: r1(e.t - t0) }))
}

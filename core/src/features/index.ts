/**
 * Behaviour features: one pure, DOM-free function from a trace (docs/protocol.md) to a
 * fixed-length vector. The SDK, the collector and the trainer all import this module
 * unchanged, so what the model was trained on is exactly what it scores.
 *
 * What it looks at, pointer first (the model's inputs):
 *  - timing: the spread and regularity of the intervals between moves, bursts, pauses;
 *  - geometry: step lengths, straightness of strokes, turning angles and their jitter;
 *  - kinematics: speed, acceleration and jerk, where in a stroke the speed peaks, how
 *    many sub-movements a stroke has, overshoot and correction near its end;
 *  - clicks: how long the button stays down, how the pointer arrives, clicks that land
 *    where the pointer never went (teleports).
 * And, reported but not (yet) fed to the model for want of training data: key hold and
 * flight times, scroll cadence, touch strokes.
 *
 * Every feature is scale-free or log-compressed, so sampling rates (60 Hz browsers,
 * 125 Hz gaming mice, bursty remote desktops) move features less than behaviour does.
 */
import type { TraceEvent } from '../protocol/trace'

export const FEATURE_NAMES = [
  // timing
  'moves_log',
  'dt_median_log',
  'dt_cv',
  'dt_mode_share',
  'dt_burst_share',
  'dt_entropy',
  'pause_share',
  // geometry
  'step_median_log',
  'step_cv',
  'step_zero_share',
  'step_max_log',
  'jump_share',
  'moves_per_click_log',
  'straightness_mean',
  'straightness_min',
  'turn_mean',
  'turn_std',
  'turn_flat_share',
  'turn_flip_share',
  // kinematics
  'speed_mean_log',
  'speed_cv',
  'accel_rel',
  'jerk_rel_log',
  'peak_time_ratio',
  'submovements',
  'overshoot_share',
  'end_speed_ratio',
  'speed_peaks_per_s',
  'accel_flip_share',
  // clicks
  'clicks_per_s',
  'dwell_median_log',
  'dwell_short_share',
  'dwell_cv',
  'approach_gap_log',
  'teleport_share',
  'cold_click_share',
  'approach_slowdown',
  // window
  'duration_log',
  'idle_share',
  // not model inputs (see above)
  'keys_log',
  'key_hold_median_log',
  'key_hold_cv',
  'key_flight_median_log',
  'key_flight_cv',
  'scrolls_log',
  'scroll_dt_cv',
  'touches_log',
  'touch_stroke_straightness',
] as const

export type FeatureName = (typeof FEATURE_NAMES)[number]
export const FEATURE_COUNT = FEATURE_NAMES.length

/** Features the classifier consumes (pointer behaviour, for which there is training data). */
export const MODEL_FEATURES: readonly FeatureName[] = FEATURE_NAMES.slice(0, FEATURE_NAMES.indexOf('keys_log'))

/** Below this much mouse behaviour the classifier does not judge: "insufficient data". */
export const MIN_MOUSE_EVENTS = 8

export type FeatureResult =
  | { sufficient: true; vector: Float64Array }
  | { sufficient: false; reason: 'too_few_mouse_events' | 'touch_only'; vector: Float64Array }

/** A gap longer than this ends a stroke. */
const STROKE_GAP_MS = 250
const PAUSE_MS = 250

interface Point {
  t: number
  x: number
  y: number
}

const log1p = (v: number): number => Math.log(1 + Math.max(0, v))

/**
 * Distances to a micro-pixel and intervals to the trace's 0.1 ms: features must not
 * change when a trace is shifted in time or space and floating point rounds differently.
 */
const dist = (a: Point, b: Point): number => Math.round(Math.hypot(b.x - a.x, b.y - a.y) * 1e6) / 1e6
const interval = (a: Point, b: Point): number => Math.max(1, Math.round((b.t - a.t) * 10) / 10)

function mean(xs: readonly number[]): number {
  if (xs.length === 0) return 0
  let s = 0
  for (const x of xs) s += x
  return s / xs.length
}

function std(xs: readonly number[], m = mean(xs)): number {
  if (xs.length < 2) return 0
  let s = 0
  for (const x of xs) s += (x - m) * (x - m)
  return Math.sqrt(s / xs.length)
}

function cv(xs: readonly number[]): number {
  const m = mean(xs)
  return m > 1e-9 ? std(xs, m) / m : 0
}

function median(xs: readonly number[]): number {
  if (xs.length === 0) return 0
  const s = [...xs].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

function share(xs: readonly number[], test: (x: number) => boolean): number {
  if (xs.length === 0) return 0
  let n = 0
  for (const x of xs) if (test(x)) n++
  return n / xs.length
}

/** Normalised entropy of interval lengths in 4 ms bins up to 100 ms. */
function entropy(dts: readonly number[]): number {
  if (dts.length < 2) return 0
  const bins = new Array<number>(26).fill(0)
  for (const dt of dts) bins[Math.min(25, Math.floor(dt / 4))]!++
  let h = 0
  for (const c of bins) {
    if (c === 0) continue
    const p = c / dts.length
    h -= p * Math.log(p)
  }
  return h / Math.log(26)
}

function angleDiff(a: number, b: number): number {
  let d = b - a
  while (d > Math.PI) d -= 2 * Math.PI
  while (d < -Math.PI) d += 2 * Math.PI
  return d
}

/** Splits moves into strokes at long gaps and at button presses. */
function strokes(moves: readonly Point[], presses: readonly number[]): Point[][] {
  const out: Point[][] = []
  let current: Point[] = []
  let p = 0
  for (const m of moves) {
    let split = current.length > 0 && m.t - current[current.length - 1]!.t > STROKE_GAP_MS
    while (p < presses.length && presses[p]! <= m.t) {
      if (current.length > 0) split = true
      p++
    }
    if (split) {
      if (current.length > 0) out.push(current)
      current = []
    }
    current.push(m)
  }
  if (current.length > 0) out.push(current)
  return out
}

interface StrokeStats {
  straightness: number
  peakTimeRatio: number
  submovements: number
  overshoot: boolean
  endSpeedRatio: number
}

function strokeStats(s: readonly Point[]): StrokeStats | null {
  if (s.length < 4) return null
  const first = s[0]!
  const last = s[s.length - 1]!
  const distance = dist(first, last)
  if (distance < 20) return null
  let path = 0
  const speeds: number[] = []
  const times: number[] = []
  for (let i = 1; i < s.length; i++) {
    const a = s[i - 1]!
    const b = s[i]!
    const step = dist(a, b)
    path += step
    speeds.push(step / interval(a, b))
    times.push(b.t - first.t)
  }
  const duration = Math.max(1, last.t - first.t)
  let peak = 0
  for (let i = 1; i < speeds.length; i++) if (speeds[i]! > speeds[peak]!) peak = i
  // Local maxima of a lightly smoothed speed profile that rise well above their valleys.
  const smooth = speeds.map((_, i) => (speeds[Math.max(0, i - 1)]! + speeds[i]! + speeds[Math.min(speeds.length - 1, i + 1)]!) / 3)
  const top = Math.max(...smooth)
  let subs = 0
  let valley = Infinity
  let rising = false
  for (let i = 0; i < smooth.length; i++) {
    const v = smooth[i]!
    valley = Math.min(valley, v)
    const next = smooth[i + 1] ?? -Infinity
    if (v > next && v - valley > 0.15 * top && (rising || i === 0)) {
      subs++
      valley = v
      rising = false
    } else if (v < next) rising = true
  }
  // Overshoot: the stroke got closer to its end point than the final approach started from.
  let closest = Infinity
  let overshoot = false
  for (let i = 0; i < s.length - 1; i++) {
    const d = dist(s[i]!, last)
    if (d < closest) closest = d
    else if (d > closest + 3 && closest < 0.3 * distance) overshoot = true
  }
  const tail = speeds.slice(-Math.max(1, Math.floor(speeds.length / 5)))
  return {
    straightness: path > 0 ? distance / path : 1,
    peakTimeRatio: times[peak]! / duration,
    submovements: Math.max(1, subs),
    overshoot,
    endSpeedRatio: speeds[peak]! > 0 ? mean(tail) / speeds[peak]! : 0,
  }
}

function keyFeatures(events: readonly TraceEvent[]): number[] {
  const downs = events.filter((e) => e.type === 'keydown').map((e) => e.t)
  const ups = events.filter((e) => e.type === 'keyup').map((e) => e.t)
  const holds: number[] = []
  let u = 0
  for (const d of downs) {
    while (u < ups.length && ups[u]! < d) u++
    if (u < ups.length && ups[u]! - d < 2000) holds.push(ups[u]! - d)
  }
  const flights: number[] = []
  for (let i = 1; i < downs.length; i++) {
    const gap = downs[i]! - downs[i - 1]!
    if (gap < 2000) flights.push(gap)
  }
  return [log1p(downs.length), log1p(median(holds)), cv(holds), log1p(median(flights)), cv(flights)]
}

function scrollFeatures(events: readonly TraceEvent[]): number[] {
  const ts = events.filter((e) => e.type === 'wheel' || e.type === 'scroll').map((e) => e.t)
  const dts: number[] = []
  for (let i = 1; i < ts.length; i++) dts.push(ts[i]! - ts[i - 1]!)
  return [log1p(ts.length), cv(dts)]
}

function touchFeatures(events: readonly TraceEvent[]): number[] {
  const touches = events.filter((e) => e.type === 'touchstart' || e.type === 'touchmove' || e.type === 'touchend')
  const straight: number[] = []
  let stroke: Point[] = []
  for (const e of touches) {
    if (e.type === 'touchstart') stroke = []
    stroke.push({ t: e.t, x: e.x ?? 0, y: e.y ?? 0 })
    if (e.type === 'touchend' && stroke.length >= 3) {
      const st = strokeStats(stroke)
      if (st) straight.push(st.straightness)
    }
  }
  return [log1p(touches.length), mean(straight)]
}

/** The feature vector of a trace, and whether there is enough mouse behaviour to judge. */
export function extractFeatures(events: readonly TraceEvent[]): FeatureResult {
  const vector = new Float64Array(FEATURE_COUNT)
  const mouse = events.filter((e) => e.type === 'mousemove' || e.type === 'mousedown' || e.type === 'mouseup' || e.type === 'click')
  const tail = [...keyFeatures(events), ...scrollFeatures(events), ...touchFeatures(events)]
  vector.set(tail, FEATURE_NAMES.indexOf('keys_log'))
  const moves: Point[] = []
  for (const e of mouse) if (e.type === 'mousemove') moves.push({ t: e.t, x: e.x ?? 0, y: e.y ?? 0 })
  if (mouse.length < MIN_MOUSE_EVENTS) {
    const touch = events.some((e) => e.type === 'touchstart')
    return { sufficient: false, reason: touch ? 'touch_only' : 'too_few_mouse_events', vector }
  }
  const downs = mouse.filter((e) => e.type === 'mousedown')
  const ups = mouse.filter((e) => e.type === 'mouseup')
  const f: Record<string, number> = {}

  // Timing: intervals between consecutive moves within strokes.
  const dts: number[] = []
  const gaps: number[] = []
  for (let i = 1; i < moves.length; i++) {
    // At the trace's own resolution (0.1 ms), so that float noise cannot move a feature.
    const dt = Math.round((moves[i]!.t - moves[i - 1]!.t) * 10) / 10
    gaps.push(dt)
    if (dt <= STROKE_GAP_MS) dts.push(dt)
  }
  f['moves_log'] = log1p(moves.length)
  f['dt_median_log'] = log1p(median(dts))
  f['dt_cv'] = cv(dts)
  const mode = median(dts)
  f['dt_mode_share'] = share(dts, (dt) => Math.abs(dt - mode) <= 0.5)
  f['dt_burst_share'] = share(dts, (dt) => dt <= 2)
  f['dt_entropy'] = entropy(dts)
  f['pause_share'] = share(gaps, (g) => g > PAUSE_MS)

  // Geometry and kinematics, per stroke.
  const presses = downs.map((d) => d.t)
  const all = strokes(moves, presses)
  const steps: number[] = []
  const turns: number[] = []
  const speeds: number[] = []
  const accels: number[] = []
  const jerks: number[] = []
  for (const s of all) {
    let prevAngle: number | null = null
    let prevSpeed: number | null = null
    let prevAccel: number | null = null
    for (let i = 1; i < s.length; i++) {
      const a = s[i - 1]!
      const b = s[i]!
      const step = dist(a, b)
      const dt = interval(a, b)
      steps.push(step)
      const speed = step / dt
      speeds.push(speed)
      if (prevSpeed !== null) {
        const accel = (speed - prevSpeed) / dt
        accels.push(Math.abs(accel))
        if (prevAccel !== null) jerks.push(Math.abs(accel - prevAccel) / dt)
        prevAccel = accel
      }
      prevSpeed = speed
      if (step >= 1) {
        const angle = Math.atan2(b.y - a.y, b.x - a.x)
        if (prevAngle !== null) turns.push(angleDiff(prevAngle, angle))
        prevAngle = angle
      }
    }
  }
  const stats = all.map(strokeStats).filter((s): s is StrokeStats => s !== null)
  f['step_median_log'] = log1p(median(steps))
  f['step_cv'] = cv(steps)
  f['step_zero_share'] = share(steps, (s) => s === 0)
  // Teleports: a hand at 60 Hz rarely covers 100 px between two events.
  f['step_max_log'] = log1p(steps.length ? Math.max(...steps) : 0)
  f['jump_share'] = share(steps, (s) => s > 100)
  f['moves_per_click_log'] = log1p(moves.length / Math.max(1, downs.length))
  f['straightness_mean'] = stats.length ? mean(stats.map((s) => s.straightness)) : 1
  f['straightness_min'] = stats.length ? Math.min(...stats.map((s) => s.straightness)) : 1
  const absTurns = turns.map(Math.abs)
  f['turn_mean'] = mean(absTurns)
  f['turn_std'] = std(turns)
  f['turn_flat_share'] = share(absTurns, (a) => a < 0.01)
  let flips = 0
  for (let i = 1; i < turns.length; i++) if (Math.sign(turns[i]!) !== Math.sign(turns[i - 1]!) && Math.abs(turns[i]!) > 0.01) flips++
  f['turn_flip_share'] = turns.length > 1 ? flips / (turns.length - 1) : 0
  const meanSpeed = mean(speeds)
  f['speed_mean_log'] = log1p(meanSpeed * 100)
  f['speed_cv'] = cv(speeds)
  const meanDt = Math.max(1, mean(dts))
  f['accel_rel'] = meanSpeed > 0 ? Math.min(50, (mean(accels) * meanDt) / meanSpeed) : 0
  f['jerk_rel_log'] = meanSpeed > 0 ? log1p((mean(jerks) * meanDt * meanDt) / meanSpeed) : 0
  f['peak_time_ratio'] = stats.length ? mean(stats.map((s) => s.peakTimeRatio)) : 0.5
  f['submovements'] = stats.length ? Math.min(10, mean(stats.map((s) => s.submovements))) : 1
  f['overshoot_share'] = stats.length ? share(stats.map((s) => (s.overshoot ? 1 : 0)), (v) => v === 1) : 0
  f['end_speed_ratio'] = stats.length ? mean(stats.map((s) => s.endSpeedRatio)) : 0
  // A hand's speed is noisy: many small peaks and sign changes of acceleration per second
  // of movement; generated curves are smooth.
  let peaks = 0
  let flipsA = 0
  let signedAccels = 0
  let moving = 0
  for (const st of all) {
    for (let i = 2; i < st.length; i++) {
      const v0 = dist(st[i - 2]!, st[i - 1]!) / interval(st[i - 2]!, st[i - 1]!)
      const v1 = dist(st[i - 1]!, st[i]!) / interval(st[i - 1]!, st[i]!)
      const v2 = i + 1 < st.length ? dist(st[i]!, st[i + 1]!) / interval(st[i]!, st[i + 1]!) : v1
      if (v1 > v0 && v1 > v2) peaks++
      const a0 = v1 - v0
      const a1 = v2 - v1
      if (a0 !== 0 && a1 !== 0) {
        signedAccels++
        if (Math.sign(a0) !== Math.sign(a1)) flipsA++
      }
    }
    if (st.length > 1) moving += st[st.length - 1]!.t - st[0]!.t
  }
  f['speed_peaks_per_s'] = Math.min(60, (peaks * 1000) / Math.max(50, moving))
  f['accel_flip_share'] = signedAccels ? flipsA / signedAccels : 0

  // Clicks.
  const first = mouse[0]!.t
  const last = mouse[mouse.length - 1]!.t
  const duration = Math.max(1, last - first)
  f['clicks_per_s'] = Math.min(20, (downs.length * 1000) / duration)
  const dwells: number[] = []
  let u = 0
  for (const d of downs) {
    while (u < ups.length && ups[u]!.t < d.t) u++
    if (u < ups.length && ups[u]!.t - d.t < 3000) dwells.push(ups[u]!.t - d.t)
  }
  f['dwell_median_log'] = log1p(median(dwells))
  f['dwell_short_share'] = share(dwells, (d) => d < 15)
  f['dwell_cv'] = cv(dwells)
  const approachGaps: number[] = []
  const teleports: number[] = []
  const cold: number[] = []
  const slowdowns: number[] = []
  let m = 0
  for (const d of downs) {
    while (m < moves.length && moves[m]!.t <= d.t) m++
    const before = moves[m - 1]
    if (!before) {
      teleports.push(1)
      cold.push(1)
      continue
    }
    approachGaps.push(d.t - before.t)
    teleports.push(dist(before, { t: d.t, x: d.x ?? before.x, y: d.y ?? before.y }) > 2 ? 1 : 0)
    // Moves in the second before the press.
    let k = m - 1
    while (k > 0 && d.t - moves[k - 1]!.t <= 1000) k--
    cold.push(m - 1 - k < 2 ? 1 : 0)
    // Speed over the last 100 ms before the press, relative to the window's mean speed.
    let j = m - 1
    while (j > 0 && d.t - moves[j - 1]!.t <= 100) j--
    let travelled = 0
    for (let i = j + 1; i < m; i++) travelled += dist(moves[i - 1]!, moves[i]!)
    const span = interval(moves[j]!, moves[m - 1]!)
    if (meanSpeed > 0 && m - 1 > j) slowdowns.push(Math.min(5, travelled / span / meanSpeed))
  }
  f['approach_gap_log'] = log1p(median(approachGaps))
  f['teleport_share'] = mean(teleports)
  f['cold_click_share'] = mean(cold)
  f['approach_slowdown'] = slowdowns.length ? mean(slowdowns) : 1

  // The window.
  f['duration_log'] = log1p(duration)
  let idle = 0
  for (const g of gaps) if (g > PAUSE_MS) idle += g
  f['idle_share'] = Math.min(1, idle / duration)

  FEATURE_NAMES.forEach((name, i) => {
    if (name in f) vector[i] = f[name]!
  })
  for (let i = 0; i < vector.length; i++) if (!Number.isFinite(vector[i]!)) vector[i] = 0
  return { sufficient: true, vector }
}

/**
 * Pointer features, the classifier's inputs, one function per group:
 *  - timing: the spread and regularity of the intervals between moves, bursts, pauses;
 *  - geometry: step lengths, straightness of strokes, turning angles and their jitter;
 *  - kinematics: speed, acceleration and jerk, where in a stroke the speed peaks, how
 *    many sub-movements a stroke has, overshoot and correction near its end;
 *  - clicks: how long the button stays down, how the pointer arrives, clicks that land
 *    where the pointer never went (teleports);
 *  - the window: how long it lasts and how much of it is idle.
 * Each group's names are listed beside it; its function must return exactly those.
 */
import type { TraceEvent } from '../protocol/trace'
import { angleDiff, cv, dist, entropy, interval, log1p, mean, median, share, std, type Point } from './math'
import { STROKE_GAP_MS, strokeShape, strokes, type Stroke, type StrokeShape } from './strokes'

const PAUSE_MS = 250

export const TIMING = ['moves_log', 'dt_median_log', 'dt_cv', 'dt_mode_share', 'dt_burst_share', 'dt_entropy', 'pause_share'] as const
export const GEOMETRY = [
  'step_median_log', 'step_cv', 'step_zero_share', 'step_max_log', 'jump_share', 'moves_per_click_log',
  'straightness_mean', 'straightness_min', 'turn_mean', 'turn_std', 'turn_flat_share', 'turn_flip_share',
] as const
export const KINEMATICS = [
  'speed_mean_log', 'speed_cv', 'accel_rel', 'jerk_rel_log', 'peak_time_ratio', 'submovements',
  'overshoot_share', 'end_speed_ratio', 'speed_peaks_per_s', 'accel_flip_share',
] as const
export const CLICKS = [
  'clicks_per_s', 'dwell_median_log', 'dwell_short_share', 'dwell_cv', 'approach_gap_log',
  'teleport_share', 'cold_click_share', 'approach_slowdown',
] as const
export const WINDOW = ['duration_log', 'idle_share'] as const

type Values<Names extends readonly string[]> = Record<Names[number], number>

type MouseEvent = TraceEvent & { type: 'mousemove' | 'mousedown' | 'mouseup' | 'click' }

/** What every pointer group reads, computed once per trace. */
export interface PointerTrace {
  mouse: readonly MouseEvent[]
  /** Every mousemove as recorded, with the intervals and steps between them. */
  raw: readonly Point[]
  rawDts: readonly number[]
  rawSteps: readonly number[]
  /** The moves as delivered (deliveredMoves): what the other features read. */
  moves: readonly Point[]
  downs: readonly MouseEvent[]
  ups: readonly MouseEvent[]
  /** Intervals between consecutive moves, at the trace's 0.1 ms resolution: all of them, and those within strokes. */
  gaps: readonly number[]
  dts: readonly number[]
  strokes: readonly Stroke[]
  shapes: readonly StrokeShape[]
  /** Mean step speed over every stroke, px/ms. */
  meanSpeed: number
  /** Every stroke's step speeds, in order (px/ms). */
  speeds: number[]
  /** From the first to the last mouse event, ms (at least 1). */
  duration: number
}

const isMouse = (e: TraceEvent): e is MouseEvent => e.type === 'mousemove' || e.type === 'mousedown' || e.type === 'mouseup' || e.type === 'click'

export function mouseEvents(events: readonly TraceEvent[]): MouseEvent[] {
  return events.filter(isMouse)
}

/** Moves closer in time than this are one report delivered in a burst (remote desktops, 1000 Hz hooks). */
const BURST_MS = 4

/**
 * The moves as a browser would deliver them, whatever captured them: a move to where the
 * pointer already was is dropped (some capture tools log those), and moves within BURST_MS
 * of the first of a burst merge into one (the last position, the first time). Kinematics
 * on raw bursts divide by intervals of 0–2 ms, which says more about the capture than the hand.
 */
function deliveredMoves(raw: readonly Point[]): Point[] {
  const out: Point[] = []
  for (let i = 0; i < raw.length; i++) {
    const m = raw[i]!
    const last = out[out.length - 1]
    if (last && m.x === last.x && m.y === last.y) continue
    if (last && m.t - last.t < BURST_MS) {
      out[out.length - 1] = { t: last.t, x: m.x, y: m.y }
      continue
    }
    out.push(m)
  }
  return out
}

export function pointerTrace(mouse: readonly MouseEvent[]): PointerTrace {
  const raw: Point[] = []
  for (let i = 0; i < mouse.length; i++) {
    const e = mouse[i]!
    if (e.type === 'mousemove') raw.push({ t: e.t, x: e.x ?? 0, y: e.y ?? 0 })
  }
  const rawDts: number[] = []
  const rawSteps: number[] = []
  for (let i = 1; i < raw.length; i++) {
    rawDts.push(Math.round((raw[i]!.t - raw[i - 1]!.t) * 10) / 10)
    rawSteps.push(dist(raw[i - 1]!, raw[i]!))
  }
  const moves = deliveredMoves(raw)
  const downs = mouse.filter((e) => e.type === 'mousedown')
  const ups = mouse.filter((e) => e.type === 'mouseup')
  const gaps: number[] = []
  const dts: number[] = []
  for (let i = 1; i < moves.length; i++) {
    // At the trace's own resolution (0.1 ms), so that float noise cannot move a feature.
    const dt = Math.round((moves[i]!.t - moves[i - 1]!.t) * 10) / 10
    gaps.push(dt)
    if (dt <= STROKE_GAP_MS) dts.push(dt)
  }
  const all = strokes(moves, downs.map((d) => d.t))
  const speeds: number[] = []
  for (let i = 0; i < all.length; i++) {
    const v = all[i]!.speeds
    for (let j = 0; j < v.length; j++) speeds.push(v[j]!)
  }
  return {
    mouse,
    raw,
    rawDts,
    rawSteps,
    moves,
    downs,
    ups,
    gaps,
    dts,
    strokes: all,
    shapes: all.map(strokeShape).filter((s): s is StrokeShape => s !== null),
    speeds,
    meanSpeed: mean(speeds),
    duration: Math.max(1, mouse[mouse.length - 1]!.t - mouse[0]!.t),
  }
}

export function timingFeatures(p: PointerTrace): Values<typeof TIMING> {
  const { dts, gaps } = p
  const mode = median(dts)
  return {
    moves_log: log1p(p.moves.length),
    dt_median_log: log1p(mode),
    dt_cv: cv(dts),
    dt_mode_share: share(dts, (dt) => Math.abs(dt - mode) <= 0.5),
    dt_burst_share: share(p.rawDts, (dt) => dt <= 2),
    dt_entropy: entropy(dts),
    pause_share: share(gaps, (g) => g > PAUSE_MS),
  }
}

/** Heading changes between steps of at least a pixel, within each stroke. */
function turns(all: readonly Stroke[]): number[] {
  const out: number[] = []
  for (let k = 0; k < all.length; k++) {
    const s = all[k]!
    let prevAngle: number | null = null
    for (let i = 1; i < s.points.length; i++) {
      if (s.steps[i - 1]! < 1) continue
      const a = s.points[i - 1]!
      const b = s.points[i]!
      const angle = Math.atan2(b.y - a.y, b.x - a.x)
      if (prevAngle !== null) out.push(angleDiff(prevAngle, angle))
      prevAngle = angle
    }
  }
  return out
}

export function geometryFeatures(p: PointerTrace): Values<typeof GEOMETRY> {
  const steps: number[] = []
  let maxStep = 0
  for (let k = 0; k < p.strokes.length; k++) {
    const strokeSteps = p.strokes[k]!.steps
    for (let i = 0; i < strokeSteps.length; i++) {
      const step = strokeSteps[i]!
      steps.push(step)
      if (step > maxStep) maxStep = step
    }
  }
  const shapes = p.shapes
  const turned = turns(p.strokes)
  const absTurns = new Array<number>(turned.length)
  for (let i = 0; i < turned.length; i++) absTurns[i] = Math.abs(turned[i]!)
  let flips = 0
  for (let i = 1; i < turned.length; i++) if (Math.sign(turned[i]!) !== Math.sign(turned[i - 1]!) && absTurns[i]! > 0.01) flips++
  let straightSum = 0
  let straightMin = Infinity
  for (let i = 0; i < shapes.length; i++) {
    const s = shapes[i]!
    straightSum += s.straightness
    if (s.straightness < straightMin) straightMin = s.straightness
  }
  return {
    step_median_log: log1p(median(steps)),
    step_cv: cv(steps),
    step_zero_share: share(p.rawSteps, (s) => s === 0),
    // Teleports: a hand at 60 Hz rarely covers 100 px between two events.
    step_max_log: log1p(maxStep),
    jump_share: share(steps, (s) => s > 100),
    moves_per_click_log: log1p(p.moves.length / Math.max(1, p.downs.length)),
    straightness_mean: shapes.length ? straightSum / shapes.length : 1,
    straightness_min: shapes.length ? straightMin : 1,
    turn_mean: mean(absTurns),
    turn_std: std(turned),
    turn_flat_share: share(absTurns, (a) => a < 0.01),
    turn_flip_share: turned.length > 1 ? flips / (turned.length - 1) : 0,
  }
}

export function kinematicsFeatures(p: PointerTrace): Values<typeof KINEMATICS> {
  const { meanSpeed, shapes } = p
  const { speeds } = p
  const accels: number[] = []
  const jerks: number[] = []
  // A hand's speed is noisy: many small peaks and sign changes of acceleration per second
  // of movement; generated curves are smooth.
  let peaks = 0
  let flips = 0
  let signedAccels = 0
  let moving = 0
  for (let k = 0; k < p.strokes.length; k++) {
    const s = p.strokes[k]!
    const v = s.speeds
    let prevAccel: number | null = null
    for (let i = 1; i < v.length; i++) {
      const accel = (v[i]! - v[i - 1]!) / s.dts[i]!
      accels.push(Math.abs(accel))
      if (prevAccel !== null) jerks.push(Math.abs(accel - prevAccel) / s.dts[i]!)
      prevAccel = accel
    }
    for (let i = 1; i < v.length; i++) {
      const v0 = v[i - 1]!
      const v1 = v[i]!
      const v2 = i + 1 < v.length ? v[i + 1]! : v1
      if (v1 > v0 && v1 > v2) peaks++
      const a0 = v1 - v0
      const a1 = v2 - v1
      if (a0 !== 0 && a1 !== 0) {
        signedAccels++
        if (Math.sign(a0) !== Math.sign(a1)) flips++
      }
    }
    if (s.points.length > 1) moving += s.points[s.points.length - 1]!.t - s.points[0]!.t
  }
  const meanDt = Math.max(1, mean(p.dts))
  return {
    speed_mean_log: log1p(meanSpeed * 100),
    speed_cv: cv(speeds),
    accel_rel: meanSpeed > 0 ? Math.min(50, (mean(accels) * meanDt) / meanSpeed) : 0,
    jerk_rel_log: meanSpeed > 0 ? log1p((mean(jerks) * meanDt * meanDt) / meanSpeed) : 0,
    peak_time_ratio: shapes.length ? mean(shapes.map((s) => s.peakTimeRatio)) : 0.5,
    submovements: shapes.length ? Math.min(10, mean(shapes.map((s) => s.submovements))) : 1,
    overshoot_share: shapes.length ? share(shapes.map((s) => (s.overshoot ? 1 : 0)), (v) => v === 1) : 0,
    end_speed_ratio: shapes.length ? mean(shapes.map((s) => s.endSpeedRatio)) : 0,
    speed_peaks_per_s: Math.min(60, (peaks * 1000) / Math.max(50, moving)),
    accel_flip_share: signedAccels ? flips / signedAccels : 0,
  }
}

export function clickFeatures(p: PointerTrace): Values<typeof CLICKS> {
  const { downs, ups, moves, meanSpeed } = p
  const dwells: number[] = []
  let u = 0
  for (let i = 0; i < downs.length; i++) {
    const d = downs[i]!
    while (u < ups.length && ups[u]!.t < d.t) u++
    if (u < ups.length && ups[u]!.t - d.t < 3000) dwells.push(ups[u]!.t - d.t)
  }
  const approachGaps: number[] = []
  const teleports: number[] = []
  const cold: number[] = []
  const slowdowns: number[] = []
  let m = 0
  for (let q = 0; q < downs.length; q++) {
    const d = downs[q]!
    while (m < moves.length && moves[m]!.t <= d.t) m++
    const before = moves[m - 1]
    // A press before any move in the window: where the pointer came from is not known.
    if (!before) continue
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
  return {
    clicks_per_s: Math.min(20, (downs.length * 1000) / p.duration),
    dwell_median_log: log1p(median(dwells)),
    dwell_short_share: share(dwells, (d) => d < 15),
    dwell_cv: cv(dwells),
    approach_gap_log: log1p(median(approachGaps)),
    teleport_share: mean(teleports),
    cold_click_share: mean(cold),
    approach_slowdown: slowdowns.length ? mean(slowdowns) : 1,
  }
}

export function windowFeatures(p: PointerTrace): Values<typeof WINDOW> {
  let idle = 0
  for (let i = 0; i < p.gaps.length; i++) if (p.gaps[i]! > PAUSE_MS) idle += p.gaps[i]!
  return { duration_log: log1p(p.duration), idle_share: Math.min(1, idle / p.duration) }
}

/**
 * Strokes: runs of pointer positions between pauses and presses, with each step's
 * length, interval and speed computed once for every feature group that reads them.
 */
import { dist, interval, type Point } from './math'

/** A gap longer than this ends a stroke. */
export const STROKE_GAP_MS = 250

export interface Stroke {
  points: readonly Point[]
  /** For each step from points[i] to points[i + 1]: its length (px), interval (ms) and speed (px/ms). */
  steps: readonly number[]
  dts: readonly number[]
  speeds: readonly number[]
}

export function stroke(points: readonly Point[]): Stroke {
  const steps: number[] = []
  const dts: number[] = []
  const speeds: number[] = []
  for (let i = 1; i < points.length; i++) {
    const step = dist(points[i - 1]!, points[i]!)
    const dt = interval(points[i - 1]!, points[i]!)
    steps.push(step)
    dts.push(dt)
    speeds.push(step / dt)
  }
  return { points, steps, dts, speeds }
}

/** Splits moves into strokes at long gaps and at button presses (times, ascending). */
export function strokes(moves: readonly Point[], presses: readonly number[]): Stroke[] {
  const out: Stroke[] = []
  let current: Point[] = []
  let p = 0
  for (let i = 0; i < moves.length; i++) {
    const m = moves[i]!
    let split = current.length > 0 && m.t - current[current.length - 1]!.t > STROKE_GAP_MS
    while (p < presses.length && presses[p]! <= m.t) {
      if (current.length > 0) split = true
      p++
    }
    if (split) {
      if (current.length > 0) out.push(stroke(current))
      current = []
    }
    current.push(m)
  }
  if (current.length > 0) out.push(stroke(current))
  return out
}

export interface StrokeShape {
  straightness: number
  peakTimeRatio: number
  submovements: number
  overshoot: boolean
  endSpeedRatio: number
}

/** How an aimed movement looks: null for strokes too short to be one. */
export function strokeShape(s: Stroke): StrokeShape | null {
  const points = s.points
  if (points.length < 4) return null
  const first = points[0]!
  const last = points[points.length - 1]!
  const distance = dist(first, last)
  if (distance < 20) return null
  let path = 0
  for (let i = 0; i < s.steps.length; i++) path += s.steps[i]!
  const speeds = s.speeds
  const duration = Math.max(1, last.t - first.t)
  let peak = 0
  for (let i = 1; i < speeds.length; i++) if (speeds[i]! > speeds[peak]!) peak = i
  // Local maxima of a lightly smoothed speed profile that rise well above their valleys.
  const n = speeds.length
  const smooth = new Float64Array(n)
  let top = -Infinity
  for (let i = 0; i < n; i++) {
    const v = (speeds[Math.max(0, i - 1)]! + speeds[i]! + speeds[Math.min(n - 1, i + 1)]!) / 3
    smooth[i] = v
    if (v > top) top = v
  }
  let subs = 0
  let valley = Infinity
  let rising = false
  for (let i = 0; i < smooth.length; i++) {
    const v = smooth[i]!
    valley = Math.min(valley, v)
    const next = i + 1 < n ? smooth[i + 1]! : -Infinity
    if (v > next && v - valley > 0.15 * top && (rising || i === 0)) {
      subs++
      valley = v
      rising = false
    } else if (v < next) rising = true
  }
  // Overshoot: the stroke got closer to its end point than the final approach started from.
  let closest = Infinity
  let overshoot = false
  for (let i = 0; i < points.length - 1; i++) {
    const d = dist(points[i]!, last)
    if (d < closest) closest = d
    else if (d > closest + 3 && closest < 0.3 * distance) overshoot = true
  }
  const tailFrom = n - Math.max(1, Math.floor(n / 5))
  let tailSum = 0
  for (let i = tailFrom; i < n; i++) tailSum += speeds[i]!
  return {
    straightness: path > 0 ? distance / path : 1,
    peakTimeRatio: (points[peak + 1]!.t - first.t) / duration,
    submovements: Math.max(1, subs),
    overshoot,
    endSpeedRatio: speeds[peak]! > 0 ? tailSum / (n - tailFrom) / speeds[peak]! : 0,
  }
}

/**
 * Features reported but not (yet) fed to the model, for want of training data: key hold
 * and flight times (timing only: traces hold no key values), scroll cadence, touch strokes.
 */
import type { TraceEvent } from '../protocol/trace'
import { cv, log1p, mean, median, type Point } from './math'
import { stroke, strokeShape } from './strokes'

export const KEYS = ['keys_log', 'key_hold_median_log', 'key_hold_cv', 'key_flight_median_log', 'key_flight_cv'] as const
export const SCROLL = ['scrolls_log', 'scroll_dt_cv'] as const
export const TOUCH = ['touches_log', 'touch_stroke_straightness'] as const

type Values<Names extends readonly string[]> = Record<Names[number], number>

export function keyFeatures(events: readonly TraceEvent[]): Values<typeof KEYS> {
  const downs = events.filter((e) => e.type === 'keydown').map((e) => e.t)
  const ups = events.filter((e) => e.type === 'keyup').map((e) => e.t)
  const holds: number[] = []
  let u = 0
  for (let i = 0; i < downs.length; i++) {
    const d = downs[i]!
    while (u < ups.length && ups[u]! < d) u++
    if (u < ups.length && ups[u]! - d < 2000) holds.push(ups[u]! - d)
  }
  const flights: number[] = []
  for (let i = 1; i < downs.length; i++) {
    const gap = downs[i]! - downs[i - 1]!
    if (gap < 2000) flights.push(gap)
  }
  return {
    keys_log: log1p(downs.length),
    key_hold_median_log: log1p(median(holds)),
    key_hold_cv: cv(holds),
    key_flight_median_log: log1p(median(flights)),
    key_flight_cv: cv(flights),
  }
}

export function scrollFeatures(events: readonly TraceEvent[]): Values<typeof SCROLL> {
  const ts = events.filter((e) => e.type === 'wheel' || e.type === 'scroll').map((e) => e.t)
  const dts: number[] = []
  for (let i = 1; i < ts.length; i++) dts.push(ts[i]! - ts[i - 1]!)
  return { scrolls_log: log1p(ts.length), scroll_dt_cv: cv(dts) }
}

export function touchFeatures(events: readonly TraceEvent[]): Values<typeof TOUCH> {
  const touches = events.filter((e) => e.type === 'touchstart' || e.type === 'touchmove' || e.type === 'touchend')
  const straight: number[] = []
  let points: Point[] = []
  for (let i = 0; i < touches.length; i++) {
    const e = touches[i]!
    if (e.type === 'touchstart') points = []
    points.push({ t: e.t, x: e.x ?? 0, y: e.y ?? 0 })
    if (e.type === 'touchend' && points.length >= 3) {
      const shape = strokeShape(stroke(points))
      if (shape) straight.push(shape.straightness)
    }
  }
  return { touches_log: log1p(touches.length), touch_stroke_straightness: mean(straight) }
}

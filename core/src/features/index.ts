/**
 * Behaviour features: one pure, DOM-free function from a trace (docs/protocol.md) to a
 * fixed-length vector. The SDK, the collector and the trainer all import this module
 * unchanged, so what the model was trained on is exactly what it scores.
 *
 * The groups: pointer.ts (timing, geometry, kinematics, clicks, the window: the model's
 * inputs) and other.ts (keys, scroll, touch: reported, not yet modelled), over the
 * strokes of strokes.ts. A group's function returns exactly its listed names, so a
 * feature cannot be misspelt into a silent 0.
 *
 * Every feature is scale-free or log-compressed, so sampling rates (60 Hz browsers,
 * 125 Hz gaming mice, bursty remote desktops) move features less than behaviour does.
 */
import type { TraceEvent } from '../protocol/trace'
import { CLICKS, GEOMETRY, KINEMATICS, TIMING, WINDOW, clickFeatures, geometryFeatures, kinematicsFeatures, mouseEvents, pointerTrace, timingFeatures, windowFeatures, type PointerTrace } from './pointer'
import { KEYS, SCROLL, TOUCH, keyFeatures, scrollFeatures, touchFeatures } from './other'

/** Every feature, in vector order: the model's pointer groups first, then the rest. */
export const FEATURE_NAMES = [...TIMING, ...GEOMETRY, ...KINEMATICS, ...CLICKS, ...WINDOW, ...KEYS, ...SCROLL, ...TOUCH] as const

export type FeatureName = (typeof FEATURE_NAMES)[number]
export const FEATURE_COUNT = FEATURE_NAMES.length

/**
 * The feature code's version. Bump it with any change that moves a feature's value (the
 * golden vectors in core/src/features/features.test.ts tell), then re-pin the goldens and
 * retrain: the shipped model records the schema it was trained on (featureSchema).
 */
export const FEATURE_VERSION = 2

/** Identifies the feature vector's layout and code: names, order and version. */
export function featureSchema(): string {
  return `v${FEATURE_VERSION}:${FEATURE_NAMES.join(',')}`
}

/**
 * Computed but not modelled. Click dwell (how long the button stays down): one human source
 * (Freihaut) logs press and release as one event, so its people would teach the model that a
 * zero dwell is human, which is what the crudest bots do. Bursts and repeated positions in
 * the raw moves: they describe the capture (remote desktops deliver bursts, some tools log
 * moves that go nowhere) more than the hand, and a new set-up would look like a bot.
 */
const UNMODELLED: ReadonlySet<FeatureName> = new Set(['dwell_median_log', 'dwell_short_share', 'dwell_cv', 'dt_burst_share', 'step_zero_share'])

/** Features the classifier consumes (pointer behaviour, for which there is training data). */
export const MODEL_FEATURES: readonly FeatureName[] = [...TIMING, ...GEOMETRY, ...KINEMATICS, ...CLICKS, ...WINDOW].filter((n) => !UNMODELLED.has(n))

/** Below this much mouse behaviour the classifier does not judge: "insufficient data". */
export const MIN_MOUSE_EVENTS = 8
/** …nor below this much movement, px of path in all: a few twitches are not a movement to judge. */
export const MIN_PATH_PX = 60

export type FeatureResult =
  | { sufficient: true; vector: Float64Array }
  | { sufficient: false; reason: 'too_few_mouse_events' | 'too_little_movement' | 'touch_only'; vector: Float64Array }

/** One group's values into the vector, in its names' order, from `offset`; not-finite values become 0. */
function put<Names extends readonly FeatureName[]>(vector: Float64Array, offset: number, names: Names, values: Record<Names[number], number>): number {
  for (let i = 0; i < names.length; i++) {
    const v = values[names[i]! as Names[number]]
    vector[offset + i] = Number.isFinite(v) ? v : 0
  }
  return offset + names.length
}

const POINTER_COUNT = TIMING.length + GEOMETRY.length + KINEMATICS.length + CLICKS.length + WINDOW.length

/** The vector: the pointer groups (zeros when there are none), then keys, scroll and touch. */
function toVector(events: readonly TraceEvent[], p: PointerTrace | null): Float64Array {
  const vector = new Float64Array(FEATURE_COUNT)
  let at = 0
  if (p) {
    at = put(vector, at, TIMING, timingFeatures(p))
    at = put(vector, at, GEOMETRY, geometryFeatures(p))
    at = put(vector, at, KINEMATICS, kinematicsFeatures(p))
    at = put(vector, at, CLICKS, clickFeatures(p))
    at = put(vector, at, WINDOW, windowFeatures(p))
  } else at = POINTER_COUNT
  at = put(vector, at, KEYS, keyFeatures(events))
  at = put(vector, at, SCROLL, scrollFeatures(events))
  put(vector, at, TOUCH, touchFeatures(events))
  return vector
}

/** The feature vector of a trace, and whether there is enough mouse behaviour to judge. */
export function extractFeatures(events: readonly TraceEvent[]): FeatureResult {
  const mouse = mouseEvents(events)
  if (mouse.length < MIN_MOUSE_EVENTS) {
    const touch = events.some((e) => e.type === 'touchstart')
    return { sufficient: false, reason: touch ? 'touch_only' : 'too_few_mouse_events', vector: toVector(events, null) }
  }
  const p = pointerTrace(mouse)
  // Every step counts, jumps included: a pointer that teleports has moved.
  let path = 0
  for (let i = 0; i < p.rawSteps.length; i++) path += p.rawSteps[i]!
  if (path < MIN_PATH_PX) return { sufficient: false, reason: 'too_little_movement', vector: toVector(events, null) }
  return { sufficient: true, vector: toVector(events, p) }
}

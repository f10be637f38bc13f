/**
 * Behaviour replay: a recorded pointer trace sent again, from another device. Each trace
 * gets a sketch: the path resampled every STEP_PX of travel (so sampling rate and time
 * warps do not matter), each step's heading in one of SECTORS directions, runs of
 * SHINGLE headings, MinHash over those runs, and the MinHash cut into BANDS bands of ROWS.
 * Two traces that share a band are near-identical paths (locality-sensitive hashing), and
 * an exact digest catches a literal copy even when it is short. The collector counts, per
 * key, the distinct devices that sent it within a window: a second device is a replay.
 *
 * Too little movement gives no bands: short paths are too alike between people to tell.
 * The parameters are chosen so that windows of different people in the research datasets
 * never share a band (scripts/replay-sketch-eval.ts measures it, and how many replays are
 * caught; docs/detectors.md has the figures). Deliberate distortion defeats it: that is
 * the behaviour classifier's to judge.
 */
import type { TraceEvent } from '@vigil-risk/core/protocol/trace'

const STEP_PX = 24
const SMOOTH = 3
const SECTORS = 8
const SHINGLE = 8
const BANDS = 8
const ROWS = 6
/** At least this many resampled steps (about 1.3 px × STEP_PX × this of travel). */
const MIN_STEPS = 64
/** A run of headings that turns no more than this is a straight line: everybody draws those. */
const MIN_DISTINCT_IN_SHINGLE = 3

const fmix32 = (h: number): number => {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/**
 * Pointer positions, each the mean of itself and its SMOOTH neighbours on either side:
 * jitter averages out. As two columns (x, y): this runs on every collect's trace.
 */
function smoothedPath(events: readonly TraceEvent[]): { xs: Float64Array; ys: Float64Array } {
  let count = 0
  for (let i = 0; i < events.length; i++) if (isMove(events[i]!)) count++
  const rx = new Float64Array(count)
  const ry = new Float64Array(count)
  let n = 0
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!
    if (!isMove(e)) continue
    rx[n] = e.x!
    ry[n++] = e.y!
  }
  const xs = new Float64Array(count)
  const ys = new Float64Array(count)
  for (let i = 0; i < count; i++) {
    let x = 0
    let y = 0
    let m = 0
    for (let j = Math.max(0, i - SMOOTH); j <= Math.min(count - 1, i + SMOOTH); j++) {
      x += rx[j]!
      y += ry[j]!
      m++
    }
    xs[i] = x / m
    ys[i] = y / m
  }
  return { xs, ys }
}

const isMove = (e: TraceEvent): boolean => (e.type === 'mousemove' || e.type === 'touchmove') && e.x !== undefined && e.y !== undefined

/**
 * At most this many headings: a real trace of ≤ 4,096 events travels far less than this ×
 * STEP_PX, and a forged one with absurd jumps must not cost more than a real one.
 */
const MAX_STEPS = 8192

/** Headings of the smoothed path resampled every STEP_PX of travel, 0 … SECTORS − 1. */
function headings(events: readonly TraceEvent[]): number[] {
  const out: number[] = []
  const { xs, ys } = smoothedPath(events)
  if (xs.length === 0) return out
  // The previous point, the anchor of the next heading, and the point the walk is at.
  let prevX = xs[0]!
  let prevY = ys[0]!
  let anchorX = prevX
  let anchorY = prevY
  let remaining = STEP_PX
  for (let i = 1; i < xs.length; i++) {
    const px = xs[i]!
    const py = ys[i]!
    let fromX = prevX
    let fromY = prevY
    let len = Math.sqrt((px - fromX) ** 2 + (py - fromY) ** 2)
    while (len >= remaining && out.length < MAX_STEPS) {
      const t = remaining / len
      const qx = fromX + (px - fromX) * t
      const qy = fromY + (py - fromY) * t
      const sector = Math.round((Math.atan2(qy - anchorY, qx - anchorX) / (2 * Math.PI)) * SECTORS)
      out.push(((sector % SECTORS) + SECTORS) % SECTORS)
      anchorX = fromX = qx
      anchorY = fromY = qy
      len = Math.sqrt((px - fromX) ** 2 + (py - fromY) ** 2)
      remaining = STEP_PX
    }
    remaining -= len
    prevX = px
    prevY = py
  }
  return out
}

function popcount(v: number): number {
  let n = 0
  for (let m = v; m !== 0; m &= m - 1) n++
  return n
}

/** FNV-1a's offset basis, and one 32-bit word folded into hash `h`. */
const FNV_BASIS = 0x811c9dc5
const fnvStep = (h: number, word: number): number => Math.imul(h ^ (word >>> 0), 0x01000193)

/** FNV-1a over 32-bit words. */
function fnv(words: ArrayLike<number>): number {
  let h = FNV_BASIS
  for (let i = 0; i < words.length; i++) h = fnvStep(h, words[i]!)
  return h >>> 0
}

/** Two people never send byte-identical traces of this many moves (times are in 0.1 ms). */
const MIN_EXACT_MOVES = 8

/** A digest of the events exactly as sent: a literal copy, however short. */
function exactDigest(events: readonly TraceEvent[]): string | null {
  // fnv over (t in 0.1 ms, x, y, the type's length) of each event, folded as it goes.
  let h = FNV_BASIS
  let moves = 0
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!
    if (e.type === 'mousemove' || e.type === 'touchmove') moves++
    h = fnvStep(h, Math.round(e.t * 10))
    h = fnvStep(h, Math.round(e.x ?? 0))
    h = fnvStep(h, Math.round(e.y ?? 0))
    h = fnvStep(h, e.type.length)
  }
  return moves >= MIN_EXACT_MOVES ? `x:${(h >>> 0).toString(16)}.${events.length}` : null
}

/**
 * The trace's sketch keys: BANDS near-duplicate bands (`b<i>:<hex>`) when it moves far
 * enough, and an exact digest (`x:<hex>`) when it has a few moves; empty when neither.
 */
export function traceSketch(events: readonly TraceEvent[]): string[] {
  const exact = exactDigest(events)
  const keys = exact ? [exact] : []
  const h = headings(events)
  if (h.length < MIN_STEPS) return keys
  const shingles: number[] = []
  const run = h.slice(0, SHINGLE)
  for (let i = 0; i + SHINGLE <= h.length; i++) {
    for (let j = 0; j < SHINGLE; j++) run[j] = h[i + j]!
    // Headings are sectors 0 … SECTORS − 1: a bit mask counts the distinct ones.
    let seen = 0
    for (let j = 0; j < SHINGLE; j++) seen |= 1 << run[j]!
    if (popcount(seen) < MIN_DISTINCT_IN_SHINGLE) continue
    shingles.push(fnv(run))
  }
  if (shingles.length < SHINGLE) return keys
  const mins = new Uint32Array(BANDS * ROWS).fill(0xffffffff)
  for (let i = 0; i < shingles.length; i++) {
    const s = shingles[i]!
    for (let k = 0; k < mins.length; k++) {
      const v = fmix32(s ^ Math.imul(k + 1, 0x9e3779b9))
      if (v < mins[k]!) mins[k] = v
    }
  }
  for (let b = 0; b < BANDS; b++) keys.push(`b${b}:${fnv(mins.subarray(b * ROWS, (b + 1) * ROWS)).toString(16)}`)
  return keys
}

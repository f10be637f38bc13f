/** Small statistics for the features. Every one is total: empty input gives a defined value. */

export interface Point {
  t: number
  x: number
  y: number
}

export const log1p = (v: number): number => Math.log(1 + Math.max(0, v))

/**
 * Distances to a micro-pixel and intervals to the trace's 0.1 ms: features must not
 * change when a trace is shifted in time or space and floating point rounds differently.
 */
export const dist = (a: Point, b: Point): number => {
  // Not Math.hypot: several times slower in V8, and the rounding makes them agree.
  const dx = b.x - a.x
  const dy = b.y - a.y
  return Math.round(Math.sqrt(dx * dx + dy * dy) * 1e6) / 1e6
}
export const interval = (a: Point, b: Point): number => Math.max(1, Math.round((b.t - a.t) * 10) / 10)

export function mean(xs: readonly number[]): number {
  const n = xs.length
  if (n === 0) return 0
  let s = 0
  for (let i = 0; i < n; i++) s += xs[i]!
  return s / n
}

export function std(xs: readonly number[], m = mean(xs)): number {
  const n = xs.length
  if (n < 2) return 0
  let s = 0
  for (let i = 0; i < n; i++) {
    const d = xs[i]! - m
    s += d * d
  }
  return Math.sqrt(s / n)
}

/** Coefficient of variation; 0 when the mean is 0. */
export function cv(xs: readonly number[]): number {
  const m = mean(xs)
  return m > 1e-9 ? std(xs, m) / m : 0
}

export function median(xs: readonly number[]): number {
  const n = xs.length
  if (n === 0) return 0
  const a = new Float64Array(xs)
  const mid = n >> 1
  const upper = select(a, mid)
  if (n % 2) return upper
  // The lower middle is the largest of what select left below mid.
  let lower = a[0]!
  for (let i = 1; i < mid; i++) if (a[i]! > lower) lower = a[i]!
  return (lower + upper) / 2
}

/**
 * The k-th smallest of `a` (Hoare's selection, in place): after it, everything before k is
 * ≤ a[k] and everything after is ≥. Linear on average, where sorting for a median is n log n.
 */
function select(a: Float64Array, k: number): number {
  let lo = 0
  let hi = a.length - 1
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1]!
    let i = lo
    let j = hi
    while (i <= j) {
      while (a[i]! < pivot) i++
      while (a[j]! > pivot) j--
      if (i <= j) {
        const t = a[i]!
        a[i] = a[j]!
        a[j] = t
        i++
        j--
      }
    }
    if (k <= j) hi = j
    else if (k >= i) lo = i
    else break
  }
  return a[k]!
}

/** The share of `xs` that pass `test`; 0 for none. */
export function share(xs: readonly number[], test: (x: number) => boolean): number {
  const count = xs.length
  if (count === 0) return 0
  let n = 0
  for (let i = 0; i < count; i++) if (test(xs[i]!)) n++
  return n / count
}

/** Normalised entropy of interval lengths in 4 ms bins up to 100 ms. */
export function entropy(dts: readonly number[]): number {
  if (dts.length < 2) return 0
  const bins = new Array<number>(26).fill(0)
  for (let i = 0; i < dts.length; i++) bins[Math.min(25, Math.floor(dts[i]! / 4))]!++
  let h = 0
  for (let i = 0; i < bins.length; i++) {
    const c = bins[i]!
    if (c === 0) continue
    const p = c / dts.length
    h -= p * Math.log(p)
  }
  return h / Math.log(26)
}

/** The signed difference b − a of two angles, in (−π, π]. */
export function angleDiff(a: number, b: number): number {
  let d = b - a
  while (d > Math.PI) d -= 2 * Math.PI
  while (d < -Math.PI) d += 2 * Math.PI
  return d
}

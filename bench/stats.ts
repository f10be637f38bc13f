/** Order statistics for benchmark samples: one definition for every suite. */

/** The nearest-rank quantile (q in [0, 1]) of samples in any order; NaN when there are none. */
export function quantile(samples: ArrayLike<number>, q: number): number {
  const sorted = Float64Array.from(samples).sort()
  return quantileOfSorted(sorted, q)
}

/** The same, for samples already sorted ascending (large arrays: no copy). */
export function quantileOfSorted(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!
}

/** The median: the mean of the two middle samples when their number is even. */
export function median(samples: ArrayLike<number>): number {
  const s = Float64Array.from(samples).sort()
  if (s.length === 0) return NaN
  const mid = s.length >> 1
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

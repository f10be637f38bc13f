/** ROC-AUC and detection at a fixed false-positive rate. */

/** Probability that a random bot scores above a random human (ties count half). */
export function rocAuc(humans: readonly number[], bots: readonly number[]): number {
  if (humans.length === 0 || bots.length === 0) return NaN
  const all = [...humans.map((s) => [s, 0] as const), ...bots.map((s) => [s, 1] as const)].sort((a, b) => a[0] - b[0])
  let rankSum = 0
  for (let i = 0; i < all.length; ) {
    let j = i
    while (j + 1 < all.length && all[j + 1]![0] === all[i]![0]) j++
    const rank = (i + j) / 2 + 1
    for (let k = i; k <= j; k++) if (all[k]![1] === 1) rankSum += rank
    i = j + 1
  }
  return (rankSum - (bots.length * (bots.length + 1)) / 2) / (bots.length * humans.length)
}

/** The score above which at most `fpr` of humans fall (the (1 - fpr) quantile, interpolated). */
export function thresholdAtFpr(humans: readonly number[], fpr: number): number {
  if (humans.length === 0) return 0.5
  const s = [...humans].sort((a, b) => a - b)
  const pos = (1 - fpr) * (s.length - 1)
  const lo = Math.floor(pos)
  const hi = Math.min(s.length - 1, lo + 1)
  return Math.min(1, s[lo]! + (s[hi]! - s[lo]!) * (pos - lo) + 1e-9)
}

export const rate = (scores: readonly number[], threshold: number): number =>
  scores.length === 0 ? NaN : scores.filter((s) => s >= threshold).length / scores.length

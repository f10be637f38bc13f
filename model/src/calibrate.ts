/**
 * Calibration: Platt scaling of the network's logit on validation windows, so that a
 * score reads as a probability (with people and bots weighted equally) instead of piling
 * up at 0 and 1. The scaling is folded into the output layer (w' = a·w, b' = a·b + c),
 * so the shipped forward pass, the browser chunk and the artifact format are unchanged.
 */
import type { Network } from './fit'

export interface Calibration {
  a: number
  c: number
}

/** Weighted logistic regression of the labels on the logits (Newton's method, two parameters). */
export function fitPlatt(logits: readonly number[], bots: readonly boolean[], weights: readonly number[]): Calibration {
  let a = 1
  let c = 0
  for (let iter = 0; iter < 100; iter++) {
    let ga = 0
    let gc = 0
    let haa = 1e-9
    let hac = 0
    let hcc = 1e-9
    for (let i = 0; i < logits.length; i++) {
      const z = logits[i]!
      const p = 1 / (1 + Math.exp(-(a * z + c)))
      const w = weights[i]!
      const r = (p - (bots[i] ? 1 : 0)) * w
      ga += r * z
      gc += r
      const s = p * (1 - p) * w
      haa += s * z * z
      hac += s * z
      hcc += s
    }
    const det = haa * hcc - hac * hac
    if (!(Math.abs(det) > 1e-18)) break
    const da = (hcc * ga - hac * gc) / det
    const dc = (haa * gc - hac * ga) / det
    a -= da
    c -= dc
    if (Math.abs(da) < 1e-10 && Math.abs(dc) < 1e-10) break
  }
  return { a, c }
}

/** The network with its calibration folded into the output layer. */
export function calibrated(net: Network, { a, c }: Calibration): Network {
  const last = net.w.length - 1
  return {
    sizes: net.sizes,
    w: net.w.map((w, l) => (l === last ? w.map((v) => v * a) : w)),
    b: net.b.map((b, l) => (l === last ? b.map((v) => v * a + c) : b)),
  }
}

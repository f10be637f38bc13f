/**
 * Fitting: standardisation from the training windows, then a small dense network
 * (inputs → 32 relu → 16 relu → 1 sigmoid) trained with mini-batch Adam on weighted
 * binary cross-entropy, then calibrated on validation windows (calibrate.ts). Plain typed
 * arrays, one thread, seeded: the same samples and seed give the same bytes, and a fold of
 * the cross-validation trains in seconds rather than minutes. Returns the model in the
 * artifact's encoding (float32 tensors, as the browser chunk and the collector read them).
 */
import { FEATURE_NAMES, MODEL_FEATURES } from '@vigil-risk/core/features'
import type { LayerArtifact } from '@vigil-risk/core/classifier/model'
import { toBase64url } from '@vigil-risk/core/protocol/base64url'
import type { Rng } from './rng'

/**
 * Standardised inputs are clipped to ±CLIP. Tight on purpose: a person from a set-up the
 * model never saw can be far out on some feature (remote desktops on pauses, circle drawing
 * on sub-movements), and a ReLU network extrapolates linearly, so an unclipped outlier
 * drives the score to 1 however human the rest of the window is.
 */
export const CLIP = 3

export interface Standardisation {
  index: number[]
  mean: number[]
  std: number[]
}

/** What the network learns from: a feature vector, its label and its weight in the loss. */
export interface TrainingRow {
  vector: Float64Array
  bot: boolean
  weight: number
}

/** Mean and standard deviation of each model feature over the training windows. */
export function standardisation(rows: readonly { vector: Float64Array }[]): Standardisation {
  const index = MODEL_FEATURES.map((name) => FEATURE_NAMES.indexOf(name))
  const mean = index.map((i) => rows.reduce((a, s) => a + s.vector[i]!, 0) / rows.length)
  const std = index.map((i, k) => Math.sqrt(rows.reduce((a, s) => a + (s.vector[i]! - mean[k]!) ** 2, 0) / rows.length) || 1)
  return { index, mean, std }
}

/** The standardised, clipped input, in float32 as the shipped forward pass computes it. */
export function inputOf({ index, mean, std }: Standardisation, v: Float64Array, out: Float32Array, at = 0): void {
  for (let k = 0; k < index.length; k++) out[at + k] = Math.max(-CLIP, Math.min(CLIP, (v[index[k]!]! - mean[k]!) / std[k]!))
}

export interface FitOptions {
  epochs: number
  rng: Rng
  /** Hidden layer widths. */
  hidden?: readonly [number, number]
  /** L2 penalty on the weights. */
  l2?: number
  /** Targets 0 and 1 become ε and 1 − ε: keeps logits finite, so scores do not pile up at 0 or 1. */
  smoothing?: number
  /** Gaussian noise added to each standardised input while training: a smoother boundary. */
  noise?: number
  log?: (message: string) => void
}

/** A dense network in float64 while training; `layers` exports it. */
export interface Network {
  sizes: number[]
  w: Float64Array[]
  b: Float64Array[]
}

/** The logit (pre-sigmoid output) of a standardised input. */
export function logit(net: Network, x: Float32Array | Float64Array, at = 0): number {
  let h: ArrayLike<number> = x.subarray(at, at + net.sizes[0]!)
  for (let l = 0; l < net.w.length; l++) {
    const n = net.sizes[l]!
    const m = net.sizes[l + 1]!
    const out = new Float64Array(m)
    const w = net.w[l]!
    for (let j = 0; j < m; j++) {
      let s = net.b[l]![j]!
      for (let i = 0; i < n; i++) s += h[i]! * w[i * m + j]!
      out[j] = l < net.w.length - 1 ? Math.max(0, s) : s
    }
    h = out
  }
  return h[0]!
}

export function fitNetwork(rows: readonly TrainingRow[], norm: Standardisation, options: FitOptions): Network {
  const { epochs, rng, log } = options
  const [h1, h2] = options.hidden ?? [32, 16]
  const l2 = options.l2 ?? 1e-3
  const eps = options.smoothing ?? 0.05
  const noise = options.noise ?? 0.3
  const d = norm.index.length
  const sizes = [d, h1, h2, 1]
  const net: Network = {
    sizes,
    w: sizes.slice(1).map((m, l) => {
      const n = sizes[l]!
      const limit = Math.sqrt(6 / (n + m))
      return Float64Array.from({ length: n * m }, () => rng.uniform(-limit, limit))
    }),
    b: sizes.slice(1).map((m) => new Float64Array(m)),
  }
  const X = new Float32Array(rows.length * d)
  rows.forEach((r, i) => inputOf(norm, r.vector, X, i * d))
  const Y = Float64Array.from(rows, (r) => (r.bot ? 1 - eps : eps))
  const W = Float64Array.from(rows, (r) => r.weight)
  const meanW = W.reduce((a, b) => a + b, 0) / Math.max(1, W.length)

  // Adam state.
  const params = [...net.w, ...net.b]
  const m1 = params.map((p) => new Float64Array(p.length))
  const m2 = params.map((p) => new Float64Array(p.length))
  const grads = params.map((p) => new Float64Array(p.length))
  const lr = 2e-3
  const beta1 = 0.9
  const beta2 = 0.999
  let step = 0

  const xin = new Float64Array(d)
  const gauss = (): number => rng.normal()
  const a1 = new Float64Array(h1)
  const a2 = new Float64Array(h2)
  const d1 = new Float64Array(h1)
  const d2 = new Float64Array(h2)
  const batch = 128
  const order = [...Array(rows.length).keys()]
  for (let epoch = 0; epoch < epochs; epoch++) {
    rng.shuffle(order)
    let loss = 0
    for (let start = 0; start < order.length; start += batch) {
      for (const g of grads) g.fill(0)
      const end = Math.min(order.length, start + batch)
      let batchW = 0
      for (let k = start; k < end; k++) batchW += W[order[k]!]!
      for (let k = start; k < end; k++) {
        const r = order[k]!
        const x = r * d
        if (noise > 0) for (let i = 0; i < d; i++) xin[i] = X[x + i]! + noise * gauss()
        else for (let i = 0; i < d; i++) xin[i] = X[x + i]!
        const [w1, w2, w3] = net.w as [Float64Array, Float64Array, Float64Array]
        const [b1, b2, b3] = net.b as [Float64Array, Float64Array, Float64Array]
        for (let j = 0; j < h1; j++) {
          let s = b1[j]!
          for (let i = 0; i < d; i++) s += xin[i]! * w1[i * h1 + j]!
          a1[j] = s > 0 ? s : 0
        }
        for (let j = 0; j < h2; j++) {
          let s = b2[j]!
          for (let i = 0; i < h1; i++) s += a1[i]! * w2[i * h2 + j]!
          a2[j] = s > 0 ? s : 0
        }
        let z = b3[0]!
        for (let i = 0; i < h2; i++) z += a2[i]! * w3[i]!
        const p = 1 / (1 + Math.exp(-z))
        const y = Y[r]!
        const wr = W[r]! / batchW
        loss += W[r]! * -(y * Math.log(Math.max(1e-12, p)) + (1 - y) * Math.log(Math.max(1e-12, 1 - p)))
        const dz = (p - y) * wr
        const [g1, g2, g3, gb1, gb2, gb3] = grads as [Float64Array, Float64Array, Float64Array, Float64Array, Float64Array, Float64Array]
        gb3[0]! += dz
        for (let i = 0; i < h2; i++) {
          g3[i]! += a2[i]! * dz
          d2[i] = a2[i]! > 0 ? w3[i]! * dz : 0
        }
        for (let j = 0; j < h2; j++) gb2[j]! += d2[j]!
        for (let i = 0; i < h1; i++) {
          let s = 0
          for (let j = 0; j < h2; j++) {
            g2[i * h2 + j]! += a1[i]! * d2[j]!
            s += w2[i * h2 + j]! * d2[j]!
          }
          d1[i] = a1[i]! > 0 ? s : 0
        }
        for (let j = 0; j < h1; j++) gb1[j]! += d1[j]!
        for (let i = 0; i < d; i++) {
          const xi = xin[i]!
          if (xi === 0) continue
          for (let j = 0; j < h1; j++) g1[i * h1 + j]! += xi * d1[j]!
        }
      }
      step++
      const c1 = 1 - beta1 ** step
      const c2 = 1 - beta2 ** step
      params.forEach((p, pi) => {
        const g = grads[pi]!
        const mm = m1[pi]!
        const vv = m2[pi]!
        const decay = pi < net.w.length ? l2 : 0
        for (let i = 0; i < p.length; i++) {
          const gi = g[i]! + decay * p[i]!
          mm[i] = beta1 * mm[i]! + (1 - beta1) * gi
          vv[i] = beta2 * vv[i]! + (1 - beta2) * gi * gi
          p[i]! -= (lr * (mm[i]! / c1)) / (Math.sqrt(vv[i]! / c2) + 1e-8)
        }
      })
    }
    if (log && (epoch % 10 === 9 || epoch === epochs - 1)) log(`epoch ${epoch + 1}/${epochs}: loss ${(loss / (meanW * rows.length)).toFixed(4)}`)
  }
  return net
}

/** The network in the artifact's encoding: float32 tensors, row-major [inputs][units]. */
export function layersOf(net: Network): LayerArtifact[] {
  const f32 = (data: Float64Array): string => toBase64url(new Uint8Array(Float32Array.from(data).buffer))
  return net.w.map((w, l) => ({
    weights: f32(w),
    bias: f32(net.b[l]!),
    inputs: net.sizes[l]!,
    units: net.sizes[l + 1]!,
    activation: l === net.w.length - 1 ? ('sigmoid' as const) : ('relu' as const),
  }))
}

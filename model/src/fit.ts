/**
 * Fitting: standardisation from the training windows, then a small dense network
 * (32 → 16 → 1) trained with @tensorflow/tfjs on the cpu backend, seeded and
 * reproducible. Returns the model in the artifact's encoding.
 */
import * as tf from '@tensorflow/tfjs'
import { FEATURE_NAMES, MODEL_FEATURES } from '@vigil-risk/core/features'
import type { LayerArtifact } from '@vigil-risk/core/classifier/model'
import { toBase64url } from '@vigil-risk/core/protocol/base64url'
import type { Sample } from './dataset'
import type { Rng } from './rng'

/** Standardised inputs are clipped to ±CLIP. */
export const CLIP = 8

export interface Standardisation {
  index: number[]
  mean: number[]
  std: number[]
}

/** Mean and standard deviation of each model feature over the training windows. */
export function standardisation(train: readonly Sample[]): Standardisation {
  const index = MODEL_FEATURES.map((name) => FEATURE_NAMES.indexOf(name))
  const mean = index.map((i) => train.reduce((a, s) => a + s.vector[i]!, 0) / train.length)
  const std = index.map((i, k) => Math.sqrt(train.reduce((a, s) => a + (s.vector[i]! - mean[k]!) ** 2, 0) / train.length) || 1)
  return { index, mean, std }
}

const inputOf = ({ index, mean, std }: Standardisation) => (v: Float64Array): number[] =>
  index.map((i, k) => Math.max(-CLIP, Math.min(CLIP, (v[i]! - mean[k]!) / std[k]!)))

export interface FitOptions {
  seed: number
  epochs: number
  rng: Rng
  log: (message: string) => void
}

export async function fitNetwork(trainSet: readonly Sample[], norm: Standardisation, options: FitOptions): Promise<LayerArtifact[]> {
  const { seed, epochs, rng, log } = options
  await tf.setBackend('cpu')
  tf.util.shuffle = () => undefined // our own seeded shuffling; tfjs' uses Math.random
  const init = (s: number) => tf.initializers.glorotUniform({ seed: seed + s })
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [norm.index.length], units: 32, activation: 'relu', kernelInitializer: init(1), kernelRegularizer: tf.regularizers.l2({ l2: 1e-4 }) }),
      tf.layers.dense({ units: 16, activation: 'relu', kernelInitializer: init(2), kernelRegularizer: tf.regularizers.l2({ l2: 1e-4 }) }),
      tf.layers.dense({ units: 1, activation: 'sigmoid', kernelInitializer: init(3) }),
    ],
  })
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'binaryCrossentropy' })
  const input = inputOf(norm)
  const xs = tf.tensor2d(trainSet.map((s) => input(s.vector)))
  const ys = tf.tensor2d(trainSet.map((s) => [s.kind === 'bot' ? 1 : 0]))
  for (let e = 0; e < epochs; e++) {
    const order = rng.fork(100 + e).shuffle([...Array(trainSet.length).keys()])
    const idx = tf.tensor1d(order, 'int32')
    const h = await model.fit(tf.gather(xs, idx), tf.gather(ys, idx), { batchSize: 128, epochs: 1, shuffle: false, verbose: 0 })
    idx.dispose()
    if (e % 10 === 9 || e === epochs - 1) log(`epoch ${e + 1}/${epochs}: loss ${(h.history['loss']![0] as number).toFixed(4)}`)
  }
  const f32 = (data: Float32Array): string => toBase64url(new Uint8Array(Float32Array.from(data).buffer))
  return model.layers.map((layer, i) => {
    const [kernel, bias] = layer.getWeights()
    return {
      weights: f32(kernel!.dataSync() as Float32Array),
      bias: f32(bias!.dataSync() as Float32Array),
      inputs: kernel!.shape[0],
      units: kernel!.shape[1]!,
      activation: i === model.layers.length - 1 ? ('sigmoid' as const) : ('relu' as const),
    }
  })
}

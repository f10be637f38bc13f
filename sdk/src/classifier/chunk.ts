/**
 * The classifier chunk, loaded lazily after the page is idle: feature extraction, the
 * shipped weights, and a tfjs-core CPU backend with only the four kernels the network
 * uses registered (matMul, add, relu, sigmoid). The score is a hint: the collector
 * re-scores the same trace with the same weights and that score counts.
 */
import { registerKernel, setBackend, tensor2d, matMul, add, relu, sigmoid, tidy, type Tensor2D } from '@tensorflow/tfjs-core/dist/base'
import '@tensorflow/tfjs-core/dist/base_side_effects'
import '@tensorflow/tfjs-backend-cpu/dist/base'
import { batchMatMulConfig } from '@tensorflow/tfjs-backend-cpu/dist/kernels/BatchMatMul'
import { addConfig } from '@tensorflow/tfjs-backend-cpu/dist/kernels/Add'
import { reluConfig } from '@tensorflow/tfjs-backend-cpu/dist/kernels/Relu'
import { sigmoidConfig } from '@tensorflow/tfjs-backend-cpu/dist/kernels/Sigmoid'
import artifact from '../../../model/artifacts/classifier.json'
import { decodeModel, modelInput, type ModelArtifact } from '@vigil-risk/core/classifier/model'
import { extractFeatures } from '@vigil-risk/core/features'
import { expandTrace } from '@vigil-risk/core/protocol/trace'
import type { CompactTrace } from '@vigil-risk/core/protocol/schema'

export interface ClientScore {
  /** P(bot), or null when the trace holds too little mouse behaviour to judge. */
  score: number | null
  model: string
  /** Features plus inference, ms. */
  ms: number
}

export interface Scorer {
  (trace: CompactTrace): ClientScore
  /** P(bot) for a feature vector (the network alone; used by benchmarks and tests). */
  infer(features: ArrayLike<number>): number
}

export async function createScorer(): Promise<Scorer> {
  for (const kernel of [batchMatMulConfig, addConfig, reluConfig, sigmoidConfig]) registerKernel(kernel)
  await setBackend('cpu')
  const model = decodeModel(artifact as ModelArtifact)
  const layers = model.layers.map((l) => ({
    w: tensor2d(l.w, [l.inputs, l.units]),
    b: tensor2d(l.b, [1, l.units]),
    activation: l.activation,
  }))
  const infer = (features: ArrayLike<number>): number => {
    const x = modelInput(model, features)
    return tidy(() => {
      let h: Tensor2D = tensor2d(x, [1, x.length])
      for (const layer of layers) {
        const z = add(matMul(h, layer.w), layer.b)
        h = (layer.activation === 'relu' ? relu(z) : sigmoid(z)) as Tensor2D
      }
      return h.dataSync()[0]!
    })
  }
  const scorer = (trace: CompactTrace): ClientScore => {
    const started = performance.now()
    const features = extractFeatures(expandTrace(trace))
    const score = features.sufficient ? infer(features.vector) : null
    return { score, model: model.version, ms: performance.now() - started }
  }
  return Object.assign(scorer, { infer })
}

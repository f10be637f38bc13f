/**
 * The classifier artifact and a plain forward pass over it. DOM-free and Node-free:
 * the collector re-scores with this (a typed-array forward pass is ~15× cheaper than a
 * tfjs predict call), tests and the model:score CLI use it, and the browser chunk runs
 * the same weights through tfjs-core. Both read model/artifacts/classifier.json.
 */
import { fromBase64url } from '../protocol/base64url'
import { FEATURE_NAMES, featureSchema, type FeatureName } from '../features/index'

export interface LayerArtifact {
  /** Row-major [inputs][units] float32, base64url. */
  weights: string
  /** [units] float32, base64url. */
  bias: string
  inputs: number
  units: number
  activation: 'relu' | 'sigmoid'
}

export interface ModelArtifact {
  version: string
  /** The feature code it was trained on (featureSchema()): a model never scores vectors it was not trained on. */
  featureSchema: string
  features: FeatureName[]
  /** Standardisation of the model's inputs: (x - mean) / std, clipped to ±clip. */
  mean: number[]
  std: number[]
  clip: number
  layers: LayerArtifact[]
  /** Scores at or above this are bots (docs/model-card.md says how it was chosen). */
  threshold: number
}

export interface Layer {
  w: Float32Array
  b: Float32Array
  inputs: number
  units: number
  activation: 'relu' | 'sigmoid'
}

export interface Model {
  version: string
  /** Positions of the model's inputs in the full feature vector. */
  index: Int32Array
  mean: Float64Array
  std: Float64Array
  clip: number
  layers: Layer[]
  threshold: number
}

function floats(b64: string, length: number): Float32Array {
  const bytes = fromBase64url(b64)
  if (!bytes || bytes.length !== length * 4) throw new Error('model artifact: bad tensor encoding')
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length))
}

export class ModelSchemaError extends Error {
  override readonly name = 'ModelSchemaError'
}

export function decodeModel(artifact: ModelArtifact): Model {
  if (artifact.featureSchema !== featureSchema()) {
    throw new ModelSchemaError(`model ${artifact.version} was trained on features ${artifact.featureSchema}; this code computes ${featureSchema()}: retrain (npm run model:train)`)
  }
  const index = new Int32Array(artifact.features.map((name) => {
    const i = FEATURE_NAMES.indexOf(name)
    if (i < 0) throw new Error(`model artifact: unknown feature ${name}`)
    return i
  }))
  return {
    version: artifact.version,
    index,
    mean: Float64Array.from(artifact.mean),
    std: Float64Array.from(artifact.std),
    clip: artifact.clip,
    layers: artifact.layers.map((l) => ({
      w: floats(l.weights, l.inputs * l.units),
      b: floats(l.bias, l.units),
      inputs: l.inputs,
      units: l.units,
      activation: l.activation,
    })),
    threshold: artifact.threshold,
  }
}

/** The model's standardised input for a full feature vector (float32, as tfjs sees it). */
export function modelInput(model: Model, features: ArrayLike<number>): Float32Array {
  const x = new Float32Array(model.index.length)
  for (let i = 0; i < model.index.length; i++) {
    const z = (features[model.index[i]!]! - model.mean[i]!) / model.std[i]!
    x[i] = Math.max(-model.clip, Math.min(model.clip, z))
  }
  return x
}

/**
 * P(bot) for a full feature vector. Hidden layers in float32, as tfjs computes them; the
 * output in float64, so that scores near 0 or 1 keep their order instead of rounding to
 * the same float32.
 */
export function forward(model: Model, features: ArrayLike<number>): number {
  let h: Float32Array = modelInput(model, features)
  let score = 0
  model.layers.forEach((layer, l) => {
    const last = l === model.layers.length - 1
    const out = new Float32Array(layer.units)
    for (let j = 0; j < layer.units; j++) {
      let s = layer.b[j]!
      for (let i = 0; i < layer.inputs; i++) s += h[i]! * layer.w[i * layer.units + j]!
      const v = layer.activation === 'relu' ? Math.max(0, s) : 1 / (1 + Math.exp(-s))
      if (last && j === 0) score = v
      out[j] = v
    }
    h = out
  })
  return score
}

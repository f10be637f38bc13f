/**
 * One model from samples: weights that balance every human set-up against every bot
 * family, standardisation, the network (fit.ts), calibration on validation windows
 * (calibrate.ts), and a scorer that runs the shipped forward pass over the result. The
 * main run and every fold of the cross-validation (cv.ts) go through here.
 */
import { featureSchema, MODEL_FEATURES } from '@vigil-risk/core/features'
import { decodeModel, forward, type ModelArtifact } from '@vigil-risk/core/classifier/model'
import { balanceKey, type Sample } from './dataset'
import { CLIP, fitNetwork, inputOf, layersOf, logit, standardisation, type TrainingRow } from './fit'
import { calibrated, fitPlatt, type Calibration } from './calibrate'
import type { Rng } from './rng'

const HUMAN_WEIGHT = 2

export interface TrainOptions {
  seed: number
  epochs: number
  rng: Rng
  log?: (message: string) => void
}

export interface Trained {
  /** The artifact, its threshold still to be chosen. */
  artifact: ModelArtifact
  calibration: Calibration
  /** P(bot) of a window's clean vector through the shipped forward pass. */
  score: (s: Sample) => number
}

/** Per-sample weights: each key (set-up or family) weighs the same within its class, and the classes weigh the same. */
function balanceWeights(samples: readonly Sample[]): number[] {
  const perKey = new Map<string, number>()
  for (const s of samples) perKey.set(balanceKey(s), (perKey.get(balanceKey(s)) ?? 0) + 1)
  const keysOf = (kind: string): number => [...perKey.keys()].filter((k) => k.startsWith(`${kind}:`)).length
  const humanKeys = keysOf('human')
  const botKeys = keysOf('bot')
  return samples.map((s) => 1 / perKey.get(balanceKey(s))! / (s.kind === 'human' ? humanKeys : botKeys))
}

export function trainModel(train: readonly Sample[], val: readonly Sample[], options: TrainOptions): Trained {
  const weights = balanceWeights(train)
  const rows: TrainingRow[] = []
  train.forEach((s, i) => {
    const views = [s.vector, ...s.augmented]
    for (const v of views) rows.push({ vector: v, bot: s.kind === 'bot', weight: (weights[i]! * train.length) / views.length })
  })
  const norm = standardisation(rows)
  // A false positive costs more than a miss: people weigh twice what bots do in the loss
  // (calibration on balanced validation windows then re-centres the scores).
  for (const r of rows) if (!r.bot) r.weight *= HUMAN_WEIGHT
  const net = fitNetwork(rows, norm, { epochs: options.epochs, rng: options.rng.fork(77), ...(options.log ? { log: options.log } : {}) })
  const x = new Float32Array(norm.index.length)
  const logits = val.map((s) => {
    inputOf(norm, s.vector, x)
    return logit(net, x)
  })
  const calibration = fitPlatt(logits, val.map((s) => s.kind === 'bot'), balanceWeights(val))
  const artifact: ModelArtifact = {
    version: `behavior-${options.seed}-${norm.index.length}f`,
    featureSchema: featureSchema(),
    features: [...MODEL_FEATURES],
    mean: norm.mean,
    std: norm.std,
    clip: CLIP,
    layers: layersOf(calibrated(net, calibration)),
    threshold: 0.5,
  }
  const model = decodeModel(artifact)
  return { artifact, calibration, score: (s) => forward(model, s.vector) }
}

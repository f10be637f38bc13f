/**
 * Validation that predicts new people and new tools: leave one human capture set-up out,
 * and leave one bot family out. Each fold trains a model without it (pipeline.ts) and
 * scores every window of what was left out, as captured.
 *
 * The shipped threshold comes from the human folds: the highest 99th percentile of a
 * held-out set-up's scores, so that the worst set-up the model had never seen stays at or
 * below 1% false positives (scores are calibrated, so thresholds carry across models).
 */
import type { Sample } from './dataset'
import { HELD_OUT_FAMILIES } from './dataset'
import { rate, thresholdAtFpr } from './metrics'
import { trainModel, type TrainOptions } from './pipeline'

export interface HumanFold {
  setup: string
  n: number
  /** The held-out set-up's 99th percentile score: its threshold for 1% false positives. */
  q99: number
  scores: number[]
  /** Detection, per bot family, of the fold model's test-split bots at this set-up's 99th percentile. */
  detectAtQ99: Array<{ family: string; rate: number }>
}

interface FamilyFold {
  family: string
  n: number
  scores: number[]
  /** The fold model's in-distribution test humans, for detection at 1% of them. */
  humanScores: number[]
}

export interface CrossValidation {
  humans: HumanFold[]
  families: FamilyFold[]
  seconds: number
}

const inSplit = (split: string) => (s: Sample): boolean => s.split === split

export function crossValidate(samples: readonly Sample[], options: TrainOptions): CrossValidation {
  const started = Date.now()
  const log = options.log ?? ((): void => undefined)
  const eligible = samples.filter((s) => !HELD_OUT_FAMILIES.includes(s.family))
  const setups = [...new Set(samples.filter((s) => s.kind === 'human').map((s) => s.source))].sort()
  const humans: HumanFold[] = setups.map((setup, k) => {
    const keep = (s: Sample): boolean => s.kind === 'bot' || s.source !== setup
    const model = trainModel(eligible.filter((s) => keep(s) && inSplit('train')(s)), eligible.filter((s) => keep(s) && inSplit('val')(s)), { ...options, rng: options.rng.fork(1000 + k), log: () => undefined })
    const scores = samples.filter((s) => s.kind === 'human' && s.source === setup).map(model.score)
    const q99 = thresholdAtFpr(scores, 0.01)
    const families = [...new Set(eligible.filter((s) => s.kind === 'bot').map((s) => s.family))].sort()
    const detectAtQ99 = families.map((family) => ({ family, rate: rate(eligible.filter((s) => s.family === family && s.split === 'test').map(model.score), q99) }))
    const fold = { setup, n: scores.length, q99, scores, detectAtQ99 }
    log(`cv: without human set-up ${setup}: n=${fold.n} q99=${fold.q99.toFixed(6)}; test bots above it: ${detectAtQ99.map((d) => `${d.family} ${d.rate.toFixed(2)}`).join(', ')}`)
    return fold
  })
  const familyNames = [...new Set(eligible.filter((s) => s.kind === 'bot').map((s) => s.family))].sort()
  const families: FamilyFold[] = familyNames.map((family, k) => {
    const keep = (s: Sample): boolean => s.family !== family
    const model = trainModel(eligible.filter((s) => keep(s) && inSplit('train')(s)), eligible.filter((s) => keep(s) && inSplit('val')(s)), { ...options, rng: options.rng.fork(2000 + k), log: () => undefined })
    const scores = samples.filter((s) => s.family === family).map(model.score)
    const humanScores = samples.filter((s) => s.kind === 'human' && s.split === 'test').map(model.score)
    const fold = { family, n: scores.length, scores, humanScores }
    log(`cv: without bot family ${family}: n=${fold.n} detected at 1% FPR ${rate(scores, thresholdAtFpr(humanScores, 0.01)).toFixed(3)}`)
    return fold
  })
  return { humans, families, seconds: Math.round((Date.now() - started) / 1000) }
}

/** The shipped threshold: the worst held-out set-up's 99th percentile. */
export function thresholdFromFolds(folds: readonly HumanFold[]): number {
  return Math.max(...folds.map((f) => f.q99))
}

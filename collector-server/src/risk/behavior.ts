/**
 * Server-side re-scoring of the behaviour trace with the shipped classifier: the same
 * feature code and weights as the browser chunk, run as a plain typed-array forward
 * pass. The client's own score is a hint; this one decides.
 */
import artifact from '../../../model/artifacts/classifier.json'
import { decodeModel, forward, type ModelArtifact } from '@vigil-risk/core/classifier/model'
import { extractFeatures } from '@vigil-risk/core/features'
import type { TraceEvent } from '@vigil-risk/core/protocol/trace'
import type { BehaviorClaim } from '@vigil-risk/core/protocol/schema'

export const classifier = decodeModel(artifact as ModelArtifact)

export interface BehaviorScore {
  model: string
  /** P(bot) from the collector's own re-score; null when there was too little behaviour. */
  server: number | null
  /** What the page's classifier chunk reported, if it had loaded. */
  client: number | null
  insufficient: string | null
  bot: boolean
  /**
   * Below the threshold, how far the score is from even odds (0.5) towards it, 0–1: the
   * grade of behavior_suspect. 0 at or below 0.5, and when the score is a bot's.
   */
  suspect: number
  /** The client reported a score for the same model that the trace does not give. */
  mismatch: boolean
}

export function scoreBehavior(events: readonly TraceEvent[], claim: BehaviorClaim['client'] | undefined): BehaviorScore {
  const features = extractFeatures(events)
  const server = features.sufficient ? Math.round(forward(classifier, features.vector) * 1e6) / 1e6 : null
  const client = typeof claim?.score === 'number' ? claim.score : null
  // Same model, same trace, same features: float32 in the browser and float64 here agree
  // within 1e-5 (test/e2e/classifier.test.ts). Anything further apart was edited.
  let mismatch = false
  if (claim && claim.model === classifier.version) {
    mismatch = (server === null) !== (client === null) || (server !== null && client !== null && Math.abs(server - client) > 1e-3)
  }
  return {
    model: classifier.version,
    server,
    client,
    insufficient: features.sufficient ? null : features.reason,
    bot: server !== null && server >= classifier.threshold,
    suspect: suspicion(server, classifier.threshold),
    mismatch,
  }
}

/** Scores are calibrated probabilities (docs/model-card.md): from even odds up to the threshold, the grade rises linearly. */
function suspicion(score: number | null, threshold: number): number {
  if (score === null || score >= threshold || score <= SUSPECT_FROM) return 0
  return Math.round(((score - SUSPECT_FROM) / (threshold - SUSPECT_FROM)) * 1000) / 1000
}

const SUSPECT_FROM = 0.5

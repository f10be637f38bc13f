/**
 * Everything the collector concludes from one payload and the request that carried it:
 * the detectors' findings over the signals, what the HTTP request says (http.ts), whether
 * the signals an SDK always sends are there, the challenge-bound proof (proof of work and
 * probes: proof.ts), interaction from the behaviour trace and whether it fits the
 * challenge, and what the platform evidence (checked by evidence/check.ts) adds: a failure
 * or a missing requirement is a reason, verified evidence is trust. The engine (engine.ts)
 * turns both into a score and verdict.
 */
import type { Detection, Environment } from '@vigil-risk/core/detectors'
import { CHALLENGE_TTL_MS } from '@vigil-risk/core/protocol/payload'
import type { CollectPayload } from '@vigil-risk/core/protocol/schema'
import type { ReasonCode } from '@vigil-risk/core/protocol/reasons'
import { isEvidenceKind, type EvidenceKind } from '@vigil-risk/core/protocol/evidence'
import type { AttestationStatus, Evidence } from '../evidence/check'
import type { EvidenceOutcome } from '../evidence/outcome'
import type { Challenge } from '../verify/challenge'
import type { ActionPolicy } from './policy'
import type { BehaviorScore } from './behavior'
import type { ProofCheck } from './proof'
import { httpDetections, type RequestView } from './http'
import type { InteractionSummary } from './trace-analysis'
import { jumping } from './turning'
import type { PayloadAnalysis } from './payload-analysis'

export interface Evaluation {
  reasons: ReasonCode[]
  /** Graded reasons: the share of their weight that counts (engine.ts). */
  grades: Partial<Record<ReasonCode, number>>
  behavior: BehaviorScore
  environment: Environment
  detections: Detection[]
  /** The native app's attestation: absent, unverified, verified, failed or nonce_mismatch. */
  attestation: AttestationStatus
  /** Every piece of platform evidence the payload carried, with its outcome and reason. */
  evidence: EvidenceOutcome[]
  /** The kinds of evidence that verified: they lower the score. */
  trusted: EvidenceKind[]
  interaction: InteractionSummary
  /** The challenge-bound proof: the work and the probe answers (proof.ts). */
  proof: Omit<ProofCheck, 'detections'>
  /** The trace's replay sketch keys (replay.ts). */
  sketch: string[]
}

export interface EvaluationContext {
  challenge: Challenge
  request: RequestView
  action: ActionPolicy
  /** This collect is the device's first sighting. */
  firstSighting: boolean
  /** Epoch ms. */
  now: number
  /**
   * Platform evidence as checked (evidence/check.ts), and the kinds the action needs
   * (policy.ts requiredEvidence): when none of them verified and nothing failed outright,
   * the reason is attestation_missing.
   */
  platform: { found: Evidence; required: readonly EvidenceKind[] }
}

/** Slack between the SDK's clock and ours when fitting a trace to its challenge, ms. */
const CLOCK_SLACK_MS = 2000

/**
 * The trace must fit its challenge: when the page says the challenge arrived during the
 * trace, the interaction after it cannot outlast the challenge's age. A trace recorded for
 * another challenge rarely fits a fresh one.
 */
function traceFitsChallenge(payload: CollectPayload, lastT: number | null, ctx: EvaluationContext): Detection | null {
  const at = payload.behavior?.challengeAt
  if (typeof at !== 'number' || lastT === null) return null
  const age = ctx.now - (ctx.challenge.expiresAt - CHALLENGE_TTL_MS)
  if (at > lastT + 1 || lastT - at > age + CLOCK_SLACK_MS) {
    return { code: 'replayed_behavior', detector: 'trace', detail: `${Math.round(lastT - at)} ms of trace after the challenge arrived, but it is ${age} ms old` }
  }
  return null
}

/**
 * `analysis` is what the payload says alone (payload-analysis.ts), on a scoring thread or
 * the request thread; this adds what the request and the challenge's age say, and the
 * platform evidence as checked.
 */
export function evaluatePayload(payload: CollectPayload, ctx: EvaluationContext, analysis: PayloadAnalysis): Evaluation {
  const { environment, trace } = analysis
  const detections = [...analysis.signals, ...httpDetections(ctx.request, payload.signals, environment)]
  const { detections: proofDetections, ...proof } = analysis.proof
  detections.push(...proofDetections)
  if (trace.malformed !== null) detections.push({ code: 'tampering', detector: 'behavior', detail: `malformed trace: ${trace.malformed}` })
  const fit = traceFitsChallenge(payload, trace.lastT, ctx)
  if (fit) detections.push(fit)
  const { interaction, behavior, interacted } = trace
  if (jumping(trace.turning)) {
    detections.push({ code: 'bot_behavior', detector: 'trace', detail: `the pointer turned ${trace.turning.meanDegrees}° on average over ${trace.turning.turns} moves: set at one point after another, not carried along a path` })
  }
  if (behavior.mismatch) detections.push({ code: 'tampering', detector: 'classifier', detail: `the page reported ${behavior.client} for a trace that scores ${behavior.server}` })
  detections.push(...analysis.input)
  const reasons = new Set<ReasonCode>(detections.map((d) => d.code))
  const grades: Partial<Record<ReasonCode, number>> = {}
  if (behavior.bot) reasons.add('bot_behavior')
  else if (behavior.suspect > 0) {
    // A middling score adds some weight; only a confident one raises bot_behavior.
    reasons.add('behavior_suspect')
    grades.behavior_suspect = behavior.suspect
  }
  if (!interacted) reasons.add('no_interaction')
  // Where it matters, a device nobody has seen must show something: interaction, or work;
  // and every payload a probe answer that checks out. An honest SDK always answers the tz
  // probe and measures text on the page where its worker cannot: with the default probes,
  // only a blocked canvas and no worker zone to check the offsets against leave it with
  // none. A script that answers nothing (`{ e }` for every probe) is otherwise left with
  // nothing to judge.
  const provedNothing = ctx.challenge.probes.length > 0 && !Object.values(proof.probes).includes('verified')
  if (ctx.action.sensitive && ((ctx.firstSighting && !interacted && proof.pow !== 'solved') || provedNothing)) reasons.add('unproven_device')
  const { found, required } = ctx.platform
  const evidence = [found.attestation, found.privateToken].filter((e): e is EvidenceOutcome => e !== undefined)
  if (evidence.some((e) => e.status === 'failed' || e.status === 'nonce_mismatch')) reasons.add('attestation_failed')
  const trusted = evidence.filter((e) => e.status === 'verified' && isEvidenceKind(e.kind)).map((e) => e.kind as EvidenceKind)
  if (required.length > 0 && !reasons.has('attestation_failed') && !trusted.some((k) => required.includes(k))) reasons.add('attestation_missing')
  return { reasons: [...reasons], grades, behavior, environment, detections, attestation: found.attestation?.status ?? 'absent', evidence, trusted, interaction, proof, sketch: trace.sketch }
}

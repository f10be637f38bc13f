/**
 * Everything the collector concludes from one payload: the detectors' findings over
 * the signals, interaction from the behaviour trace, and what the platform evidence
 * (checked by evidence/check.ts) adds: a failure or a missing requirement is a reason,
 * verified evidence is trust. The engine (engine.ts) turns both into a score and verdict.
 */
import { runDetectors, type Detection, type Environment } from '@vigil-risk/core/detectors'
import { expandTrace, TraceFormatError, type TraceEvent } from '@vigil-risk/core/protocol/trace'
import type { CollectPayload } from '@vigil-risk/core/protocol/schema'
import type { ReasonCode } from '@vigil-risk/core/protocol/reasons'
import { isEvidenceKind, type EvidenceKind } from '@vigil-risk/core/protocol/evidence'
import type { AttestationStatus, Evidence } from '../evidence/check'
import type { EvidenceOutcome } from '../evidence/outcome'
import { scoreBehavior, type BehaviorScore } from './behavior'

export interface Evaluation {
  reasons: ReasonCode[]
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
}

interface InteractionSummary {
  events: number
  pointer: number
  keys: number
  touches: number
  scrolls: number
}

const INTERACTIVE = new Set(['mousedown', 'click', 'touchstart', 'keydown', 'wheel'])

function summariseInteraction(events: readonly TraceEvent[]): InteractionSummary {
  const s: InteractionSummary = { events: events.length, pointer: 0, keys: 0, touches: 0, scrolls: 0 }
  for (const e of events) {
    if (e.type.startsWith('mouse') || e.type === 'click') s.pointer++
    else if (e.type.startsWith('key')) s.keys++
    else if (e.type.startsWith('touch')) s.touches++
    else s.scrolls++
  }
  return s
}

/**
 * `required`: the kinds of evidence the action needs (policy.ts requiredEvidence); when
 * none of them verified and nothing failed outright, the reason is attestation_missing.
 */
export function evaluatePayload(payload: CollectPayload, found: Evidence, required: readonly EvidenceKind[]): Evaluation {
  const { environment, detections } = runDetectors(payload.signals)
  let events: TraceEvent[] = []
  if (payload.behavior) {
    try {
      events = expandTrace(payload.behavior.trace)
    } catch (err) {
      if (!(err instanceof TraceFormatError)) throw err
      detections.push({ code: 'tampering', detector: 'behavior', detail: `malformed trace: ${err.message}` })
    }
  }
  const interaction = summariseInteraction(events)
  const behavior = scoreBehavior(events, payload.behavior?.client)
  if (behavior.mismatch) detections.push({ code: 'tampering', detector: 'classifier', detail: `the page reported ${behavior.client} for a trace that scores ${behavior.server}` })
  const reasons = new Set<ReasonCode>(detections.map((d) => d.code))
  if (behavior.bot) reasons.add('bot_behavior')
  // Pointer moves alone (or nothing at all) are not an interaction with the page.
  if (!events.some((e) => INTERACTIVE.has(e.type)) && interaction.pointer < 5) reasons.add('no_interaction')
  const evidence = [found.attestation, found.privateToken].filter((e): e is EvidenceOutcome => e !== undefined)
  if (evidence.some((e) => e.status === 'failed' || e.status === 'nonce_mismatch')) reasons.add('attestation_failed')
  const trusted = evidence.filter((e) => e.status === 'verified' && isEvidenceKind(e.kind)).map((e) => e.kind as EvidenceKind)
  if (required.length > 0 && !reasons.has('attestation_failed') && !trusted.some((k) => required.includes(k))) reasons.add('attestation_missing')
  return { reasons: [...reasons], behavior, environment, detections, attestation: found.attestation?.status ?? 'absent', evidence, trusted, interaction }
}

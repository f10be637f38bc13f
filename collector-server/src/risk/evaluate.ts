/**
 * Everything the collector concludes from one payload: the detectors' findings over
 * the signals, interaction from the behaviour trace, the attestation's status. The
 * engine (engine.ts) turns the reasons into a score and verdict.
 */
import { detectInjectedInput, runDetectors, type Detection, type Environment } from '@vigil-risk/core/detectors'
import { expandTrace, TraceFormatError, type TraceEvent } from '@vigil-risk/core/protocol/trace'
import type { CollectPayload } from '@vigil-risk/core/protocol/schema'
import type { ReasonCode } from '@vigil-risk/core/protocol/reasons'
import { checkAttestation, type AttestationStatus, type AttestationVerifier } from './attestation'
import { scoreBehavior, type BehaviorScore } from './behavior'

export interface Evaluation {
  reasons: ReasonCode[]
  /** Graded reasons: the share of their weight that counts (engine.ts). */
  grades: Partial<Record<ReasonCode, number>>
  behavior: BehaviorScore
  environment: Environment
  detections: Detection[]
  attestation: AttestationStatus
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

export async function evaluatePayload(payload: CollectPayload, verifiers: Readonly<Record<string, AttestationVerifier>>): Promise<Evaluation> {
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
  const userAgent = payload.signals['userAgent'] as { value?: { platform?: unknown } } | undefined
  const platform = typeof userAgent?.value?.platform === 'string' ? userAgent.value.platform : null
  detections.push(...detectInjectedInput(payload.behavior?.input, environment, platform))
  const reasons = new Set<ReasonCode>(detections.map((d) => d.code))
  const grades: Partial<Record<ReasonCode, number>> = {}
  if (behavior.bot) reasons.add('bot_behavior')
  else if (behavior.suspect > 0) {
    // A middling score adds some weight; only a confident one raises bot_behavior.
    reasons.add('behavior_suspect')
    grades.behavior_suspect = behavior.suspect
  }
  // Pointer moves alone (or nothing at all) are not an interaction with the page.
  if (!events.some((e) => INTERACTIVE.has(e.type)) && interaction.pointer < 5) reasons.add('no_interaction')
  const attestation = await checkAttestation(payload, verifiers)
  if (attestation.status === 'failed' || attestation.status === 'nonce_mismatch') reasons.add('attestation_failed')
  return { reasons: [...reasons], grades, behavior, environment, detections, attestation: attestation.status, interaction }
}

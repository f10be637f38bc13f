/**
 * Turns reasons into a score and a verdict. Each reason carries a weight (the
 * probability that it alone means a bot or abuse); weights combine as a noisy-OR.
 * Verified platform evidence (App Attest, Play Integrity, a Private Access Token) is
 * the trust side: each piece keeps only a share of that risk. The site's policy cuts
 * the score into allow / review / deny.
 */
import type { Verdict } from '@vigil-risk/core/protocol/token'
import type { ReasonCode } from '@vigil-risk/core/protocol/reasons'
import type { EvidenceKind } from '@vigil-risk/core/protocol/evidence'

export type { ReasonCode } from '@vigil-risk/core/protocol/reasons'

/**
 * Defaults, overridable per site and action. Alone: automation and key_mismatch deny;
 * tampering, bot_behavior and the abuse patterns ask for review (step-up); emulator,
 * no_interaction and new_device only add up with others.
 */
export const REASON_WEIGHTS: Record<ReasonCode, number> = {
  automation: 0.97,
  key_mismatch: 0.9,
  replayed: 0.95,
  attestation_failed: 0.8,
  /** The action requires platform evidence and none verified: alone, a step-up. */
  attestation_missing: 0.6,
  tampering: 0.6,
  bot_behavior: 0.6,
  multi_account: 0.5,
  velocity: 0.5,
  click_farm: 0.6,
  coupon_abuse: 0.5,
  brushing: 0.6,
  emulator: 0.25,
  /** Missing behaviour (keyboard-only, assistive technology): never enough to deny on its own. */
  no_interaction: 0.2,
  new_device: 0.05,
  /** An honest SDK always solves the work its challenge names: only a forged payload lacks it. */
  proof_of_work_failed: 0.9,
  /** Answers that belong to another challenge, or contradict each other or the device's own. */
  probe_mismatch: 0.9,
  /** The same pointer trace from another device: a recorded session replayed. */
  replayed_behavior: 0.85,
  /** Many new device keys from one network: fresh keys to shed device history. Offices and carriers share networks: never enough alone. */
  key_churn: 0.25,
  /** A first-seen device on a sensitive action with no interaction and no proof of work. */
  unproven_device: 0.35,
}

/**
 * How much of the risk each verified piece of evidence takes away: score = risk × Π(1 − trustⱼ).
 * Evidence of a genuine app or device halves the risk; a Private Access Token (a device
 * passed its vendor's checks, but which device and which app is not said) takes 30 %.
 * Trust scales risk down and never adds up to an allow by itself: automation (0.97) on
 * an attested app is still a review (0.485), and no reasons at all is 0 either way.
 */
export const TRUST_WEIGHTS: Record<EvidenceKind, number> = {
  app_attest: 0.5,
  play_integrity: 0.5,
  private_token: 0.3,
}

export interface Thresholds {
  /** Scores below this are allowed. */
  review: number
  /** Scores at or above this are denied. */
  deny: number
}

const DEFAULT_THRESHOLDS: Thresholds = { review: 0.3, deny: 0.7 }

export interface Assessment {
  score: number
  verdict: Verdict
  reasons: ReasonCode[]
  /** The verified evidence that lowered the score. */
  evidence: EvidenceKind[]
}

export function assess(
  reasons: Iterable<ReasonCode>,
  thresholds: Thresholds = DEFAULT_THRESHOLDS,
  weights: Partial<Record<ReasonCode, number>> = {},
  evidence: Iterable<EvidenceKind> = [],
  trust: Partial<Record<EvidenceKind, number>> = {},
): Assessment {
  const unique = [...new Set(reasons)].sort()
  let human = 1
  for (const reason of unique) human *= 1 - (weights[reason] ?? REASON_WEIGHTS[reason])
  const vouched = [...new Set(evidence)].sort()
  let kept = 1
  for (const kind of vouched) kept *= 1 - (trust[kind] ?? TRUST_WEIGHTS[kind])
  const score = Math.round((1 - human) * kept * 1000) / 1000
  let verdict: Verdict = score >= thresholds.deny ? 'deny' : score >= thresholds.review ? 'review' : 'allow'
  // no_interaction alone must never deny: a keyboard-only shopper is still a shopper.
  if (verdict === 'deny' && unique.every((r) => r === 'no_interaction')) verdict = 'review'
  return { score, verdict, reasons: unique, evidence: vouched }
}

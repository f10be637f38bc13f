/**
 * Turns reasons into a score and a verdict. Each reason carries a weight (the
 * probability that it alone means a bot or abuse); weights combine as a noisy-OR,
 * and the site's policy cuts the score into allow / review / deny.
 */
import type { Verdict } from '../../../verify/src/index'

export const REASON_WEIGHTS = {
  automation: 0.97,
  tampering: 0.85,
  bot_behavior: 0.8,
  emulator: 0.5,
  key_mismatch: 0.9,
  multi_account: 0.6,
  velocity: 0.6,
  replayed: 0.95,
  /** Missing behaviour (keyboard-only, assistive technology): never enough to deny on its own. */
  no_interaction: 0.2,
} as const satisfies Record<string, number>

export type ReasonCode = keyof typeof REASON_WEIGHTS

export interface Policy {
  /** Scores below this are allowed. */
  review: number
  /** Scores at or above this are denied. */
  deny: number
}

export const DEFAULT_POLICY: Policy = { review: 0.3, deny: 0.7 }

export interface Assessment {
  score: number
  verdict: Verdict
  reasons: ReasonCode[]
}

export function assess(reasons: Iterable<ReasonCode>, policy: Policy = DEFAULT_POLICY): Assessment {
  const unique = [...new Set(reasons)].sort()
  let human = 1
  for (const reason of unique) human *= 1 - REASON_WEIGHTS[reason]
  const score = Math.round((1 - human) * 1000) / 1000
  let verdict: Verdict = score >= policy.deny ? 'deny' : score >= policy.review ? 'review' : 'allow'
  // no_interaction alone must never deny: a keyboard-only shopper is still a shopper.
  if (verdict === 'deny' && unique.every((r) => r === 'no_interaction')) verdict = 'review'
  return { score, verdict, reasons: unique }
}

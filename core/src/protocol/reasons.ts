/**
 * Reason codes: stable lower_snake strings that travel in verdict tokens, events and
 * dashboards. docs/reasons.md describes each.
 */
export const REASON_CODES = [
  'automation',
  'tampering',
  'bot_behavior',
  'emulator',
  'no_interaction',
  'key_mismatch',
  'multi_account',
  'velocity',
  'replayed',
  'click_farm',
  'coupon_abuse',
  'brushing',
  'new_device',
  'attestation_failed',
  'proof_of_work_failed',
  'probe_mismatch',
  'replayed_behavior',
  'key_churn',
  'unproven_device',
  'attestation_missing',
] as const

export type ReasonCode = (typeof REASON_CODES)[number]

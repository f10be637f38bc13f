/**
 * What checking one piece of platform evidence concludes: a status (how far it got) and,
 * when it is not verified, a reason: a stable lower_snake code, listed in docs/webview.md,
 * that tells a forged chain from a replayed counter from a stale token.
 */

/**
 * - verified: checked, and it holds: the score goes down (engine.ts TRUST_WEIGHTS).
 * - unverified: could not be checked (no verifier for its kind, a key the collector has
 *   never seen, Google unreachable): no trust, and no penalty.
 * - failed: checked, and forged, replayed, stale or about another app: attestation_failed.
 * - nonce_mismatch: minted for another payload than the one it came with: attestation_failed.
 */
export type EvidenceStatus = 'verified' | 'unverified' | 'failed' | 'nonce_mismatch'

/** A verifier's answer. */
export interface Verification {
  status: 'verified' | 'unverified' | 'failed'
  /** Why not verified: a stable code (docs/webview.md). */
  reason?: string
  /** Human detail for analysts (never shown to the page). */
  detail?: string
  /** Who vouched: the issuer of a Private Access Token, the app id of an App Attest key. */
  by?: string
}

/** One piece of evidence in an event (`detail.evidence`). */
export interface EvidenceOutcome extends Omit<Verification, 'status'> {
  /** app_attest, play_integrity, private_token, or the kind a plug-in verifier handles. */
  kind: string
  status: EvidenceStatus
}

export const verified = (by?: string): Verification => (by ? { status: 'verified', by } : { status: 'verified' })
export const failed = (reason: string, detail?: string): Verification => (detail ? { status: 'failed', reason, detail } : { status: 'failed', reason })
export const unverified = (reason: string, detail?: string): Verification => (detail ? { status: 'unverified', reason, detail } : { status: 'unverified', reason })

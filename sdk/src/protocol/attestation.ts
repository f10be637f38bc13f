/**
 * Platform attestation from a native app hosting the page in a webview (Play Integrity
 * on Android, App Attest on iOS), bound to the payload: the app requests its
 * attestation with nonce = base64url(SHA-256(ATTESTATION_CONTEXT ‖ canonical(payload
 * without `attestation`))). The collector recomputes the nonce and hands the token to
 * a pluggable verifier. See docs/webview.md.
 */
import { canonicalize } from './canonical'
import type { CollectPayload } from './payload'

export const ATTESTATION_CONTEXT = 'vigil/attest/v1\n'

export interface AttestationClaim {
  /** 'android' | 'ios' (or another platform a verifier knows). */
  platform: string
  /** 'play_integrity' | 'app_attest' | … : picks the verifier. */
  kind: string
  /** The platform's attestation token, opaque to Vigil. */
  token: string
  /** The nonce the app requested the attestation with. */
  nonce: string
}

/** The text whose SHA-256 is the attestation nonce. */
export function attestationInput(payload: CollectPayload): string {
  const { attestation: _ignored, ...rest } = payload
  return ATTESTATION_CONTEXT + canonicalize(rest)
}

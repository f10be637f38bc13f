/**
 * Platform attestation from a native app hosting the page in a webview (Play Integrity
 * on Android, App Attest on iOS), bound to the payload: the app requests its
 * attestation with nonce = base64url(SHA-256(ATTESTATION_CONTEXT ‖ canonical(payload
 * without `attestation`))). The collector recomputes the nonce and hands the token to
 * the verifier for its kind (collector-server/src/evidence/check.ts). See docs/webview.md.
 */
import { canonicalize } from './canonical'
import type { CollectPayload } from './schema'

export const ATTESTATION_CONTEXT = 'vigil/attest/v1\n'

/** The text whose SHA-256 is the attestation nonce. */
export function attestationInput(payload: CollectPayload): string {
  const { attestation: _ignored, ...rest } = payload
  return ATTESTATION_CONTEXT + canonicalize(rest)
}

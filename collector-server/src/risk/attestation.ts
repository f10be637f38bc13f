/**
 * Platform attestations from native apps (docs/webview.md). Vigil checks the binding
 * (the nonce is this payload's) and hands the token to a verifier you plug in for its
 * kind: verifying Play Integrity or App Attest needs your Google / Apple credentials.
 */
import { createHash } from 'node:crypto'
import { attestationInput } from '@vigil-risk/core/protocol/attestation'
import type { CollectPayload } from '@vigil-risk/core/protocol/schema'

export interface AttestationInput {
  platform: string
  kind: string
  token: string
  /** The nonce the app was given; already checked to be this payload's. */
  nonce: string
  siteKey: string
}

export type AttestationVerifier = (input: AttestationInput) => Promise<{ verified: boolean; detail?: string }>

export type AttestationStatus = 'absent' | 'unverified' | 'verified' | 'failed' | 'nonce_mismatch'

export async function checkAttestation(payload: CollectPayload, verifiers: Readonly<Record<string, AttestationVerifier>>): Promise<{ status: AttestationStatus; detail?: string }> {
  const claim = payload.attestation
  if (!claim) return { status: 'absent' }
  const expected = createHash('sha256').update(attestationInput(payload), 'utf8').digest('base64url')
  if (claim.nonce !== expected) return { status: 'nonce_mismatch' }
  const verifier = Object.hasOwn(verifiers, claim.kind) ? verifiers[claim.kind] : undefined
  if (!verifier) return { status: 'unverified', detail: `no verifier for ${claim.kind}` }
  try {
    const result = await verifier({ platform: claim.platform, kind: claim.kind, token: claim.token, nonce: claim.nonce, siteKey: payload.siteKey })
    return { status: result.verified ? 'verified' : 'failed', ...(result.detail ? { detail: result.detail } : {}) }
  } catch (err) {
    return { status: 'failed', detail: err instanceof Error ? err.message.slice(0, 200) : 'verifier error' }
  }
}

/**
 * Platform evidence in a collect: the native app's attestation (`payload.attestation`,
 * from the bridge: docs/webview.md) and a Private Access Token receipt
 * (`payload.privateToken`, from GET /v1/private-token). The attestation must be bound to
 * this payload (its nonce is the payload's), then goes to a verifier: a plug-in for its
 * kind if the operator gave one (`attestationVerifiers`), else the built-in App Attest or
 * Play Integrity verifier when the site configures that platform.
 */
import { createHash, type X509Certificate } from 'node:crypto'
import { attestationInput } from '@vigil-risk/core/protocol/attestation'
import type { CollectPayload } from '@vigil-risk/core/protocol/schema'
import { verifyAppAttest } from './app-attest'
import { verifyPlayIntegrity } from './play-integrity'
import { openReceipt } from './private-token'
import { failed, unverified, verified, type EvidenceOutcome, type EvidenceStatus, type Verification } from './outcome'
import type { Site } from '../config/sites'
import type { AttestedKeyStore } from '../stores/types'

export interface AttestationInput {
  platform: string
  kind: string
  token: string
  /** The nonce the app was given; already checked to be this payload's. */
  nonce: string
  siteKey: string
}

/**
 * A verifier you plug in for a kind of attestation (`buildApp({ attestationVerifiers })`).
 * `reason`: a stable code saying why it refused (it lands in the event).
 */
export type AttestationVerifier = (input: AttestationInput) => Promise<{ verified: boolean; detail?: string; reason?: string }>

/** The native attestation's status in events (`detail.attestation`). */
export type AttestationStatus = 'absent' | EvidenceStatus

export interface EvidenceContext {
  site: Site
  verifiers: Readonly<Record<string, AttestationVerifier>>
  /** App Attest trust anchors: Apple's root unless a test brings its own. */
  appAttestRoots: readonly X509Certificate[]
  attestedKeys: AttestedKeyStore
  /** The challenge key: Private Access Token receipts are MACed with it. */
  receiptKey: Buffer
  /** Epoch ms. */
  now: number
}

export interface Evidence {
  attestation?: EvidenceOutcome
  privateToken?: EvidenceOutcome
}

/** The nonce the app must have requested its attestation with, for this payload. */
export const attestationNonce = (payload: CollectPayload): string => createHash('sha256').update(attestationInput(payload), 'utf8').digest('base64url')

async function verifyAttestation(payload: CollectPayload, ctx: EvidenceContext): Promise<Verification | 'nonce_mismatch'> {
  const claim = payload.attestation!
  if (claim.nonce !== attestationNonce(payload)) return 'nonce_mismatch'
  const plugin = Object.hasOwn(ctx.verifiers, claim.kind) ? ctx.verifiers[claim.kind] : undefined
  if (plugin) {
    const result = await plugin({ platform: claim.platform, kind: claim.kind, token: claim.token, nonce: claim.nonce, siteKey: payload.siteKey })
    return result.verified ? verified() : failed(result.reason ?? 'refused', result.detail)
  }
  const { appAttest, playIntegrity } = ctx.site.attestation
  if (claim.kind === 'app_attest' && appAttest) {
    return verifyAppAttest(claim.token, claim.nonce, appAttest, { roots: ctx.appAttestRoots, keys: ctx.attestedKeys, now: ctx.now })
  }
  if (claim.kind === 'play_integrity' && playIntegrity) return verifyPlayIntegrity(claim.token, claim.nonce, playIntegrity, ctx.now)
  return unverified('no_verifier', `no verifier for ${claim.kind} on this site`)
}

export async function checkEvidence(payload: CollectPayload, ctx: EvidenceContext): Promise<Evidence> {
  const evidence: Evidence = {}
  if (payload.attestation) {
    const kind = payload.attestation.kind
    let result: Verification | 'nonce_mismatch'
    try {
      result = await verifyAttestation(payload, ctx)
    } catch (err) {
      // A store failure is the collector's problem, not the device's: it becomes a 503.
      if ((err as { code?: unknown }).code === 'VIGIL_STORE_UNAVAILABLE') throw err
      result = failed('verifier_error', err instanceof Error ? err.message.slice(0, 200) : 'verifier error')
    }
    evidence.attestation = result === 'nonce_mismatch' ? { kind, status: 'nonce_mismatch', reason: 'nonce_mismatch', detail: 'minted for another payload' } : { kind, ...result }
  }
  if (payload.privateToken !== undefined) evidence.privateToken = { kind: 'private_token', ...openReceipt(ctx.receiptKey, payload.privateToken, payload.challenge) }
  return evidence
}

/**
 * The device signature over the canonical payload. With the payload's analysis
 * (payload-analysis.ts), it is the CPU-bound part of a collect that needs nothing but its
 * body and its challenge's terms: over half of a collect's CPU (docs/performance.md), so a
 * scoring thread (scoring-pool.ts) can do both while the request thread does everything
 * else; on the request thread they are these same functions.
 */
import { CanonicalEncodingError } from '@vigil-risk/core/protocol/canonical'
import { signingInput } from '@vigil-risk/core/protocol/payload'
import type { CollectBody } from '@vigil-risk/core/protocol/schema'
import { importDeviceKey, verifyDeviceSignature } from '../verify/signature'

/** Whether the device's signature verifies, and if not, the refusal (errors.ts codes). */
export type SignatureCheck = { ok: true } | { ok: false; code: 'bad_signature' } | { ok: false; code: 'bad_request'; message: string }

/** The signature over the canonical payload, with the key in `payload.device.pub`. */
export function checkSignature(body: CollectBody): SignatureCheck {
  const device = importDeviceKey(body.payload.device.pub)
  if (!device) return { ok: false, code: 'bad_request', message: 'device.pub is not an Ed25519 public key.' }
  let message: string
  try {
    message = signingInput(body.payload)
  } catch (err) {
    if (err instanceof CanonicalEncodingError) return { ok: false, code: 'bad_request', message: `payload cannot be canonicalised: ${err.message}` }
    throw err
  }
  return verifyDeviceSignature(device.key, message, body.sig) ? { ok: true } : { ok: false, code: 'bad_signature' }
}

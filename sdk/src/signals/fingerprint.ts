/**
 * The FingerprintJS visitor identifier, started at init so that getToken finds it
 * ready. `monitoring: false`: the library must never phone home from our pages.
 */
import { load } from '@fingerprintjs/fingerprintjs'
import type { FingerprintClaim } from '../protocol/payload'

export async function getFingerprint(): Promise<FingerprintClaim> {
  const started = performance.now()
  const agent = await load({ monitoring: false })
  const result = await agent.get()
  return {
    visitorId: result.visitorId,
    confidence: result.confidence.score,
    ms: Math.round(performance.now() - started),
  }
}

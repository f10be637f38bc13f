/**
 * The FingerprintJS visitor identifier, started at init so that getToken finds it
 * ready. `monitoring: false`: the library must never phone home from our pages.
 * Its WebGL read doubles as our `webgl` signal, so the page creates one context, not two.
 */
import { load } from '@fingerprintjs/fingerprintjs'
import type { FingerprintClaim } from '../protocol/payload'
import type { Component, WebGlSignal } from './index'

export interface FingerprintResult {
  claim: FingerprintClaim
  webgl: Component<WebGlSignal | null>
}

export async function getFingerprint(): Promise<FingerprintResult> {
  const started = performance.now()
  const agent = await load({ monitoring: false })
  const result = await agent.get()
  const gl = result.components.webGlBasics
  let webgl: Component<WebGlSignal | null>
  if ('error' in gl) {
    webgl = { error: String((gl.error as { name?: string } | undefined)?.name ?? gl.error), duration: gl.duration }
  } else {
    const v = gl.value
    webgl = { value: typeof v === 'object' ? { vendor: v.vendorUnmasked || v.vendor, renderer: v.rendererUnmasked || v.renderer } : null, duration: gl.duration }
  }
  return {
    claim: { visitorId: result.visitorId, confidence: result.confidence.score, ms: Math.round(performance.now() - started) },
    webgl,
  }
}

/**
 * The native bridge: how an app hosting the page in a webview adds a platform
 * attestation bound to the payload. docs/webview.md has the Kotlin and Swift sides.
 *
 * Request (page → app), one of:
 *   Android  window.VigilNative.postMessage(JSON.stringify(message))      (addJavascriptInterface)
 *   iOS      window.webkit.messageHandlers.vigil.postMessage(message)     (WKScriptMessageHandler)
 *   message = { type: 'vigil:attest', id, nonce, siteKey }
 * Reply (app → page): window.postMessage({ type: 'vigil:attestation', id, platform, kind, token }
 *   or { type: 'vigil:attestation', id, error }, '*'), as an object or a JSON string.
 *
 * A forged reply gains nothing: the collector verifies the token with the platform.
 */
import type { AttestationClaim } from '@vigil-risk/core/protocol/schema'

interface AndroidBridge {
  postMessage(message: string): void
}
interface WebkitHandlers {
  vigil?: { postMessage(message: unknown): void }
}

function sender(): ((message: Record<string, unknown>) => void) | null {
  const w = window as unknown as { VigilNative?: AndroidBridge; webkit?: { messageHandlers?: WebkitHandlers } }
  if (w.VigilNative && typeof w.VigilNative.postMessage === 'function') {
    const bridge = w.VigilNative
    return (m) => bridge.postMessage(JSON.stringify(m))
  }
  const ios = w.webkit?.messageHandlers?.vigil
  if (ios && typeof ios.postMessage === 'function') return (m) => ios.postMessage(m)
  return null
}

export function hasNativeBridge(): boolean {
  try {
    return sender() !== null
  } catch {
    return false
  }
}

let counter = 0

/** Resolves to the app's attestation, or null when there is no bridge, it fails, or it is late. */
export function requestAttestation(nonce: string, siteKey: string, timeoutMs: number): Promise<AttestationClaim | null> {
  const send = sender()
  if (!send) return Promise.resolve(null)
  const id = `${Date.now().toString(36)}-${++counter}`
  return new Promise((resolve) => {
    const finish = (claim: AttestationClaim | null): void => {
      clearTimeout(timer)
      removeEventListener('message', onMessage)
      resolve(claim)
    }
    const onMessage = (event: MessageEvent): void => {
      if (event.source !== null && event.source !== window) return
      let data: unknown = event.data
      if (typeof data === 'string') {
        try {
          data = JSON.parse(data)
        } catch {
          return
        }
      }
      const reply = data as Partial<Record<'type' | 'id' | 'platform' | 'kind' | 'token' | 'error', unknown>> | null
      if (!reply || reply.type !== 'vigil:attestation' || reply.id !== id) return
      if (typeof reply.token === 'string' && typeof reply.platform === 'string' && typeof reply.kind === 'string' && reply.token.length <= 16_384) {
        finish({ platform: reply.platform.slice(0, 32), kind: reply.kind.slice(0, 32), token: reply.token, nonce })
      } else {
        finish(null)
      }
    }
    const timer = setTimeout(() => finish(null), timeoutMs)
    addEventListener('message', onMessage)
    try {
      send({ type: 'vigil:attest', id, nonce, siteKey })
    } catch {
      finish(null)
    }
  })
}

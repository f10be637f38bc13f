/**
 * Private Access Tokens (RFC 9577/9578) from the page. The browser does the work: a
 * request answered `401` with `WWW-Authenticate: PrivateToken` makes a browser that
 * supports the scheme (Safari 16+, on Apple devices) fetch a token from the issuer
 * through the device's attester and repeat the request with it; the collector verifies
 * the token and answers with a receipt for the next collect. A browser without support
 * just sees the 401, so the SDK only asks where support is likely, and never waits long.
 * Untested in Safari here: Chromium has no Private Access Tokens (docs/webview.md).
 */
import { privateTokenContextInput } from '@vigil-risk/core/protocol/private-token'
import { toBase64url } from '@vigil-risk/core/protocol/base64url'
import { sha256 } from '../keys/webcrypto'
import { COLLECTOR_FETCH } from './http'

/**
 * No feature test exists, so: Safari itself (Apple's vendor string, a `Version/` ≥ 16 and
 * `Safari/` token) — not an in-app WKWebView, which has neither, nor another browser's shell.
 */
export function supportsPrivateTokens(): boolean {
  const ua = navigator.userAgent
  const version = /Version\/(\d+)[\d.]* (?:Mobile\/\S+ )?Safari\//.exec(ua)
  return navigator.vendor === 'Apple Computer, Inc.' && version !== null && Number(version[1]) >= 16 && !/CriOS|FxiOS|EdgiOS|OPiOS/.test(ua)
}

/** The collector's receipt for a token bound to `challenge`, or undefined (no support, no token, any failure). */
export async function privateTokenReceipt(endpoint: string, siteKey: string, challenge: string, signal: AbortSignal): Promise<string | undefined> {
  try {
    const context = toBase64url(await sha256(new TextEncoder().encode(privateTokenContextInput(challenge))))
    const response = await fetch(`${endpoint}/v1/private-token?siteKey=${encodeURIComponent(siteKey)}&context=${context}`, { ...COLLECTOR_FETCH, signal })
    if (!response.ok) return undefined
    const receipt = ((await response.json()) as { receipt?: unknown }).receipt
    return typeof receipt === 'string' && receipt.length <= 512 ? receipt : undefined
  } catch {
    return undefined
  }
}

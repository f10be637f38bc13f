/**
 * Decoding Play Integrity tokens through Google's server API (playintegrity.googleapis.com,
 * `decodeIntegrityToken`). Needs network access from the collector and a Google Cloud
 * service account with access to the app; it is the only way to read *standard* requests'
 * tokens. A service-account JWT (RS256) buys an OAuth access token, cached until shortly
 * before it expires. A failure to reach Google is `decode_unavailable` (no trust, no
 * penalty): the device did nothing wrong.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto'
import { SignJWT } from 'jose'
/** A decoded verdict, a token that does not decode (forged, or for another app), or no answer. */
export type DecodeResult = { verdict: unknown } | { bad: string } | { unavailable: string }

export type GoogleDecoder = (token: string, packageName: string) => Promise<DecodeResult>

const SCOPE = 'https://www.googleapis.com/auth/playintegrity'
const DEFAULT_API = 'https://playintegrity.googleapis.com'
/** A collect waits for Google at most this long. */
const TIMEOUT_MS = 3000

interface ServiceAccount {
  clientEmail: string
  privateKey: KeyObject
  tokenUri: string
}

function readServiceAccount(text: string, where: string): ServiceAccount {
  let json: Record<string, unknown>
  try {
    json = JSON.parse(text) as Record<string, unknown>
  } catch {
    throw new Error(`${where}.serviceAccountFile is not JSON`)
  }
  const { client_email: clientEmail, private_key: pem, token_uri: tokenUri } = json
  if (typeof clientEmail !== 'string' || typeof pem !== 'string' || typeof tokenUri !== 'string') {
    throw new Error(`${where}.serviceAccountFile needs client_email, private_key and token_uri`)
  }
  return { clientEmail, privateKey: createPrivateKey(pem), tokenUri }
}

export function googleDecoder(config: { serviceAccountFile: string; apiUrl?: string }, readFile: (path: string) => string, where: string): GoogleDecoder {
  if (typeof config?.serviceAccountFile !== 'string') throw new Error(`${where}.serviceAccountFile is required`)
  const account = readServiceAccount(readFile(config.serviceAccountFile), where)
  const api = (config.apiUrl ?? DEFAULT_API).replace(/\/+$/, '')
  let cached: { token: string; until: number } | null = null

  async function accessToken(): Promise<string> {
    if (cached && Date.now() < cached.until) return cached.token
    const assertion = await new SignJWT({ scope: SCOPE })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
      .setIssuer(account.clientEmail)
      .setAudience(account.tokenUri)
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(account.privateKey)
    const res = await fetch(account.tokenUri, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }).toString(),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    })
    const body = (await res.json()) as { access_token?: unknown; expires_in?: unknown }
    if (!res.ok || typeof body.access_token !== 'string') throw new Error(`token endpoint answered ${res.status}`)
    const lifetime = typeof body.expires_in === 'number' ? body.expires_in : 3600
    cached = { token: body.access_token, until: Date.now() + Math.max(0, lifetime - 60) * 1000 }
    return cached.token
  }

  return async (token, packageName) => {
    try {
      const res = await fetch(`${api}/v1/${encodeURIComponent(packageName)}:decodeIntegrityToken`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${await accessToken()}` },
        body: JSON.stringify({ integrity_token: token }),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      })
      // Google refuses a token it cannot decode for this app with 400.
      if (res.status === 400) return { bad: 'Google could not decode the token for this app' }
      if (res.status === 401) cached = null
      if (!res.ok) return { unavailable: `Google answered ${res.status}` }
      const body = (await res.json()) as { tokenPayloadExternal?: unknown }
      return body.tokenPayloadExternal ? { verdict: body.tokenPayloadExternal } : { unavailable: 'Google sent no verdict' }
    } catch (err) {
      return { unavailable: err instanceof Error ? err.message.slice(0, 200) : 'Google unreachable' }
    }
  }
}

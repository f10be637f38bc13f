/**
 * JSON over fetch with an abort signal, mapping every failure to a VigilError.
 * Requests carry no cookies, and POST bodies go as text/plain: a CORS "simple
 * request" that needs no preflight round trip (the collector parses it as JSON).
 */
import { VigilError, abortReason } from '../errors'

interface ErrorEnvelope {
  error?: { code?: unknown; message?: unknown }
}

/**
 * What every request to the collector carries: no cookies, no cache, no redirects, and no
 * Referer (the page's URL with its query string, whenever the collector shares the page's
 * origin or the page's referrer policy sends it).
 */
export const COLLECTOR_FETCH: RequestInit = { credentials: 'omit', cache: 'no-store', redirect: 'error', referrerPolicy: 'no-referrer' }
/** A POST body as text/plain: a CORS simple request, no preflight. */
export const PLAIN_TEXT = 'text/plain;charset=UTF-8'

async function request(url: string, init: RequestInit, signal: AbortSignal): Promise<unknown> {
  let response: Response
  try {
    response = await fetch(url, { ...init, ...COLLECTOR_FETCH, signal })
  } catch (cause) {
    if (signal.aborted) throw abortReason(signal, 'request aborted')
    throw new VigilError('network_error', `collector unreachable: ${url.split('?')[0]}`, { cause })
  }
  let body: unknown
  try {
    body = await response.json()
  } catch (cause) {
    if (signal.aborted) throw abortReason(signal, 'request aborted')
    throw new VigilError(response.ok ? 'bad_response' : 'collector_error', `unreadable response (HTTP ${response.status})`, {
      status: response.status,
      cause,
    })
  }
  if (!response.ok) {
    const err = (body as ErrorEnvelope | null)?.error
    const serverCode = typeof err?.code === 'string' ? err.code : undefined
    const message = typeof err?.message === 'string' ? err.message : `HTTP ${response.status}`
    throw new VigilError('collector_error', message, { status: response.status, serverCode })
  }
  if (typeof body !== 'object' || body === null) throw new VigilError('bad_response', 'response is not a JSON object')
  return body
}

export function getJson(url: string, signal: AbortSignal): Promise<unknown> {
  return request(url, { method: 'GET' }, signal)
}

export function postJson(url: string, body: string, signal: AbortSignal): Promise<unknown> {
  return request(url, { method: 'POST', body, headers: { 'content-type': PLAIN_TEXT } }, signal)
}

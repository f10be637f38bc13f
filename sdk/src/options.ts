import { SITE_KEY_PATTERN } from '@vigil-risk/core/protocol/payload'
import { VigilError } from './errors'

export interface VigilOptions {
  /** The collector's base URL. Defaults to the origin the script was loaded from. */
  endpoint?: string
  /** The site key the collector knows this site by (`demo` in development). */
  siteKey: string
  /** Upper bound for one `getToken` call, ms (default 5000, clamped to 500–30000). */
  timeout?: number
  /**
   * Report failed getToken calls (codes and timings only) to the collector, retried with
   * backoff until it answers (default true). See docs/protocol.md, "Failure reports".
   */
  telemetry?: boolean
}

export interface ResolvedOptions {
  endpoint: string
  siteKey: string
  timeout: number
  telemetry: boolean
}

const DEFAULT_TIMEOUT_MS = 5000

/** Validates once, so the rest of the SDK works with a fully specified object. */
export function resolveOptions(input: unknown, scriptUrl: string | undefined): ResolvedOptions {
  if (typeof input !== 'object' || input === null) throw new VigilError('config_error', 'init() needs an options object')
  const opts = input as Partial<VigilOptions>
  if (typeof opts.siteKey !== 'string' || !SITE_KEY_PATTERN.test(opts.siteKey)) {
    throw new VigilError('config_error', 'siteKey must be 1-64 characters of [A-Za-z0-9_-]')
  }
  const base = opts.endpoint ?? scriptUrl
  if (typeof base !== 'string') throw new VigilError('config_error', 'endpoint is required')
  let url: URL
  try {
    url = new URL(base, typeof location === 'undefined' ? undefined : location.href)
  } catch {
    throw new VigilError('config_error', 'endpoint is not a valid URL')
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new VigilError('config_error', 'endpoint must be an http(s) URL')
  }
  // An endpoint given explicitly is a base path; a script URL only contributes its origin.
  const endpoint = opts.endpoint === undefined ? url.origin : (url.origin + url.pathname).replace(/\/+$/, '')
  const timeout = typeof opts.timeout === 'number' && Number.isFinite(opts.timeout)
    ? Math.min(30_000, Math.max(500, opts.timeout))
    : DEFAULT_TIMEOUT_MS
  return { endpoint, siteKey: opts.siteKey, timeout, telemetry: opts.telemetry !== false }
}

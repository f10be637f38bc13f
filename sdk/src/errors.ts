/**
 * The one error type the SDK hands to the page. `getToken` rejects with it; nothing
 * in the SDK throws into the host page.
 */
export type VigilErrorCode =
  /** `init` was given options it cannot use (missing siteKey, bad endpoint). */
  | 'config_error'
  /** The action name is not 1–64 characters of [A-Za-z0-9_./:-]. */
  | 'invalid_action'
  /** `account` is not a non-empty string of at most 256 characters. */
  | 'invalid_account'
  /** The whole `getToken` call ran past its timeout. */
  | 'timeout'
  /** The collector could not be reached (offline, DNS, CORS, CSP). */
  | 'network_error'
  /** The collector answered with an error; see `status` and `serverCode`. */
  | 'collector_error'
  /** The collector answered something that is not a valid response. */
  | 'bad_response'
  /** No usable signing key on this device. */
  | 'crypto_unavailable'
  /** `destroy()` was called. */
  | 'destroyed'
  /** A bug in the SDK; reported rather than thrown into the page. */
  | 'internal_error'

export class VigilError extends Error {
  override readonly name = 'VigilError'
  readonly code: VigilErrorCode
  /** HTTP status, for `collector_error`. */
  readonly status: number | undefined
  /** The collector's stable error code (`replayed`, `rate_limited`, …), for `collector_error`. */
  readonly serverCode: string | undefined

  constructor(code: VigilErrorCode, message: string, extra?: { status?: number | undefined; serverCode?: string | undefined; cause?: unknown }) {
    super(message)
    this.code = code
    this.status = extra?.status
    this.serverCode = extra?.serverCode
    if (extra?.cause !== undefined) (this as { cause?: unknown }).cause = extra.cause
  }
}

/** Why an aborted call stopped: the VigilError it was aborted with (timeout, destroyed), or a timeout. */
export function abortReason(signal: AbortSignal, message = 'aborted'): VigilError {
  return signal.reason instanceof VigilError ? signal.reason : new VigilError('timeout', message)
}

export function toVigilError(err: unknown): VigilError {
  if (err instanceof VigilError) return err
  let message = 'unknown error'
  try {
    message = err instanceof Error ? err.message : String(err)
  } catch {
    // An object without a usable toString (Object.create(null)): the generic message stands.
  }
  return new VigilError('internal_error', message, { cause: err })
}

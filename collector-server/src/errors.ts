/**
 * The one catalogue of error codes the collector answers with. Codes are stable API:
 * clients and dashboards key on them. Every error body is
 *   { "error": { "code": "<code>", "message": "<human text>" } }
 */
export const ERRORS = {
  bad_request: { status: 400, message: 'The request is malformed.' },
  unknown_site: { status: 400, message: 'No site has this site key.' },
  bad_challenge: { status: 400, message: 'The challenge is not one this collector issued for this site.' },
  challenge_expired: { status: 400, message: 'The challenge has expired; request a new one.' },
  hostname_mismatch: { status: 400, message: 'The payload hostname does not match the request origin.' },
  bad_signature: { status: 401, message: 'The payload signature does not verify.' },
  unauthorized: { status: 401, message: "Send the site's dashboard key as a bearer token." },
  private_token_required: { status: 401, message: 'Present a Private Access Token for one of the challenges in WWW-Authenticate.' },
  key_mismatch: { status: 403, message: 'The device id does not belong to the signing key.' },
  origin_not_allowed: { status: 403, message: 'This origin is not allowed for the site.' },
  not_found: { status: 404, message: 'No such route.' },
  method_not_allowed: { status: 405, message: 'Method not allowed.' },
  request_timeout: { status: 408, message: 'The request did not arrive in time.' },
  replayed: { status: 409, message: 'This challenge was already used.' },
  payload_too_large: { status: 413, message: 'The request body is too large.' },
  unsupported_media_type: { status: 415, message: 'Send JSON (application/json or text/plain).' },
  range_not_satisfiable: { status: 416, message: 'The requested range is outside the file.' },
  expectation_failed: { status: 417, message: 'Only "Expect: 100-continue" is supported.' },
  rate_limited: { status: 429, message: 'Too many requests; retry later.' },
  headers_too_large: { status: 431, message: 'The request headers are too large.' },
  internal_error: { status: 500, message: 'Internal error.' },
  store_unavailable: { status: 503, message: 'The store is unavailable; retry later.' },
  shutting_down: { status: 503, message: 'The collector is shutting down; retry on a new connection.' },
  metrics_unavailable: { status: 503, message: 'The metrics could not be gathered; retry later.' },
} as const satisfies Record<string, { status: number; message: string }>

export type ErrorCode = keyof typeof ERRORS

export class CollectorError extends Error {
  override readonly name = 'CollectorError'
  readonly statusCode: number
  constructor(readonly code: ErrorCode, message?: string, readonly headers?: Record<string, string>) {
    super(message ?? ERRORS[code].message)
    this.statusCode = ERRORS[code].status
  }
}

export interface ErrorBody {
  error: { code: ErrorCode; message: string }
}

export const errorBody = (code: ErrorCode, message?: string): ErrorBody => ({
  error: { code, message: message ?? ERRORS[code].message },
})

/** JSON schema of the error envelope, for route response schemas and OpenAPI. */
export const errorSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string', enum: Object.keys(ERRORS) }, message: { type: 'string' } },
    },
  },
} as const

/**
 * The SDK's failure reports (POST /v1/telemetry): what went wrong when a page could not
 * get a token, so that operators see collector outages and blocked collectors from the
 * shoppers' side. A report holds codes and numbers only — never a URL, a field value or
 * anything the shopper typed.
 */

/** The getToken failures worth reporting: the caller's own mistakes (bad options, bad action) are not. */
export const TELEMETRY_CODES = ['timeout', 'network_error', 'collector_error', 'bad_response', 'crypto_unavailable', 'internal_error'] as const
export type TelemetryCode = (typeof TELEMETRY_CODES)[number]

/** At most this many reports wait in a page, and go in one request. */
export const TELEMETRY_MAX_REPORTS = 32

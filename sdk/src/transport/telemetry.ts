/**
 * A page-lifetime queue of failure reports, delivered to the collector with capped
 * exponential backoff and jitter: a collector that is down gets a request every 1, 2, 4 …
 * 60 s from each page at most, never a burst, and the reports arrive once it is back.
 * A token obtained again (the collector is back) flushes the queue at once; leaving the
 * page hands what is left to a keep-alive fetch (sendBeacon where there is none). Nothing here can throw into the page.
 * (A closure rather than a class: the minifier can shorten locals, not property names.)
 */
import { TELEMETRY_CODES, TELEMETRY_MAX_REPORTS, type TelemetryCode } from '@vigil-risk/core/protocol/telemetry'
import type { TelemetryBody, TelemetryReport } from '@vigil-risk/core/protocol/schema'
import type { VigilError } from '../errors'
import { COLLECTOR_FETCH, PLAIN_TEXT } from './http'

export const TELEMETRY_BASE_DELAY_MS = 1000
export const TELEMETRY_MAX_DELAY_MS = 60_000
const SEND_TIMEOUT_MS = 5000

export interface Telemetry {
  /** Queues a report of a failed getToken, if it is the kind worth reporting. */
  report(error: VigilError, action: string, ms: number): void
  /** The collector answered again: deliver now instead of waiting out the backoff. */
  flushSoon(): void
  stop(): void
}

/** The wait before attempt n+1 after n failures: base × 2^n, capped, with "equal jitter" (½ to 1×). */
export function backoffDelay(failures: number, random: number): number {
  const ceiling = Math.min(TELEMETRY_MAX_DELAY_MS, TELEMETRY_BASE_DELAY_MS * 2 ** Math.min(failures, 16))
  return Math.round(ceiling / 2 + (ceiling / 2) * random)
}

export function createTelemetry(endpoint: string, siteKey: string, sdk: string): Telemetry {
  const url = `${endpoint}/v1/telemetry`
  let reports: TelemetryReport[] = []
  let dropped = 0
  let failures = 0
  let timer: ReturnType<typeof setTimeout> | undefined
  let sending = false
  let stopped = false

  // What was sent is removed by identity: the queue may have shifted while a send was in flight.
  const body = (batch: TelemetryReport[]): string => JSON.stringify({ v: 1, siteKey, sdk, reports: batch, dropped } satisfies TelemetryBody)
  const delivered = (batch: TelemetryReport[], droppedThen: number): void => {
    reports = reports.filter((r) => !batch.includes(r))
    dropped -= droppedThen
  }

  const schedule = (): void => {
    if (stopped || timer !== undefined || sending || reports.length === 0) return
    timer = setTimeout(() => {
      timer = undefined
      void send()
    }, backoffDelay(failures, Math.random()))
  }

  const send = async (): Promise<void> => {
    if (stopped || sending || reports.length === 0) return
    sending = true
    const batch = reports.slice()
    const droppedThen = dropped
    const controller = new AbortController()
    const deadline = setTimeout(() => controller.abort(), SEND_TIMEOUT_MS)
    let ok = false
    try {
      const res = await fetch(url, { ...COLLECTOR_FETCH, method: 'POST', body: body(batch), headers: { 'content-type': PLAIN_TEXT }, keepalive: true, signal: controller.signal })
      // A 4xx other than 408/429 will not get better by retrying: the collector refuses the report itself.
      ok = res.ok || (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429)
    } catch {
      // unreachable: retried below
    }
    clearTimeout(deadline)
    sending = false
    if (ok) {
      delivered(batch, droppedThen)
      failures = 0
    } else failures++
    schedule()
  }

  // A keep-alive fetch outlives the page as a beacon does; sendBeacon itself cannot be told
  // to leave out the Referer, which on a same-origin collector is the page's URL, query string
  // and all. Browsers without keep-alive fetches (Firefox before 133) keep sendBeacon.
  const beacon = (): void => {
    if (stopped || reports.length === 0) return
    try {
      const batch = reports.slice()
      if (typeof Request === 'function' && 'keepalive' in Request.prototype) {
        fetch(url, { ...COLLECTOR_FETCH, method: 'POST', body: body(batch), headers: { 'content-type': PLAIN_TEXT }, keepalive: true }).catch(() => undefined)
        delivered(batch, dropped)
      } else if (navigator.sendBeacon(url, new Blob([body(batch)], { type: PLAIN_TEXT }))) delivered(batch, dropped)
    } catch {
      // neither: the reports stay queued for the next attempt
    }
  }
  try {
    addEventListener('pagehide', beacon)
  } catch {
    // no window (a worker, SSR): delivery still works while the page lives
  }

  return {
    report(error, action, ms) {
      if (stopped || !(TELEMETRY_CODES as readonly string[]).includes(error.code)) return
      const r: TelemetryReport = { code: error.code as TelemetryCode, action, ms: Math.round(ms), at: Date.now() }
      if (error.status !== undefined) r.status = error.status
      if (error.serverCode !== undefined) r.serverCode = error.serverCode.slice(0, 64)
      reports.push(r)
      if (reports.length > TELEMETRY_MAX_REPORTS) {
        reports.shift()
        dropped++
      }
      schedule()
    },
    flushSoon() {
      if (stopped || reports.length === 0 || sending) return
      clearTimeout(timer)
      timer = undefined
      failures = 0
      void send()
    },
    stop() {
      if (stopped) return
      beacon()
      stopped = true
      clearTimeout(timer)
      try {
        removeEventListener('pagehide', beacon)
      } catch {
        // as above
      }
    },
  }
}

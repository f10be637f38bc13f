/**
 * A page-lifetime queue of failure reports, delivered to the collector with capped
 * exponential backoff and jitter: a collector that is down gets a request every 1, 2, 4 …
 * 60 s from each page at most, never a burst, and the reports arrive once it is back.
 * A token obtained again (the collector is back) flushes the queue at once; leaving the
 * page hands what is left to sendBeacon. Nothing here can throw into the page.
 */
import { TELEMETRY_CODES, TELEMETRY_MAX_REPORTS, type TelemetryBody, type TelemetryCode, type TelemetryReport } from '../protocol/telemetry'
import type { VigilError } from '../errors'

export const TELEMETRY_BASE_DELAY_MS = 1000
export const TELEMETRY_MAX_DELAY_MS = 60_000
const SEND_TIMEOUT_MS = 5000

export class TelemetryQueue {
  private reports: TelemetryReport[] = []
  private dropped = 0
  private failures = 0
  private timer: ReturnType<typeof setTimeout> | undefined
  private sending = false
  private stopped = false
  private readonly onHide = (): void => this.beacon()

  constructor(
    private readonly endpoint: string,
    private readonly siteKey: string,
    private readonly sdk: string,
  ) {
    try {
      addEventListener('pagehide', this.onHide)
    } catch {
      // no window (a worker, SSR): delivery still works while the page lives
    }
  }

  /** Queues a report of a failed getToken, if it is the kind worth reporting. */
  report(error: VigilError, action: string, ms: number): void {
    if (this.stopped || !(TELEMETRY_CODES as readonly string[]).includes(error.code)) return
    const report: TelemetryReport = { code: error.code as TelemetryCode, action, ms: Math.round(ms), at: Date.now() }
    if (error.status !== undefined) report.status = error.status
    if (error.serverCode !== undefined) report.serverCode = error.serverCode.slice(0, 64)
    this.reports.push(report)
    if (this.reports.length > TELEMETRY_MAX_REPORTS) {
      this.reports.shift()
      this.dropped++
    }
    this.schedule()
  }

  /** The collector answered again: deliver now instead of waiting out the backoff. */
  flushSoon(): void {
    if (this.stopped || this.reports.length === 0 || this.sending) return
    clearTimeout(this.timer)
    this.timer = undefined
    this.failures = 0
    void this.send()
  }

  stop(): void {
    if (this.stopped) return
    this.beacon()
    this.stopped = true
    clearTimeout(this.timer)
    try {
      removeEventListener('pagehide', this.onHide)
    } catch {
      // as in the constructor
    }
  }

  /** The delay before the next attempt: base × 2^failures, capped, with "equal jitter" (½ to 1×). */
  static delay(failures: number, random: number): number {
    const ceiling = Math.min(TELEMETRY_MAX_DELAY_MS, TELEMETRY_BASE_DELAY_MS * 2 ** Math.min(failures, 16))
    return Math.round(ceiling / 2 + (ceiling / 2) * random)
  }

  private schedule(): void {
    if (this.stopped || this.timer !== undefined || this.sending || this.reports.length === 0) return
    this.timer = setTimeout(() => {
      this.timer = undefined
      void this.send()
    }, TelemetryQueue.delay(this.failures, Math.random()))
  }

  private body(): { body: string; count: number } {
    const reports = this.reports.slice(0, TELEMETRY_MAX_REPORTS)
    const body: TelemetryBody = { v: 1, siteKey: this.siteKey, sdk: this.sdk, reports, dropped: this.dropped }
    return { body: JSON.stringify(body), count: reports.length }
  }

  private async send(): Promise<void> {
    if (this.stopped || this.sending || this.reports.length === 0) return
    this.sending = true
    const { body, count } = this.body()
    const dropped = this.dropped
    let delivered = false
    try {
      const controller = new AbortController()
      const deadline = setTimeout(() => controller.abort(), SEND_TIMEOUT_MS)
      try {
        const res = await fetch(`${this.endpoint}/v1/telemetry`, {
          method: 'POST',
          body,
          headers: { 'content-type': 'text/plain;charset=UTF-8' },
          credentials: 'omit',
          cache: 'no-store',
          redirect: 'error',
          keepalive: true,
          signal: controller.signal,
        })
        // A 4xx will not get better by retrying (the collector refuses the report itself).
        delivered = res.ok || (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429)
      } finally {
        clearTimeout(deadline)
      }
    } catch {
      delivered = false
    }
    this.sending = false
    if (delivered) {
      this.reports.splice(0, count)
      this.dropped -= dropped
      this.failures = 0
    } else {
      this.failures++
    }
    this.schedule()
  }

  private beacon(): void {
    if (this.stopped || this.reports.length === 0) return
    try {
      const { body, count } = this.body()
      if (navigator.sendBeacon(`${this.endpoint}/v1/telemetry`, new Blob([body], { type: 'text/plain;charset=UTF-8' }))) {
        this.reports.splice(0, count)
        this.dropped = 0
      }
    } catch {
      // no sendBeacon: the reports stay queued for the next attempt
    }
  }
}

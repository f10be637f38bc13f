/**
 * Prometheus metrics, one registry per app (tests build many apps in one process).
 */
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

export interface Metrics {
  registry: Registry
  requests: Counter<'route' | 'method' | 'status'>
  requestSeconds: Histogram<'route'>
  /** Every collect, by outcome: `accepted` or the error code it was refused with. */
  collects: Counter<'outcome'>
  verdicts: Counter<'verdict'>
  reasons: Counter<'reason'>
  /** Platform evidence in collects, by kind, status and the reason it did not verify. */
  evidence: Counter<'kind' | 'status' | 'reason'>
  /** Every siteverify, by outcome: `success` or the first error code. */
  siteverify: Counter<'outcome'>
  /** getToken failures the SDK reported from pages (POST /v1/telemetry), by code. */
  sdkFailures: Counter<'code'>
  sdkFailuresDropped: Counter
  storeSeconds: Histogram<'op'>
  /** Collect checks (signature and trace analysis) by where they ran: `thread` (the scoring pool) or `inline` (the request thread). */
  checks: Counter<'where'>
  /** Scoring threads that failed or died (their checks ran inline; risk/scoring-pool.ts). */
  scoringErrors: Counter
  /**
   * The text GET /metrics serves: this registry's, unless replaced (under --workers, every
   * worker's summed by the primary: cluster.ts).
   */
  exposition: () => Promise<string>
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry()
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'vigil_process_' })
  const registers = [registry]
  return {
    registry,
    exposition: () => registry.metrics(),
    requests: new Counter({ name: 'vigil_http_requests_total', help: 'HTTP requests by route, method and status.', labelNames: ['route', 'method', 'status'], registers }),
    requestSeconds: new Histogram({
      name: 'vigil_http_request_duration_seconds',
      help: 'HTTP request latency by route.',
      labelNames: ['route'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    }),
    collects: new Counter({ name: 'vigil_collect_total', help: 'Collect requests by outcome (accepted, or the refusal code).', labelNames: ['outcome'], registers }),
    verdicts: new Counter({ name: 'vigil_verdicts_total', help: 'Verdicts issued.', labelNames: ['verdict'], registers }),
    reasons: new Counter({ name: 'vigil_verdict_reasons_total', help: 'Reason codes attached to verdicts.', labelNames: ['reason'], registers }),
    evidence: new Counter({
      name: 'vigil_evidence_total',
      help: 'Platform evidence in collects (app_attest, play_integrity, private_token, other) by status and reason.',
      labelNames: ['kind', 'status', 'reason'],
      registers,
    }),
    siteverify: new Counter({ name: 'vigil_siteverify_total', help: 'Siteverify calls by outcome (success, or the error code).', labelNames: ['outcome'], registers }),
    sdkFailures: new Counter({ name: 'vigil_sdk_failures_total', help: 'getToken failures reported by SDKs in pages, by code.', labelNames: ['code'], registers }),
    sdkFailuresDropped: new Counter({ name: 'vigil_sdk_failures_dropped_total', help: 'Failure reports pages dropped because their queue was full.', registers }),
    storeSeconds: new Histogram({
      name: 'vigil_store_operation_duration_seconds',
      help: 'Store operation latency.',
      labelNames: ['op'],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25],
      registers,
    }),
    checks: new Counter({
      name: 'vigil_collect_checks_total',
      help: "Collects' signature checks and trace analyses by where they ran: thread (a scoring thread) or inline (the request thread).",
      labelNames: ['where'],
      registers,
    }),
    scoringErrors: new Counter({ name: 'vigil_scoring_thread_errors_total', help: 'Scoring threads that failed to start or died; their checks ran on the request thread.', registers }),
  }
}

/** Times a store call into the store histogram. */
export async function timed<T>(metrics: Metrics, op: string, fn: () => Promise<T>): Promise<T> {
  const end = metrics.storeSeconds.startTimer({ op })
  try {
    return await fn()
  } finally {
    end()
  }
}

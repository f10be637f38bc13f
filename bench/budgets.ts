/** The performance and size budgets (issue: SDK signals). CI enforces the sizes in test/e2e/size-budget.test.ts. */
export const BUDGETS = {
  /** Core IIFE bundle, gzip, everything but lazily loaded chunks. */
  coreGzipBytes: 36 * 1024,
  /** Lazily loaded classifier chunk, gzip, weights included. */
  classifierGzipBytes: 50 * 1024,
  /** Classifier inference in Chromium (tfjs-core), per trace. */
  classifierInferenceMs: 1,
  /** No long task (≥ 50 ms) attributable to the SDK on the demo page. */
  sdkLongTasks: 0,
  /** Recorder cost per event, median. */
  recorderMicrosPerEvent: 2,
  /** getToken on a page open ≥ 2 s, p50, against the local collector. */
  getTokenP50Ms: 60,
} as const

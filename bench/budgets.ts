/**
 * The performance and size budgets. Sizes are checked on every CI run
 * (test/e2e/size-budget.test.ts); speeds are benchmarks (npm run bench).
 *
 * Size budgets sit about 10% above what each entry weighs today, so that a regression
 * fails the run: raise one only with the change that needs it, and say why in its commit.
 */
export const BUDGETS = {
  /**
   * Core IIFE bundle (dist/browser/vigil.min.js), gzip: everything but the lazy chunks.
   * Today 22.3 KB: 16.5 KB before the challenge-bound proof, whose proof-of-work worker (inlined
   * as a string) and page fallback came to 3.2 KB, 0.5 KB of FingerprintJS's MIT notice, and
   * 0.8 KB for pages that break the platform (docs/decisions.md).
   */
  coreGzipBytes: 24.5 * 1024,
  /** The ESM build as a bundler ships it (esbuild, minified; lazy chunks left out), gzip. Today 23.7 KB. */
  esmGzipBytes: 26 * 1024,
  /** Lazy tweetnacl chunk (loaded only where WebCrypto has no Ed25519), gzip. Today 10.9 KB. */
  naclGzipBytes: 12 * 1024,
  /** Lazily loaded classifier chunk, gzip, weights included. Today 43.9 KB (with tfjs's and seedrandom's notices). */
  classifierGzipBytes: 47.5 * 1024,
  /** Classifier inference in Chromium (tfjs-core), per trace. */
  classifierInferenceMs: 1,
  /** No long task (≥ 50 ms) attributable to the SDK on the demo page. */
  sdkLongTasks: 0,
  /** Recorder cost per event, median. */
  recorderMicrosPerEvent: 2,
  /** Proof of work at the default difficulty for a first-time device, in a Chromium worker, p50. */
  powSolveP50Ms: 300,
  /** getToken on a page open ≥ 2 s, p50, against the local collector. */
  getTokenP50Ms: 60,
} as const

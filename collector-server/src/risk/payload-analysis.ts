/**
 * Everything the collector concludes from a payload alone, given the terms of the
 * challenge it answers: the signal detectors' findings, whether the signals an SDK always
 * sends are there, the challenge-bound proof (proof.ts), the input-pipeline evidence, and
 * the trace's analysis (trace-analysis.ts). None of it depends on the request, the store
 * or the clock, so it can run on a scoring thread (scoring-pool.ts) while the request's
 * store calls go on; evaluate.ts adds what the request and the store say. Its result is
 * plain data that crosses a thread's boundary as it is.
 */
import { detectInjectedInput, runDetectors, type Detection, type Environment } from '@vigil-risk/core/detectors'
import { missingSignals } from '@vigil-risk/core/protocol/signals'
import type { CollectPayload } from '@vigil-risk/core/protocol/schema'
import { checkProof, type ProofCheck, type ProofTerms } from './proof'
import { analyseTrace, type TraceAnalysis } from './trace-analysis'

export type { ProofTerms } from './proof'

export interface PayloadAnalysis {
  environment: Environment
  /** The signal detectors' findings, then the signals an SDK always sends that are missing (tampering). */
  signals: Detection[]
  proof: ProofCheck
  /** Pointer input injected through automation interfaces (input-pipeline evidence). */
  input: Detection[]
  trace: TraceAnalysis
}

export function analysePayload(payload: CollectPayload, terms: ProofTerms): PayloadAnalysis {
  const { environment, detections } = runDetectors(payload.signals)
  const missing = missingSignals(payload.signals)
  if (missing.length > 0) detections.push({ code: 'tampering', detector: 'completeness', detail: `signals the SDK always sends are missing: ${missing.slice(0, 4).join(', ')}` })
  const userAgent = payload.signals['userAgent'] as { value?: { platform?: unknown } } | undefined
  const platform = typeof userAgent?.value?.platform === 'string' ? userAgent.value.platform : null
  return {
    environment,
    signals: detections,
    proof: checkProof(payload, terms),
    input: detectInjectedInput(payload.behavior?.input, environment, platform),
    trace: analyseTrace(payload.behavior),
  }
}

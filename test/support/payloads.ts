/**
 * Realistic payload parts, as the SDK sends them: signals captured from real browsers
 * (test/fixtures/signals) and a human pointer trace (test/fixtures/traces/golden.jsonl).
 * For the benchmarks, the fuzz and any test that needs a body shaped like production's.
 */
import { readFileSync } from 'node:fs'
import { compactTrace, type TraceEvent } from '@vigil-risk/core/protocol/trace'

export type CompactTrace = ReturnType<typeof compactTrace>

/** The `signals` object of a captured fixture (`chromium-plain`, `safari-ios`, …). */
export function capturedSignals(fixture = 'chromium-plain'): Record<string, unknown> {
  return (JSON.parse(readFileSync(`test/fixtures/signals/${fixture}.json`, 'utf8')) as { signals: Record<string, unknown> }).signals
}

/** The last `events` events of a human trace, compacted as the SDK sends it. */
export function humanTrace(events = 600): CompactTrace {
  const golden = readFileSync('test/fixtures/traces/golden.jsonl', 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: string; events: TraceEvent[] })
  return compactTrace(golden.find((g) => g.id === 'synthetic-humanizer')!.events.slice(-events))
}

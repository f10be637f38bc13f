import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import { extractFeatures, featureSchema, FEATURE_NAMES, FEATURE_COUNT, MODEL_FEATURES } from './index'
import { decodeModel, ModelSchemaError, type ModelArtifact } from '../classifier/model'
import type { TraceEvent } from '../protocol/trace'

const golden = JSON.parse(readFileSync('test/fixtures/traces/golden-features.json', 'utf8')) as {
  names: string[]
  traces: Record<string, { sufficient: boolean; vector: number[] }>
}
const goldenTraces = readFileSync('test/fixtures/traces/golden.jsonl', 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: string; events: TraceEvent[] })

describe('feature extraction', () => {
  it('matches the pinned golden vectors (train/serve skew guard)', () => {
    expect(golden.names).toEqual([...FEATURE_NAMES])
    expect(goldenTraces.length).toBeGreaterThanOrEqual(10)
    for (const trace of goldenTraces) {
      const f = extractFeatures(trace.events)
      const pinned = golden.traces[trace.id]!
      expect(f.sufficient, trace.id).toBe(pinned.sufficient)
      Array.from(f.vector).forEach((v, i) => expect(v, `${trace.id} ${FEATURE_NAMES[i]}`).toBeCloseTo(pinned.vector[i]!, 9))
    }
  })

  it('calls too little mouse behaviour insufficient, and touch-only traces touch_only', () => {
    expect(extractFeatures([]).sufficient).toBe(false)
    const few: TraceEvent[] = [0, 16, 33].map((t, i) => ({ type: 'mousemove', t, x: i * 5, y: 0 }))
    expect(extractFeatures(few)).toMatchObject({ sufficient: false, reason: 'too_few_mouse_events' })
    // Many events, hardly any movement: a hand resting on the mouse, not a bot.
    const twitches: TraceEvent[] = Array.from({ length: 40 }, (_, i) => ({ type: 'mousemove', t: i * 16, x: 100 + (i % 2), y: 200 }))
    expect(extractFeatures(twitches)).toMatchObject({ sufficient: false, reason: 'too_little_movement' })
    const touch: TraceEvent[] = [{ type: 'touchstart', t: 0, x: 1, y: 1 }, { type: 'touchmove', t: 16, x: 5, y: 5 }, { type: 'touchend', t: 40, x: 9, y: 9 }]
    expect(extractFeatures(touch)).toMatchObject({ sufficient: false, reason: 'touch_only' })
  })

  it('does not depend on where on the screen or when the trace happened', () => {
    for (const trace of goldenTraces.filter((t) => extractFeatures(t.events).sufficient)) {
      const moved = trace.events.map((e) => ({ ...e, t: e.t + 12345, ...(e.x !== undefined ? { x: e.x + 37, y: (e.y ?? 0) - 21 } : {}) }))
      const a = extractFeatures(trace.events).vector
      const b = extractFeatures(moved).vector
      Array.from(a).forEach((v, i) => expect(b[i], `${trace.id} ${FEATURE_NAMES[i]}`).toBeCloseTo(v, 6))
    }
  })

  it('never yields NaN or infinity, whatever the events (property)', () => {
    const event = fc.record({
      type: fc.constantFrom('mousemove', 'mousedown', 'mouseup', 'click', 'wheel', 'keydown', 'keyup', 'touchstart', 'touchmove', 'touchend'),
      dt: fc.double({ min: 0, max: 2000, noNaN: true }),
      x: fc.double({ min: -5000, max: 5000, noNaN: true }),
      y: fc.double({ min: -5000, max: 5000, noNaN: true }),
    })
    fc.assert(
      fc.property(fc.array(event, { maxLength: 300 }), (raw) => {
        let t = 0
        const events = raw.map((e) => ({ type: e.type, t: (t += e.dt), x: e.x, y: e.y, button: 0 })) as TraceEvent[]
        const f = extractFeatures(events)
        expect(f.vector).toHaveLength(FEATURE_COUNT)
        for (const v of f.vector) expect(Number.isFinite(v)).toBe(true)
      }),
      { numRuns: 300 },
    )
  })

  it('takes the least straightness of one straight stroke as it is, even a hair above 1 from rounding', () => {
    // 20 steps of (2, 3) px: each step rounds to a micro-pixel, so path < distance by a hair.
    const events: TraceEvent[] = Array.from({ length: 21 }, (_, i) => ({ type: 'mousemove' as const, t: i * 16, x: 100 + 2 * i, y: 100 + 3 * i }))
    const result = extractFeatures(events)
    expect(result.sufficient).toBe(true)
    const at = (name: string): number => result.vector[FEATURE_NAMES.indexOf(name as never)]!
    expect(at('straightness_min')).toBe(at('straightness_mean'))
    expect(at('straightness_min')).toBeGreaterThan(1)
  })

  it('keeps the model inputs to pointer features', () => {
    expect(MODEL_FEATURES.every((n) => !n.startsWith('key') && !n.startsWith('touch') && !n.startsWith('scroll'))).toBe(true)
  })
})

describe('the shipped model and the feature code', () => {
  it('agree: the model was trained on the features this code computes (else retrain)', () => {
    const artifact = JSON.parse(readFileSync('model/artifacts/classifier.json', 'utf8')) as ModelArtifact
    expect(artifact.featureSchema).toBe(featureSchema())
    expect(() => decodeModel(artifact)).not.toThrow()
    expect(() => decodeModel({ ...artifact, featureSchema: `v0:${FEATURE_NAMES.join(',')}` })).toThrow(ModelSchemaError)
  })
})

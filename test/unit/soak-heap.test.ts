/** The soak's heap budget (bench/suites/soak.ts floorGrowth): a leak fails it, a sawtooth does not. */
import { describe, expect, it } from 'vitest'
import { floorGrowth } from '../../bench/suites/soak'

/** Samples every 10 s for `minutes`, of a heap that climbs 25 → 100 MiB over `period` s and drops, on a floor rising `leak` MiB/min. */
function sawtooth(minutes: number, period: number, phase: number, leak: number): Array<{ t: number; heapUsedMiB: number }> {
  return Array.from({ length: minutes * 6 + 1 }, (_, i) => {
    const t = 15 + i * 10
    return { t, heapUsedMiB: 25 + (leak * (t - 15)) / 60 + 75 * (((t + phase) % period) / period) }
  })
}

describe('soak heap floor', () => {
  it('reads a sawtooth without a leak as no growth, whatever its phase', () => {
    for (const phase of [0, 7, 13, 21, 29]) expect(Math.abs(floorGrowth(sawtooth(3, 30, phase, 0)))).toBeLessThan(1)
  })

  it('reads a leak under the sawtooth as about its rate times the time between the windows', () => {
    for (const phase of [0, 13, 29]) {
      const growth = floorGrowth(sawtooth(3, 30, phase, 20))
      expect(growth).toBeGreaterThan(32) // over the soak's 32 MiB budget
      expect(growth).toBeLessThan(60)
    }
  })

  it('compares halves in a run under two minutes', () => {
    expect(floorGrowth(sawtooth(1, 30, 5, 0))).toBeCloseTo(0, 0)
    expect(floorGrowth([{ t: 0, heapUsedMiB: 10 }])).toBeNaN()
  })
})

import { describe, expect, it } from 'vitest'
import { backoffDelay, TELEMETRY_BASE_DELAY_MS, TELEMETRY_MAX_DELAY_MS } from './telemetry'

describe('failure-report backoff', () => {
  it('doubles from the base, with equal jitter (half fixed, half random)', () => {
    for (let n = 0; n < 6; n++) {
      const ceiling = TELEMETRY_BASE_DELAY_MS * 2 ** n
      expect(backoffDelay(n, 0)).toBe(ceiling / 2)
      expect(backoffDelay(n, 1)).toBe(ceiling)
      expect(backoffDelay(n, 0.5)).toBe(ceiling * 0.75)
    }
  })

  it('is capped, however long the collector stays down', () => {
    expect(backoffDelay(6, 1)).toBe(TELEMETRY_MAX_DELAY_MS)
    expect(backoffDelay(1000, 1)).toBe(TELEMETRY_MAX_DELAY_MS)
    expect(backoffDelay(1000, 0)).toBe(TELEMETRY_MAX_DELAY_MS / 2)
    expect(Number.isFinite(backoffDelay(Number.MAX_SAFE_INTEGER, 0.3))).toBe(true)
  })
})

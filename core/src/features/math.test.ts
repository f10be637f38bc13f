import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { median } from './math'

const sortedMedian = (xs: readonly number[]): number => {
  if (xs.length === 0) return 0
  const s = [...xs].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

describe('median', () => {
  it('is the middle of the sorted values, for odd and even lengths, ties and negatives', () => {
    expect(median([])).toBe(0)
    expect(median([3, 1, 2])).toBe(2)
    expect(median([4, 1, 3, 2])).toBe(2.5)
    expect(median([5, 5, 5, 1])).toBe(5)
    expect(median([-1, -3, 2])).toBe(-1)
  })

  it('agrees with sorting on any input', () => {
    const values = fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }), fc.integer({ min: -5, max: 5 }))
    fc.assert(fc.property(fc.array(values, { maxLength: 300 }), (xs) => {
      // Equal as numbers (0 and -0 are one value to every feature that reads a median).
      expect(median(xs) === sortedMedian(xs)).toBe(true)
    }), { numRuns: 3000 })
  })
})

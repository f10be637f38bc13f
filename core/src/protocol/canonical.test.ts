import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { canonicalize, CanonicalEncodingError, MAX_CANONICAL_DEPTH } from './canonical'

describe('canonicalize', () => {
  it('sorts keys at every level and drops whitespace', () => {
    expect(canonicalize({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}')
  })

  it('sorts by UTF-16 code units, as RFC 8785 does', () => {
    // "\u20ac" (€) sorts before "\ud83d\ude00" (😀) by code unit, and capitals before lowercase.
    expect(canonicalize({ '😀': 1, '€': 2, b: 3, B: 4, '': 5 })).toBe('{"":5,"B":4,"b":3,"€":2,"😀":1}')
  })

  it('uses the ECMAScript number and string forms', () => {
    expect(canonicalize([1e21, 1e-7, -0, 0.1 + 0.2, 5e-324, 100])).toBe('[1e+21,1e-7,0,0.30000000000000004,5e-324,100]')
    expect(canonicalize('a"b\\c\n\u0001\u2028')).toBe('"a\\"b\\\\c\\n\\u0001\u2028"')
  })

  it('treats undefined properties as absent, like the JSON that crosses the wire', () => {
    expect(canonicalize({ a: undefined, b: 1 })).toBe('{"b":1}')
  })

  it('refuses what JSON cannot carry', () => {
    expect(() => canonicalize(Number.NaN)).toThrow(CanonicalEncodingError)
    expect(() => canonicalize(Infinity)).toThrow(CanonicalEncodingError)
    expect(() => canonicalize([undefined])).toThrow(CanonicalEncodingError)
    expect(() => canonicalize(() => 1)).toThrow(CanonicalEncodingError)
    expect(() => canonicalize(10n)).toThrow(CanonicalEncodingError)
    expect(() => canonicalize(new Date(0))).toThrow(CanonicalEncodingError)
    expect(() => canonicalize(new Uint8Array(2))).toThrow(CanonicalEncodingError)
  })

  it('bounds nesting', () => {
    let deep: unknown = 1
    for (let i = 0; i < MAX_CANONICAL_DEPTH; i++) deep = [deep]
    expect(() => canonicalize(deep)).not.toThrow()
    expect(() => canonicalize([deep])).toThrow(/too deep/)
  })

  it('is stable across a JSON round trip and independent of key order (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (value) => {
        const once = canonicalize(value)
        expect(canonicalize(JSON.parse(once))).toBe(once)
        expect(JSON.parse(once)).toEqual(JSON.parse(JSON.stringify(value)))
        const shuffled: unknown = JSON.parse(JSON.stringify(value), (_k, v: unknown) =>
          v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).reverse()) : v,
        )
        expect(canonicalize(shuffled)).toBe(once)
      }),
      { numRuns: 500 },
    )
  })
})

describe('flat arrays', () => {
  it('encodes arrays of numbers or strings exactly as item by item', () => {
    const itemByItem = (xs: unknown[]): string => `[${xs.map((x) => canonicalize(x)).join(',')}]`
    for (const xs of [[], [0, -0, 1.5, -2e-7, 1e21, 123456789012345680000, 0.1 + 0.2], ['a', '\u2028', 'é', '"\\'], [1], ['x']]) {
      expect(canonicalize(xs)).toBe(itemByItem(xs))
    }
  })

  it('still refuses holes and non-finite numbers in them', () => {
    // eslint-disable-next-line no-sparse-arrays
    expect(() => canonicalize([1, , 2])).toThrow(CanonicalEncodingError)
    expect(() => canonicalize([1, Number.NaN])).toThrow(CanonicalEncodingError)
    expect(() => canonicalize([1, Infinity])).toThrow(CanonicalEncodingError)
    expect(canonicalize([1, 'a'])).toBe('[1,"a"]')
  })
})

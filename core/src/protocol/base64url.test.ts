import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { fromBase64url, toBase64url } from './base64url'

describe('base64url', () => {
  it('matches Node for any bytes and round-trips (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const text = toBase64url(bytes)
        expect(text).toBe(Buffer.from(bytes).toString('base64url'))
        expect(fromBase64url(text)).toEqual(bytes)
      }),
      { numRuns: 500 },
    )
  })

  it('refuses padding, foreign characters, impossible lengths and non-zero trailing bits', () => {
    expect(fromBase64url('AAAA=')).toBeNull()
    expect(fromBase64url('AA+A')).toBeNull()
    expect(fromBase64url('AAAAA')).toBeNull()
    expect(fromBase64url('AB')).toBeNull() // "AA" is the canonical form of [0]
    expect(fromBase64url('AA')).toEqual(new Uint8Array([0]))
    expect(fromBase64url('é')).toBeNull()
  })
})

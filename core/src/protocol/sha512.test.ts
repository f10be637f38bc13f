import { describe, expect, it } from 'vitest'
import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { sha512 } from './sha512'

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')
const ascii = (text: string): Uint8Array => new TextEncoder().encode(text)

describe('sha512', () => {
  it('gives the FIPS 180-2 examples', () => {
    expect(hex(sha512(ascii('abc')))).toBe(
      'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
    )
    expect(hex(sha512(ascii('abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu')))).toBe(
      '8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909',
    )
    expect(hex(sha512(new Uint8Array(0)))).toBe(
      'cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e',
    )
  })

  it('agrees with node:crypto on every length around the block and padding boundaries', () => {
    for (let n = 0; n <= 260; n++) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 31 + n) & 0xff)
      expect(hex(sha512(bytes)), `${n} bytes`).toBe(createHash('sha512').update(bytes).digest('hex'))
    }
  })

  it('agrees with node:crypto on random messages', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => hex(sha512(bytes)) === createHash('sha512').update(bytes).digest('hex')),
      { numRuns: 200 },
    )
  })
})

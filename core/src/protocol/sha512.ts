/**
 * SHA-512 (FIPS 180-4), synchronous and DOM- and Node-free: the verifier computes account
 * hashes with it on any runtime (WebCrypto's digest is asynchronous, and `accountHash` is not).
 * BigInt words: simple rather than fast (tens of microseconds for an account hash).
 *
 * The round constants and the initial hash are not transcribed: they are derived here as the
 * standard defines them (the first 64 bits of the fractional parts of the cube roots of the
 * first 80 primes, and of the square roots of the first 8), and sha512.test.ts checks the
 * result against the standard's examples and node:crypto.
 */

const MASK = (1n << 64n) - 1n

function firstPrimes(n: number): bigint[] {
  const out: bigint[] = []
  for (let c = 2; out.length < n; c++) if (out.every((p) => c % Number(p) !== 0)) out.push(BigInt(c))
  return out
}

/** floor(x^(1/k)) for x ≥ 0, by Newton's method from above. */
function integerRoot(x: bigint, k: bigint): bigint {
  if (x < 2n) return x
  let r = 1n << (BigInt(x.toString(2).length) / k + 1n)
  for (;;) {
    const next = ((k - 1n) * r + x / r ** (k - 1n)) / k
    if (next >= r) return r
    r = next
  }
}

let constants: { K: bigint[]; H0: bigint[] } | undefined
/** Derived on first use, so that importing this module does nothing. */
function derived(): { K: bigint[]; H0: bigint[] } {
  // The fractional part of root(p) to 64 bits is the low 64 bits of floor(root(p) · 2^64) = floor(root(p · 2^(64·k))).
  return (constants ??= {
    K: firstPrimes(80).map((p) => integerRoot(p << 192n, 3n) & MASK),
    H0: firstPrimes(8).map((p) => integerRoot(p << 128n, 2n) & MASK),
  })
}

const rotr = (x: bigint, n: bigint): bigint => ((x >> n) | (x << (64n - n))) & MASK

export function sha512(message: Uint8Array): Uint8Array {
  const { K, H0 } = derived()
  // Padding: 0x80, zeros, then the length in bits as a 128-bit big-endian number.
  const blocks = Math.ceil((message.length + 17) / 128)
  const padded = new Uint8Array(blocks * 128)
  padded.set(message)
  padded[message.length] = 0x80
  let bits = BigInt(message.length) * 8n
  for (let i = padded.length - 1; bits > 0n; i--, bits >>= 8n) padded[i] = Number(bits & 0xffn)

  const h = [...H0]
  const w = new Array<bigint>(80)
  for (let b = 0; b < blocks; b++) {
    for (let t = 0; t < 16; t++) {
      let word = 0n
      for (let j = 0; j < 8; j++) word = (word << 8n) | BigInt(padded[b * 128 + t * 8 + j]!)
      w[t] = word
    }
    for (let t = 16; t < 80; t++) {
      const x = w[t - 15]!
      const y = w[t - 2]!
      const s0 = rotr(x, 1n) ^ rotr(x, 8n) ^ (x >> 7n)
      const s1 = rotr(y, 19n) ^ rotr(y, 61n) ^ (y >> 6n)
      w[t] = (w[t - 16]! + s0 + w[t - 7]! + s1) & MASK
    }
    let [a, bb, c, d, e, f, g, hh] = h as [bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint]
    for (let t = 0; t < 80; t++) {
      const t1 = (hh + (rotr(e, 14n) ^ rotr(e, 18n) ^ rotr(e, 41n)) + ((e & f) ^ (~e & MASK & g)) + K[t]! + w[t]!) & MASK
      const t2 = ((rotr(a, 28n) ^ rotr(a, 34n) ^ rotr(a, 39n)) + ((a & bb) ^ (a & c) ^ (bb & c))) & MASK
      hh = g
      g = f
      f = e
      e = (d + t1) & MASK
      d = c
      c = bb
      bb = a
      a = (t1 + t2) & MASK
    }
    const sums = [a, bb, c, d, e, f, g, hh]
    for (let i = 0; i < 8; i++) h[i] = (h[i]! + sums[i]!) & MASK
  }

  const out = new Uint8Array(64)
  h.forEach((word, i) => {
    for (let j = 7; j >= 0; j--, word >>= 8n) out[i * 8 + j] = Number(word & 0xffn)
  })
  return out
}

/**
 * Proof of work, bound to one challenge. The collector names a difficulty d (bits) in the
 * challenge; the SDK finds an 8-byte nonce such that
 *
 *   SHA-256( SHA-256("vigil/pow/v1\n" ‖ challenge) ‖ nonce )
 *
 * starts with d zero bits, and signs the nonce inside the payload. The collector checks it
 * with one hash. The inner digest makes every attempt a single 64-byte SHA-256 block, and
 * its first eight rounds depend only on the digest, so a solver computes them once.
 * DOM- and Node-free: the SDK's worker runs it; tests and tools may too.
 */

export const POW_CONTEXT = 'vigil/pow/v1\n'
/** Nonces are 8 bytes on the wire (base64url, 11 characters). */
export const POW_NONCE_BYTES = 8
/** The most bits a challenge may ask for: about 2^24 hashes, seconds on a phone. */
export const POW_MAX_BITS = 24

const K = /* @__PURE__ */ Uint32Array.from([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
  0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
  0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
])
const IV = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]

const rotr = (x: number, n: number): number => (x >>> n) | (x << (32 - n))

/**
 * Runs rounds `from` … `to` − 1 of the compression of block `w` (already expanded up to
 * `from`) on the working state `s` (8 words, modified), expanding the schedule as it goes.
 */
function rounds(s: Uint32Array, w: Uint32Array, from: number, to = 64): void {
  let [a, b, c, d, e, f, g, h] = s as unknown as [number, number, number, number, number, number, number, number]
  for (let i = from; i < to; i++) {
    if (i >= 16) {
      const x = w[i - 15]!
      const y = w[i - 2]!
      w[i] = (w[i - 16]! + (rotr(x, 7) ^ rotr(x, 18) ^ (x >>> 3)) + w[i - 7]! + (rotr(y, 17) ^ rotr(y, 19) ^ (y >>> 10))) | 0
    }
    const t1 = (h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i]! + w[i]!) | 0
    const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0
    h = g
    g = f
    f = e
    e = (d + t1) | 0
    d = c
    c = b
    b = a
    a = (t1 + t2) | 0
  }
  s[0] = a
  s[1] = b
  s[2] = c
  s[3] = d
  s[4] = e
  s[5] = f
  s[6] = g
  s[7] = h
}

/** SHA-256 of `data` (for the challenge digest; small inputs). */
export function sha256(data: Uint8Array): Uint8Array {
  const blocks = Math.ceil((data.length + 9) / 64)
  const padded = new Uint8Array(blocks * 64)
  padded.set(data)
  padded[data.length] = 0x80
  const bits = data.length * 8
  const view = new DataView(padded.buffer)
  view.setUint32(padded.length - 8, Math.floor(bits / 2 ** 32))
  view.setUint32(padded.length - 4, bits >>> 0)
  const state = Uint32Array.from(IV)
  const w = new Uint32Array(64)
  const s = new Uint32Array(8)
  for (let b = 0; b < blocks; b++) {
    for (let i = 0; i < 16; i++) w[i] = view.getUint32(b * 64 + i * 4)
    s.set(state)
    rounds(s, w, 0)
    for (let i = 0; i < 8; i++) state[i] = (state[i]! + s[i]!) | 0
  }
  const out = new Uint8Array(32)
  const outView = new DataView(out.buffer)
  for (let i = 0; i < 8; i++) outView.setUint32(i * 4, state[i]!)
  return out
}

/** The UTF-8 bytes whose SHA-256 is the challenge digest (the challenge is ASCII). */
export function powDigestInput(challenge: string): Uint8Array {
  const text = POW_CONTEXT + challenge
  const out = new Uint8Array(text.length)
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff
  return out
}

/** The bytes of one attempt: digest ‖ nonce (big-endian hi, lo). */
export function powAttempt(digest: Uint8Array, hi: number, lo: number): Uint8Array {
  const out = new Uint8Array(32 + POW_NONCE_BYTES)
  out.set(digest)
  const view = new DataView(out.buffer)
  view.setUint32(32, hi >>> 0)
  view.setUint32(36, lo >>> 0)
  return out
}

/** How many leading zero bits `hash` has. */
export function leadingZeroBits(hash: Uint8Array): number {
  let bits = 0
  for (const byte of hash) {
    if (byte === 0) {
      bits += 8
      continue
    }
    return bits + Math.clz32(byte) - 24
  }
  return bits
}

/**
 * Searches nonces lo = start, start + 1, … (hi = `hi`) for at most `attempts` attempts;
 * returns the first lo whose attempt hash has `difficulty` leading zero bits, or -1.
 * Callers slice a search into chunks to stay off long tasks.
 */
export function searchPow(digest: Uint8Array, difficulty: number, hi: number, start: number, attempts: number): number {
  const view = new DataView(digest.buffer, digest.byteOffset, 32)
  const w = new Uint32Array(64)
  for (let i = 0; i < 8; i++) w[i] = view.getUint32(i * 4)
  w[8] = hi >>> 0
  w[10] = 0x80000000
  w[15] = (32 + POW_NONCE_BYTES) * 8
  // Rounds 0–7 read only the digest: their state is the same for every nonce.
  const mid = Uint32Array.from(IV)
  rounds(mid, w, 0, 8)
  const s = new Uint32Array(8)
  const full = Math.min(32, difficulty)
  const mask = full === 0 ? 0 : full === 32 ? 0xffffffff : ~(0xffffffff >>> full) >>> 0
  for (let n = 0; n < attempts; n++) {
    const lo = (start + n) >>> 0
    w[9] = lo
    s.set(mid)
    rounds(s, w, 8)
    const h0 = (IV[0]! + s[0]!) >>> 0
    if ((h0 & mask) !== 0) continue
    if (difficulty <= 32) return lo
    // Beyond 32 bits (never asked for: POW_MAX_BITS), check the rest the slow way.
    if (leadingZeroBits(sha256(powAttempt(digest, hi, lo))) >= difficulty) return lo
  }
  return -1
}

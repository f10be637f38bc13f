/**
 * Challenge answers as an honest SDK computes them, for payloads built in Node: the proof
 * of work (searched with core's solver) and the probes (text metrics from a fixed, plausible
 * glyph table that adds up as a browser's do; time zone offsets from Node's own Intl). Not a
 * browser: the collector cannot tell these from one, which is exactly what
 * docs/protocol.md says a forger who reads the code can do.
 */
import { randomInt } from 'node:crypto'
import { fromBase64url, toBase64url } from '@vigil-risk/core/protocol/base64url'
import { POW_NONCE_BYTES, powDigestInput, searchPow, sha256 } from '@vigil-risk/core/protocol/pow'
import { probePlan } from '@vigil-risk/core/protocol/probes'
import type { Proof } from '@vigil-risk/core/protocol/schema'

interface ChallengeTerms {
  seed: string
  difficulty: number
  probes: string[]
}

/** The terms inside a challenge string (its body is base64url JSON); null for anything else. */
export function challengeTerms(challenge: string): ChallengeTerms | null {
  const bytes = fromBase64url(challenge.split('.')[0] ?? '')
  if (!bytes) return null
  try {
    const { n, d, p } = JSON.parse(Buffer.from(bytes).toString('utf8')) as { n?: unknown; d?: unknown; p?: unknown }
    if (typeof n !== 'string' || typeof d !== 'number' || !Array.isArray(p)) return null
    return { seed: n, difficulty: d, probes: p as string[] }
  } catch {
    return null
  }
}

/** A glyph's width in this fake device's fonts (plausible, and the same every time). */
const glyphWidth = (glyph: string): number => 6 + (glyph.charCodeAt(0) % 9) * 0.75
const MONO_ADVANCE = 9.6328125

/** The nonce: SHA-256(SHA-256(context ‖ challenge) ‖ nonce) starts with `difficulty` zero bits. */
export function solvePow(challenge: string, difficulty: number): string {
  const digest = sha256(powDigestInput(challenge))
  const hi = randomInt(2 ** 32)
  let lo = -1
  for (let start = 0; lo < 0; start += 1 << 16) lo = searchPow(digest, difficulty, hi, start, 1 << 16)
  const nonce = Buffer.alloc(POW_NONCE_BYTES)
  nonce.writeUInt32BE(hi, 0)
  nonce.writeUInt32BE(lo >>> 0, 4)
  return toBase64url(nonce)
}

/** Date.getTimezoneOffset() in `zone` at `instant`, as a browser in that zone reports it. */
function offsetIn(zone: string, instant: number): number {
  const name = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' }).formatToParts(instant).find((p) => p.type === 'timeZoneName')!.value
  const m = /^GMT([+-])(\d{2}):(\d{2})$/.exec(name)
  if (!m) return 0
  const minutes = Number(m[2]) * 60 + Number(m[3])
  return m[1] === '+' ? -minutes : minutes
}

/** Answers to the challenge's proof of work and probes; `zone` is the page's IANA zone, if it reports one. */
export function answerChallenge(challenge: string, zone?: string): Proof | undefined {
  const terms = challengeTerms(challenge)
  const plan = terms && probePlan(terms.seed)
  if (!terms || !plan) return undefined
  const proof: Proof = {}
  if (terms.difficulty > 0) proof.pow = { n: solvePow(challenge, terms.difficulty) }
  if (terms.probes.includes('text')) {
    const sum = (text: string): number => [...text].reduce((a, ch) => a + glyphWidth(ch), 0)
    proof.text = { g: plan.text.glyphs.map(glyphWidth), s: plan.text.strings.map(sum), m: plan.text.strings.map((s) => s.length * MONO_ADVANCE) }
  }
  if (terms.probes.includes('tz')) proof.tz = zone ? { o: plan.tz.map((t) => offsetIn(zone, t)) } : { e: 'no_zone' }
  return proof
}

/** The signals an SDK sends at every getToken (core/src/protocol/signals.ts TOKEN_SIGNALS), nothing attached. */
export const TOKEN_SIGNALS = {
  cdpAtToken: { value: { nameReads: 1 }, duration: 0.1 },
  callStack: { value: [], duration: 0 },
}

/**
 * The request headers the browser that produced `signals` sends with a collect from a page
 * on a secure origin (client hints, fetch metadata), for payloads built from captured signals.
 */
export function browserHeaders(signals: Record<string, unknown>): Record<string, string> {
  const ua = (signals['userAgent'] as { value?: { ua?: string; brands?: string[] | null; mobile?: boolean | null; uaPlatform?: string | null } } | undefined)?.value
  const languages = (signals['hardware'] as { value?: { languages?: string[] } } | undefined)?.value?.languages ?? []
  const headers: Record<string, string> = { 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty', 'sec-fetch-site': 'same-origin' }
  if (ua?.ua) headers['user-agent'] = ua.ua
  if (languages.length > 0) headers['accept-language'] = languages.map((l, i) => (i === 0 ? l : `${l};q=${(1 - i / 10).toFixed(1)}`)).join(',')
  if (ua?.brands) {
    headers['sec-ch-ua'] = ua.brands.map((b) => `"${b.slice(0, b.lastIndexOf('/'))}";v="${b.slice(b.lastIndexOf('/') + 1)}"`).join(', ')
    headers['sec-ch-ua-mobile'] = ua.mobile ? '?1' : '?0'
    if (ua.uaPlatform) headers['sec-ch-ua-platform'] = `"${ua.uaPlatform}"`
  }
  return headers
}

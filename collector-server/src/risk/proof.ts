/**
 * Challenge-bound proof (core/src/protocol/probes.ts, pow.ts): the proof of work and the
 * probe answers in a payload, checked against the challenge they claim to answer. What can
 * be checked without a reference browser is: that the work was done for this challenge;
 * that every requested probe was answered, for this challenge's plan, consistently (strings
 * measure as the sum of their glyphs, monospace strings as length × one advance, sizes are
 * plausible, offsets are the claimed time zone's); and, in the collect route, that a
 * device's glyphs keep their widths. Anything else a forger who reads this code can
 * compute: docs/protocol.md says what remains.
 */
import { createHash } from 'node:crypto'
import { fromBase64url } from '@vigil-risk/core/protocol/base64url'
import { POW_NONCE_BYTES, leadingZeroBits, powDigestInput } from '@vigil-risk/core/protocol/pow'
import { probePlan, type ProbePlan } from '@vigil-risk/core/protocol/probes'
import type { CollectPayload, Proof } from '@vigil-risk/core/protocol/schema'
import type { Detection } from '@vigil-risk/core/detectors'
import type { Challenge } from '../verify/challenge'

type PowStatus = 'not_asked' | 'solved' | 'failed'
/** verified: checked and consistent; unanswered: not answered, or nothing to check it against; mismatch: inconsistent. */
type ProbeStatus = 'verified' | 'unanswered' | 'mismatch'

export interface ProofCheck {
  pow: PowStatus
  probes: Partial<Record<'text' | 'tz', ProbeStatus>>
  detections: Detection[]
  /** Glyph widths this payload reports (`font/glyph` → width), for the device's memory. */
  glyphs: Record<string, number>
}

/** Strings must measure as the sum of their glyphs within this (px), plus a share of their width. */
const ADDITIVE_TOLERANCE_PX = 0.05
const ADDITIVE_TOLERANCE_SHARE = 0.002
/** Monospace advances may differ by this much between strings (px). */
const MONO_TOLERANCE_PX = 0.02
/** A device's glyph may differ from its earlier answer by this much (float noise only). */
const MEMORY_TOLERANCE_PX = 0.001

/** The nonce's work over this challenge reaches `difficulty` leading zero bits. */
export function powSolved(challenge: string, nonce: string, difficulty: number): boolean {
  const bytes = fromBase64url(nonce)
  if (!bytes || bytes.length !== POW_NONCE_BYTES) return false
  const digest = createHash('sha256').update(powDigestInput(challenge)).digest()
  return leadingZeroBits(createHash('sha256').update(digest).update(bytes).digest()) >= difficulty
}

/** A measured answer (an `{ e }` one is unanswered before it gets here). */
type TextAnswer = Exclude<NonNullable<Proof['text']>, { e: string }>

function checkText(plan: ProbePlan['text'], answer: TextAnswer, glyphs: Record<string, number>): string | null {
  const width = new Map(plan.glyphs.map((g, i) => [g, answer.g[i]!]))
  for (const w of answer.g) if (!(w > 0 && w < 40)) return `glyph width ${w} px is implausible at 16 px`
  for (let i = 0; i < plan.strings.length; i++) {
    const text = plan.strings[i]!
    let sum = 0
    for (const ch of text) sum += width.get(ch)!
    const measured = answer.s[i]!
    if (Math.abs(measured - sum) > ADDITIVE_TOLERANCE_PX + ADDITIVE_TOLERANCE_SHARE * sum) {
      return `"${text}" measures ${measured} px, its glyphs add up to ${sum.toFixed(3)} px`
    }
  }
  const advances = answer.m.map((m, i) => m / plan.strings[i]!.length)
  const lo = Math.min(...advances)
  const hi = Math.max(...advances)
  if (hi - lo > MONO_TOLERANCE_PX || !(lo >= 4 && hi <= 16)) return `monospace advances ${advances.map((a) => a.toFixed(3)).join(', ')} px are not one plausible advance`
  plan.glyphs.forEach((g, i) => (glyphs[`${plan.font}/${g}`] = answer.g[i]!))
  glyphs[`${plan.mono}/advance`] = Math.round(((lo + hi) / 2) * 1e4) / 1e4
  return null
}

/**
 * One formatter per zone: building an Intl.DateTimeFormat costs far more than using one (it
 * was a tenth of a collect's CPU). The zone is the page's claim, so the cache is bounded:
 * there are about 600 IANA zones, and an unknown one is remembered as null.
 */
const FORMATTERS = new Map<string, Intl.DateTimeFormat | null>()
const MAX_FORMATTERS = 1024

function formatterFor(zone: string): Intl.DateTimeFormat | null {
  let formatter = FORMATTERS.get(zone)
  if (formatter === undefined) {
    try {
      formatter = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' })
    } catch {
      formatter = null
    }
    if (FORMATTERS.size >= MAX_FORMATTERS) FORMATTERS.clear()
    FORMATTERS.set(zone, formatter)
  }
  return formatter
}

/** Date's UTC offset (getTimezoneOffset minutes) in `zone` at `instant`; null if this runtime does not know the zone. */
function offsetIn(zone: string, instant: number): number | null {
  const name = formatterFor(zone)?.formatToParts(instant).find((p) => p.type === 'timeZoneName')?.value
  if (name === 'GMT') return 0
  const m = /^GMT([+-])(\d{2}):(\d{2})$/.exec(name ?? '')
  if (!m) return null
  const minutes = Number(m[2]) * 60 + Number(m[3])
  return m[1] === '+' ? -minutes : minutes
}

/**
 * The offsets against the page's zone: a problem, null when they fit it, or `unchecked`
 * without a zone this runtime knows (then any offsets would pass: they prove nothing).
 */
function checkTz(plan: ProbePlan['tz'], answer: { o: number[] }, zone: unknown): string | null | typeof UNCHECKED {
  if (typeof zone !== 'string' || zone.length === 0 || zone.length > 64) return UNCHECKED
  for (let i = 0; i < plan.length; i++) {
    const expected = offsetIn(zone, plan[i]!)
    if (expected === null) return UNCHECKED
    if (answer.o[i] !== expected) return `UTC offset ${answer.o[i]} at ${new Date(plan[i]!).toISOString()} is not ${zone}'s (${expected})`
  }
  return null
}
const UNCHECKED = Symbol('unchecked')

/** The page's IANA zone, as its Web Worker reported it (signals.worker.value.zone). */
function claimedZone(payload: CollectPayload): unknown {
  const worker = payload.signals['worker'] as { value?: { zone?: unknown } } | undefined
  return worker && typeof worker === 'object' ? worker.value?.zone : undefined
}

/** What the proof is checked against: the challenge's seed, its work and its probes. */
export type ProofTerms = Pick<Challenge, 'nonce' | 'difficulty' | 'probes'>

/** The payload's proof against its challenge's terms. */
export function checkProof(payload: CollectPayload, challenge: ProofTerms): ProofCheck {
  const proof = payload.proof ?? {}
  const detections: Detection[] = []
  const glyphs: Record<string, number> = {}
  let pow: PowStatus = 'not_asked'
  if (challenge.difficulty > 0) {
    pow = proof.pow && powSolved(payload.challenge, proof.pow.n, challenge.difficulty) ? 'solved' : 'failed'
    if (pow === 'failed') detections.push({ code: 'proof_of_work_failed', detector: 'pow', detail: proof.pow ? `the work does not reach ${challenge.difficulty} bits` : 'no proof of work' })
  }
  const probes: ProofCheck['probes'] = {}
  const plan = probePlan(challenge.nonce)
  for (const probe of challenge.probes) {
    const answer = proof[probe]
    let problem: string | null | typeof UNCHECKED
    if (!plan) problem = 'the challenge has no plan'
    else if (!answer) problem = `no answer to the ${probe} probe`
    else if ('e' in answer) problem = UNCHECKED
    else problem = probe === 'text' ? checkText(plan.text, answer as TextAnswer, glyphs) : checkTz(plan.tz, answer as { o: number[] }, claimedZone(payload))
    if (problem === UNCHECKED) {
      probes[probe] = 'unanswered'
      continue
    }
    probes[probe] = problem ? 'mismatch' : 'verified'
    if (problem) detections.push({ code: 'probe_mismatch', detector: `probe:${probe}`, detail: problem })
  }
  return { pow, probes, detections, glyphs }
}

/** Compares this answer's glyphs with the device's earlier ones (from the store). */
export function checkGlyphMemory(observed: Readonly<Record<string, number>>, known: Readonly<Record<string, number>>): Detection | null {
  for (const [glyph, width] of Object.entries(known)) {
    const now = observed[glyph]
    if (now !== undefined && Math.abs(now - width) > MEMORY_TOLERANCE_PX) {
      return { code: 'probe_mismatch', detector: 'probe:text', detail: `${glyph} measured ${now} px, ${width} px on this device before` }
    }
  }
  return null
}

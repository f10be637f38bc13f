/**
 * Challenge-bound probes: every challenge carries a fresh seed and the probes the collector
 * asks for; the SDK answers them in a real engine and signs the answers in the payload.
 * The plan (which characters, strings and instants) derives from the seed alone, so the
 * SDK and the collector derive the same plan, and answers to another challenge's plan do
 * not fit this one. What a forger has to emulate, and what the collector can and cannot
 * check without a reference browser: docs/protocol.md, "Challenge-bound proof".
 *
 *  text  canvas text metrics (fontKerning off) of seed-chosen glyphs and strings in a
 *        seed-chosen generic family, and of the same strings in monospace. Checked:
 *        strings measure as the sum of their glyphs, monospace strings as length × one
 *        advance, plausible sizes, and a device's glyphs never change width.
 *  tz    Date's UTC offset at seed-chosen instants. Checked against the IANA zone the
 *        page reports (the offsets a time zone database gives for those instants).
 */
import { fromBase64url } from './base64url'

export const PROBE_NAMES = ['text', 'tz'] as const
export type ProbeName = (typeof PROBE_NAMES)[number]

/** The seed is 16 bytes, base64url. */
export const PROBE_SEED_BYTES = 16

/**
 * Glyphs the text probe chooses from. Kerning is off; `f` is left out because fonts join it
 * with its neighbours (the fi, fl, ff ligatures), which a canvas cannot turn off everywhere.
 */
export const TEXT_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdeghijklmnopqrstuvwxyz0123456789'
export const TEXT_FAMILIES = ['sans-serif', 'serif'] as const
export const TEXT_SIZE_PX = 16
export const TEXT_GLYPHS = 16
export const TEXT_STRINGS = 3
export const TZ_INSTANTS = 4
/** Instants fall in 2010–2025, where time zone databases of every age agree. */
const TZ_FROM = Date.UTC(2010, 0, 1)
const TZ_TO = Date.UTC(2026, 0, 1)

export interface TextPlan {
  /** e.g. `16px serif`. */
  font: string
  mono: string
  glyphs: string[]
  strings: string[]
}

export interface ProbePlan {
  text: TextPlan
  /** Epoch ms, whole minutes. */
  tz: number[]
}

/** xorshift128 over the seed's four words: small, and the same in every engine. */
function generator(seed: Uint8Array): () => number {
  const s = new Uint32Array(4)
  for (let i = 0; i < 16; i++) s[i >> 2] = (s[i >> 2]! << 8) | (seed[i] ?? 0)
  if ((s[0]! | s[1]! | s[2]! | s[3]!) === 0) s[0] = 1
  return () => {
    let t = s[3]!
    const u = s[0]!
    s[3] = s[2]!
    s[2] = s[1]!
    s[1] = u
    t ^= t << 11
    t ^= t >>> 8
    s[0] = (t ^ u ^ (u >>> 19)) >>> 0
    return s[0] / 4294967296
  }
}

/** The plan for a seed (base64url); null when the seed is not PROBE_SEED_BYTES of base64url. */
export function probePlan(seed: string): ProbePlan | null {
  const bytes = fromBase64url(seed)
  if (!bytes || bytes.length !== PROBE_SEED_BYTES) return null
  const next = generator(bytes)
  const int = (n: number): number => Math.floor(next() * n)
  const family = TEXT_FAMILIES[int(TEXT_FAMILIES.length)]!
  const pool = TEXT_ALPHABET.split('')
  const glyphs: string[] = []
  while (glyphs.length < TEXT_GLYPHS) glyphs.push(pool.splice(int(pool.length), 1)[0]!)
  const strings: string[] = []
  for (let i = 0; i < TEXT_STRINGS; i++) {
    let text = ''
    const length = 6 + int(5)
    for (let j = 0; j < length; j++) text += glyphs[int(glyphs.length)]!
    strings.push(text)
  }
  const tz: number[] = []
  for (let i = 0; i < TZ_INSTANTS; i++) tz.push(TZ_FROM + Math.floor(next() * ((TZ_TO - TZ_FROM) / 60_000)) * 60_000)
  return { text: { font: `${TEXT_SIZE_PX}px ${family}`, mono: `${TEXT_SIZE_PX}px monospace`, glyphs, strings }, tz }
}

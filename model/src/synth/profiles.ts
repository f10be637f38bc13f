/**
 * A second generative bot fitted to the training people, at the level of whole movements:
 * it learns each aimed movement's progress curve (how far along at each tenth of its time),
 * its sideways bow and its duration against its length, as twenty-point profiles, and
 * generates new movements by drawing a person's profile of a similar length, retargeting it
 * and re-sampling it at a person's intervals. What it draws is smooth where a hand is not:
 * the fine tremor and pixel-level corrections between profile points are gone, as they are
 * from trajectories that GANs and other sequence models generate.
 */
import type { TraceEvent } from '@vigil-risk/core/protocol/trace'
import type { Session } from '../data'
import type { Rng } from '../rng'

const POINTS = 20

interface Profile {
  length: number
  duration: number
  /** Progress along the line to the end point at each twentieth of the duration, 0 → 1. */
  along: number[]
  /** Sideways offset, as a fraction of the length, at the same instants. */
  side: number[]
}

export interface ProfileModel {
  /** Sorted by length. */
  profiles: Profile[]
  dts: number[]
  dwells: number[]
  thinks: number[]
}

function profileOf(stroke: readonly TraceEvent[]): Profile | null {
  const a = stroke[0]!
  const b = stroke[stroke.length - 1]!
  const length = Math.hypot(b.x! - a.x!, b.y! - a.y!)
  const duration = b.t - a.t
  if (length < 40 || duration < 80 || stroke.length < 6) return null
  const ux = (b.x! - a.x!) / length
  const uy = (b.y! - a.y!) / length
  const along: number[] = []
  const side: number[] = []
  let j = 0
  for (let k = 0; k <= POINTS; k++) {
    const t = a.t + (duration * k) / POINTS
    while (j + 1 < stroke.length - 1 && stroke[j + 1]!.t < t) j++
    const p = stroke[j]!
    const q = stroke[j + 1]!
    const u = q.t > p.t ? Math.min(1, Math.max(0, (t - p.t) / (q.t - p.t))) : 1
    const x = p.x! + (q.x! - p.x!) * u - a.x!
    const y = p.y! + (q.y! - p.y!) * u - a.y!
    along.push((x * ux + y * uy) / length)
    side.push((-x * uy + y * ux) / length)
  }
  return { length, duration, along, side }
}

export function fitProfiles(humans: readonly Session[]): ProfileModel {
  const profiles: Profile[] = []
  const dts: number[] = []
  const dwells: number[] = []
  const thinks: number[] = []
  for (const s of humans) {
    if (s.whole) continue
    let stroke: TraceEvent[] = []
    let down: TraceEvent | null = null
    let up: TraceEvent | null = null
    const flush = (): void => {
      const p = stroke.length > 0 ? profileOf(stroke) : null
      if (p) profiles.push(p)
      stroke = []
    }
    for (const e of s.events) {
      if (e.type === 'mousemove') {
        const prev = stroke[stroke.length - 1]
        if (prev) {
          if (e.t - prev.t > 250) {
            flush()
            if (up && e.t - up.t < 10_000) thinks.push(e.t - up.t)
          } else if (e.t > prev.t) dts.push(e.t - prev.t)
        }
        stroke.push(e)
      } else if (e.type === 'mousedown') {
        flush()
        down = e
      } else if (e.type === 'mouseup' && down) {
        if (e.t - down.t > 0 && e.t - down.t < 1500) dwells.push(e.t - down.t)
        up = e
        down = null
      }
    }
    flush()
  }
  profiles.sort((p, q) => p.length - q.length)
  return { profiles, dts, dwells, thinks }
}

/** The profile of a person's movement of about `length` px. */
function nearest(model: ProfileModel, length: number, rng: Rng): Profile | null {
  const list = model.profiles
  if (list.length === 0) return null
  let lo = 0
  let hi = list.length - 1
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (list[mid]!.length < length) lo = mid + 1
    else hi = mid
  }
  const spread = Math.max(1, Math.round(list.length * 0.02))
  return list[Math.max(0, Math.min(list.length - 1, lo + rng.int(-spread, spread)))]!
}

export function generateFromProfiles(model: ProfileModel, rng: Rng, run: number): Session {
  const width = rng.pick([1280, 1366, 1440, 1536, 1920])
  const height = rng.pick([720, 768, 800, 864, 900, 1080])
  const events: TraceEvent[] = []
  let t = rng.uniform(200, 2500)
  let x = rng.uniform(0, width)
  let y = rng.uniform(0, height)
  const pickDt = (): number => (model.dts.length > 0 ? rng.pick(model.dts) : 16.7)
  for (let k = rng.int(4, 12); k > 0; k--) {
    const tx = rng.uniform(40, width - 40)
    const ty = rng.uniform(40, height - 40)
    const length = Math.hypot(tx - x, ty - y)
    const profile = length >= 40 ? nearest(model, length, rng) : null
    if (profile) {
      const duration = profile.duration * Math.pow(length / profile.length, 0.3) * rng.uniform(0.85, 1.15)
      const ux = (tx - x) / length
      const uy = (ty - y) / length
      const x0 = x
      const y0 = y
      const flip = rng.next() < 0.5 ? -1 : 1
      for (let el = pickDt(); el < duration; el += pickDt()) {
        // A smooth curve through the profile's points (linear between twentieths).
        const f = (el / duration) * POINTS
        const i = Math.min(POINTS - 1, Math.floor(f))
        const u = f - i
        const along = profile.along[i]! + (profile.along[i + 1]! - profile.along[i]!) * u
        const side = flip * (profile.side[i]! + (profile.side[i + 1]! - profile.side[i]!) * u)
        const nx = Math.round(x0 + (ux * along - uy * side) * length)
        const ny = Math.round(y0 + (uy * along + ux * side) * length)
        if (nx === Math.round(x) && ny === Math.round(y)) continue
        x = nx
        y = ny
        events.push({ type: 'mousemove', t: Math.round((t + el) * 10) / 10, x, y })
      }
      t += duration
      if (Math.round(x) !== Math.round(tx) || Math.round(y) !== Math.round(ty)) {
        x = Math.round(tx)
        y = Math.round(ty)
        events.push({ type: 'mousemove', t: Math.round(t * 10) / 10, x, y })
      }
    }
    const at = { x: Math.round(x), y: Math.round(y), button: 0 }
    t += rng.uniform(30, 250)
    events.push({ type: 'mousedown', t: Math.round(t * 10) / 10, ...at })
    t += model.dwells.length > 0 ? rng.pick(model.dwells) : 90
    events.push({ type: 'mouseup', t: Math.round(t * 10) / 10, ...at }, { type: 'click', t: Math.round(t * 10) / 10, ...at })
    t += model.thinks.length > 0 ? rng.pick(model.thinks) : 600
  }
  return { source: 'profiles', group: `profiles/${run}`, kind: 'bot', family: 'profiles', events }
}

/**
 * A generative bot fitted to the human training data: the hard negative an attacker
 * gets by learning from recorded people (as GAN- or sequence-model-generated
 * trajectories do), without copying any one recording whole.
 *
 * Fitting cuts the training humans' movements into steps measured in the movement's own
 * frame (progress towards the end point and sideways drift, as fractions of the
 * movement's length, and the step's interval) and pools them by how far along the
 * movement the step was and how large the previous step was: a first-order Markov
 * model over real human steps. Generating walks that chain towards each new target, then
 * clicks with a human dwell and pauses with a human think time, all drawn from the pools.
 * Locally every step is a person's; what it lacks is the longer structure of an aimed
 * movement (one or two sub-movements, a speed profile, corrections that follow errors).
 */
import type { TraceEvent } from '@vigil-risk/core/protocol/trace'
import type { Session } from '../data'
import type { Rng } from '../rng'

interface Step {
  progress: number
  drift: number
  dt: number
}

export interface StepModel {
  /** pools[remainingBin][previousProgressBin] */
  pools: Step[][][]
  /** pools[remainingBin], all previous steps together: the fallback for an empty pool. */
  byRemaining: Step[][]
  dwells: number[]
  thinks: number[]
}

const REMAINING_BINS = 6
const PROGRESS_BINS = 5

const remainingBin = (remaining: number): number => Math.min(REMAINING_BINS - 1, Math.max(0, Math.floor(remaining * REMAINING_BINS)))
const progressBin = (progress: number): number => (progress <= 0 ? 0 : Math.min(PROGRESS_BINS - 1, 1 + Math.floor(Math.log2(1 + progress * 40))))

export function fitStepModel(humans: readonly Session[]): StepModel {
  const pools: Step[][][] = Array.from({ length: REMAINING_BINS }, () => Array.from({ length: PROGRESS_BINS }, () => []))
  const dwells: number[] = []
  const thinks: number[] = []
  for (const s of humans) {
    if (s.whole) continue
    let stroke: TraceEvent[] = []
    const flush = (): void => {
      if (stroke.length >= 5) addStroke(stroke, pools)
      stroke = []
    }
    let lastDown: TraceEvent | null = null
    let lastUp: TraceEvent | null = null
    for (const e of s.events) {
      if (e.type === 'mousemove') {
        const prev = stroke[stroke.length - 1]
        if (prev && e.t - prev.t > 250) {
          flush()
          if (lastUp && e.t - lastUp.t < 10_000) thinks.push(e.t - lastUp.t)
        }
        stroke.push(e)
      } else if (e.type === 'mousedown') {
        flush()
        lastDown = e
      } else if (e.type === 'mouseup' && lastDown) {
        if (e.t - lastDown.t > 0 && e.t - lastDown.t < 1500) dwells.push(e.t - lastDown.t)
        lastUp = e
        lastDown = null
      }
    }
    flush()
  }
  return { pools, byRemaining: pools.map((p) => p.flat()), dwells, thinks }
}

function addStroke(stroke: readonly TraceEvent[], pools: Step[][][]): void {
  const a = stroke[0]!
  const b = stroke[stroke.length - 1]!
  const length = Math.hypot(b.x! - a.x!, b.y! - a.y!)
  if (length < 30) return
  const ux = (b.x! - a.x!) / length
  const uy = (b.y! - a.y!) / length
  let prevProgress = 0
  for (let i = 1; i < stroke.length; i++) {
    const p = stroke[i - 1]!
    const q = stroke[i]!
    const dx = q.x! - p.x!
    const dy = q.y! - p.y!
    const progress = (dx * ux + dy * uy) / length
    const drift = (-dx * uy + dy * ux) / length
    const done = ((p.x! - a.x!) * ux + (p.y! - a.y!) * uy) / length
    pools[remainingBin(1 - done)]![progressBin(prevProgress)]!.push({ progress, drift, dt: q.t - p.t })
    prevProgress = progress
  }
}

export function generate(model: StepModel, rng: Rng, run: number): Session {
  const width = rng.pick([1280, 1366, 1440, 1536, 1920])
  const height = rng.pick([720, 768, 800, 864, 900, 1080])
  const events: TraceEvent[] = []
  let t = rng.uniform(200, 2500)
  let x = rng.uniform(0, width)
  let y = rng.uniform(0, height)
  const targets = rng.int(4, 12)
  for (let k = 0; k < targets; k++) {
    const tx = rng.uniform(40, width - 40)
    const ty = rng.uniform(40, height - 40)
    const length = Math.hypot(tx - x, ty - y)
    if (length >= 30) {
      const ux = (tx - x) / length
      const uy = (ty - y) / length
      const x0 = x
      const y0 = y
      let along = 0
      let side = 0
      let prevProgress = 0
      for (let n = 0; n < 400 && along < 0.995; n++) {
        const pool = model.pools[remainingBin(1 - along)]![progressBin(prevProgress)]!
        const fallback = model.byRemaining[remainingBin(1 - along)]!
        const step = pool.length > 0 ? rng.pick(pool) : fallback.length > 0 ? rng.pick(fallback) : { progress: 0.05, drift: 0, dt: 16 }
        along += step.progress
        // Drift is pulled back towards the line as the movement closes in, as a hand's would be.
        side = side * (1 - 0.15 * along) + step.drift
        prevProgress = step.progress
        t += Math.max(0, step.dt)
        const nx = Math.round(x0 + ux * along * length - uy * side * length)
        const ny = Math.round(y0 + uy * along * length + ux * side * length)
        if (nx === Math.round(x) && ny === Math.round(y)) continue
        x = nx
        y = ny
        events.push({ type: 'mousemove', t: Math.round(t * 10) / 10, x, y })
      }
    }
    const at = { x: Math.round(x), y: Math.round(y), button: 0 }
    t += rng.uniform(20, 200)
    events.push({ type: 'mousedown', t: Math.round(t * 10) / 10, ...at })
    t += model.dwells.length > 0 ? rng.pick(model.dwells) : 90
    events.push({ type: 'mouseup', t: Math.round(t * 10) / 10, ...at }, { type: 'click', t: Math.round(t * 10) / 10, ...at })
    t += model.thinks.length > 0 ? rng.pick(model.thinks) : 600
  }
  return { source: 'generative', group: `generative/${run}`, kind: 'bot', family: 'generative', events }
}

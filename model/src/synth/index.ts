/**
 * Bot synthesisers: what attacks really use to move a pointer, from the crude to the
 * careful. Each family simulates a bot shopping on a page: it moves to a button, clicks
 * it, waits, moves on. Parameters are drawn per session (each bot operator configures
 * their tool differently) and per movement.
 *
 * Families:
 *  - linear      straight lines at constant speed and a fixed tick (pyautogui-style tweening)
 *  - teleport    one move onto the target, then the click (Playwright/Puppeteer page.click)
 *  - bezier      cubic Bézier curves with easing and optional overshoot (ghost-cursor style)
 *  - spline      Catmull-Rom splines through random waypoints
 *  - windmouse   the WindMouse algorithm: gravity towards the target plus wind
 *  - humanizer   Fitts'-law durations, minimum-jerk profiles, perpendicular drift, tremor,
 *                overshoot and correction, browser-like 60 Hz sampling: a careful humaniser
 *  - replay      a human's recorded trace replayed with a time warp (constant, or varying
 *                smoothly along the trace) and, usually, ±1 px jitter
 *  - ghost_cursor  the real ghost-cursor library's paths, timed as kits send them (ghost.ts)
 *  - generative  a Markov model over human steps, fitted to the training humans (generative.ts)
 *  - profiles    human movement profiles, retargeted and re-sampled (profiles.ts)
 * Recorded from real tools elsewhere: Playwright's page.mouse and the kits of
 * scripts/record-kit-traces.ts (model/data), DELBOT's pynput and pyHM (../shared/data).
 */
import type { TraceEvent } from '@vigil-risk/core/protocol/trace'
import type { Rng } from '../rng'
import type { Session } from '../data'

interface Page {
  rng: Rng
  events: TraceEvent[]
  t: number
  x: number
  y: number
  width: number
  height: number
}

type Mover = (page: Page, tx: number, ty: number, targetSize: number) => void

function move(page: Page, x: number, y: number, dt: number, round = true): void {
  page.t += Math.max(0, dt)
  page.x = round ? Math.round(x) : x
  page.y = round ? Math.round(y) : y
  page.events.push({ type: 'mousemove', t: Math.round(page.t * 10) / 10, x: page.x, y: page.y })
}

function click(page: Page, dwell: number): void {
  const at = { x: page.x, y: page.y, button: 0 }
  page.events.push({ type: 'mousedown', t: Math.round(page.t * 10) / 10, ...at })
  page.t += Math.max(0, dwell)
  page.events.push({ type: 'mouseup', t: Math.round(page.t * 10) / 10, ...at }, { type: 'click', t: Math.round(page.t * 10) / 10, ...at })
}

const easings: Record<string, (u: number) => number> = {
  linear: (u) => u,
  quad: (u) => (u < 0.5 ? 2 * u * u : 1 - (-2 * u + 2) ** 2 / 2),
  cubic: (u) => (u < 0.5 ? 4 * u * u * u : 1 - (-2 * u + 2) ** 3 / 2),
  sine: (u) => -(Math.cos(Math.PI * u) - 1) / 2,
}

/** A session: a page, a sequence of buttons, a mover and the bot's click habits. */
function session(rng: Rng, family: string, mover: (rng: Rng) => Mover, habits: { dwell: () => number; think: () => number }, group: string): Session {
  const width = rng.pick([1280, 1366, 1440, 1536, 1920])
  const height = rng.pick([720, 768, 800, 864, 900, 1080])
  const page: Page = { rng, events: [], t: 0, x: rng.int(0, width), y: rng.int(0, height), width, height }
  const move = mover(rng)
  const targets = rng.int(4, 14)
  page.t = rng.uniform(200, 2500)
  for (let i = 0; i < targets; i++) {
    const size = rng.uniform(24, 160)
    // Bots aim at element centres, or a point within a few pixels of one.
    const cx = rng.uniform(40, width - 40)
    const cy = rng.uniform(40, height - 40)
    move(page, cx, cy, size)
    click(page, habits.dwell())
    page.t += habits.think()
  }
  return { source: family, group, kind: 'bot', family, events: page.events }
}

const linear = (rng: Rng): Mover => {
  const tick = rng.pick([0, 1, 5, 10, 16, 20, 50])
  const stepPx = rng.uniform(4, 40)
  return (page, tx, ty) => {
    const d = Math.hypot(tx - page.x, ty - page.y)
    const n = Math.max(1, Math.ceil(d / stepPx))
    const x0 = page.x
    const y0 = page.y
    for (let i = 1; i <= n; i++) move(page, x0 + ((tx - x0) * i) / n, y0 + ((ty - y0) * i) / n, tick)
  }
}

const teleport = (rng: Rng): Mover => {
  const steps = rng.pick([1, 1, 1, 2, 5])
  return (page, tx, ty) => {
    const x0 = page.x
    const y0 = page.y
    for (let i = 1; i <= steps; i++) move(page, x0 + ((tx - x0) * i) / steps, y0 + ((ty - y0) * i) / steps, rng.uniform(0, 2))
  }
}

function bezierPoint(p: number[][], u: number): [number, number] {
  const v = 1 - u
  const x = v * v * v * p[0]![0]! + 3 * v * v * u * p[1]![0]! + 3 * v * u * u * p[2]![0]! + u * u * u * p[3]![0]!
  const y = v * v * v * p[0]![1]! + 3 * v * v * u * p[1]![1]! + 3 * v * u * u * p[2]![1]! + u * u * u * p[3]![1]!
  return [x, y]
}

const bezier = (rng: Rng): Mover => {
  const ease = easings[rng.pick(Object.keys(easings))]!
  const tick = rng.pick([5, 8, 10, 16, 16, 20])
  const jitterTick = rng.next() < 0.5
  const overshoots = rng.next() < 0.6
  const spread = rng.uniform(0.1, 0.5)
  const curve = (page: Page, tx: number, ty: number, size: number): void => {
    const x0 = page.x
    const y0 = page.y
    const d = Math.hypot(tx - x0, ty - y0)
    const nx = -(ty - y0) / Math.max(1, d)
    const ny = (tx - x0) / Math.max(1, d)
    const c1 = rng.uniform(-spread, spread) * d
    const c2 = rng.uniform(-spread, spread) * d
    const pts = [[x0, y0], [x0 + (tx - x0) * 0.3 + nx * c1, y0 + (ty - y0) * 0.3 + ny * c1], [x0 + (tx - x0) * 0.7 + nx * c2, y0 + (ty - y0) * 0.7 + ny * c2], [tx, ty]]
    // ghost-cursor sizes the step count by Fitts' law.
    const n = Math.max(8, Math.round(Math.log2(d / Math.max(8, size) + 1) * rng.uniform(12, 30)))
    for (let i = 1; i <= n; i++) {
      const [x, y] = bezierPoint(pts, ease(i / n))
      move(page, x, y, jitterTick ? rng.uniform(tick * 0.5, tick * 1.5) : tick)
    }
  }
  return (page, tx, ty, size) => {
    const d = Math.hypot(tx - page.x, ty - page.y)
    if (overshoots && d > 300) {
      const over = rng.uniform(0.05, 0.15)
      curve(page, tx + (tx - page.x) * over + rng.normal(0, 8), ty + (ty - page.y) * over + rng.normal(0, 8), size)
      curve(page, tx, ty, size)
    } else curve(page, tx, ty, size)
  }
}

const spline = (rng: Rng): Mover => {
  const tick = rng.pick([5, 10, 15, 20])
  return (page, tx, ty) => {
    const x0 = page.x
    const y0 = page.y
    const d = Math.hypot(tx - x0, ty - y0)
    const k = rng.int(1, 3)
    const pts: Array<[number, number]> = [[x0, y0]]
    for (let i = 1; i <= k; i++) pts.push([x0 + ((tx - x0) * i) / (k + 1) + rng.normal(0, d * 0.15), y0 + ((ty - y0) * i) / (k + 1) + rng.normal(0, d * 0.15)])
    pts.push([tx, ty])
    const ext = [pts[0]!, ...pts, pts[pts.length - 1]!]
    const per = Math.max(4, Math.round(rng.uniform(6, 20)))
    for (let s = 1; s < ext.length - 2; s++) {
      const [p0, p1, p2, p3] = [ext[s - 1]!, ext[s]!, ext[s + 1]!, ext[s + 2]!]
      for (let i = 1; i <= per; i++) {
        const u = i / per
        const u2 = u * u
        const u3 = u2 * u
        const f = (a: number, b: number, c: number, e: number): number => 0.5 * (2 * b + (-a + c) * u + (2 * a - 5 * b + 4 * c - e) * u2 + (-a + 3 * b - 3 * c + e) * u3)
        move(page, f(p0[0], p1[0], p2[0], p3[0]), f(p0[1], p1[1], p2[1], p3[1]), rng.uniform(tick * 0.7, tick * 1.3))
      }
    }
  }
}

/** WindMouse (Benjamin J. Land's algorithm, as in many botting libraries). */
const windmouse = (rng: Rng): Mover => {
  const gravity = rng.uniform(7, 11)
  const windStrength = rng.uniform(2, 5)
  const maxStep = rng.uniform(10, 20)
  const targetArea = rng.uniform(8, 14)
  const sleep = rng.uniform(3, 12)
  return (page, tx, ty) => {
    let x = page.x
    let y = page.y
    let vx = 0
    let vy = 0
    let wx = 0
    let wy = 0
    let m = maxStep
    for (let guard = 0; guard < 2000; guard++) {
      const dist = Math.hypot(tx - x, ty - y)
      if (dist < 1) break
      const w = Math.min(windStrength, dist)
      if (dist >= targetArea) {
        wx = wx / Math.sqrt(3) + ((2 * rng.next() - 1) * w) / Math.sqrt(5)
        wy = wy / Math.sqrt(3) + ((2 * rng.next() - 1) * w) / Math.sqrt(5)
      } else {
        wx /= Math.sqrt(3)
        wy /= Math.sqrt(3)
        if (m < 3) m = rng.next() * 3 + 3
        else m /= Math.sqrt(5)
      }
      vx += wx + (gravity * (tx - x)) / dist
      vy += wy + (gravity * (ty - y)) / dist
      const v = Math.hypot(vx, vy)
      if (v > m) {
        const clip = m / 2 + (rng.next() * m) / 2
        vx = (vx / v) * clip
        vy = (vy / v) * clip
      }
      x += vx
      y += vy
      const nx = Math.round(x)
      const ny = Math.round(y)
      if (nx !== page.x || ny !== page.y) move(page, nx, ny, sleep * rng.uniform(0.8, 1.2))
    }
    if (page.x !== Math.round(tx) || page.y !== Math.round(ty)) move(page, tx, ty, sleep)
  }
}

/** The careful humaniser. */
const humanizer = (rng: Rng): Mover => {
  const fittsA = rng.uniform(60, 160)
  const fittsB = rng.uniform(90, 200)
  const tremor = rng.uniform(0.2, 1.5)
  const frame = rng.pick([16.67, 16.67, 8.33, 10])
  const overshootRate = rng.uniform(0.1, 0.5)
  const stroke = (page: Page, tx: number, ty: number, size: number): void => {
    const x0 = page.x
    const y0 = page.y
    const d = Math.hypot(tx - x0, ty - y0)
    if (d < 1) return
    const duration = fittsA + fittsB * Math.log2(d / Math.max(8, size) + 1)
    const bow = rng.normal(0, 0.08) * d
    const nx = -(ty - y0) / d
    const ny = (tx - x0) / d
    const n = Math.max(3, Math.round(duration / frame))
    for (let i = 1; i <= n; i++) {
      const u = i / n
      const s = 10 * u ** 3 - 15 * u ** 4 + 6 * u ** 5
      const off = bow * Math.sin(Math.PI * u)
      move(page, x0 + (tx - x0) * s + nx * off + rng.normal(0, tremor), y0 + (ty - y0) * s + ny * off + rng.normal(0, tremor), frame + rng.normal(0, 1.2))
    }
  }
  return (page, tx, ty, size) => {
    page.t += rng.logNormal(250, 0.5)
    const d = Math.hypot(tx - page.x, ty - page.y)
    if (d > 150 && rng.next() < overshootRate) {
      const over = rng.uniform(0.04, 0.12)
      stroke(page, tx + (tx - page.x) * over, ty + (ty - page.y) * over + rng.normal(0, 6), size)
      page.t += rng.uniform(40, 160)
    }
    stroke(page, tx + rng.normal(0, size / 8), ty + rng.normal(0, size / 8), size)
  }
}

export const SYNTHETIC_FAMILIES = ['linear', 'teleport', 'bezier', 'spline', 'windmouse', 'humanizer'] as const
export type SyntheticFamily = (typeof SYNTHETIC_FAMILIES)[number]

const MOVERS: Record<SyntheticFamily, (rng: Rng) => Mover> = { linear, teleport, bezier, spline, windmouse, humanizer }

/** Click habits: crude tools click instantly and never hesitate; careful ones vary. */
function habits(family: SyntheticFamily, rng: Rng): { dwell: () => number; think: () => number } {
  if (family === 'humanizer') return { dwell: () => Math.max(20, rng.normal(95, 30)), think: () => rng.logNormal(900, 0.7) }
  const crude = rng.next() < 0.5
  const fixedDwell = rng.pick([0, 0, 1, 10, 50, 100])
  const fixedThink = rng.pick([0, 100, 250, 500, 1000])
  return crude
    ? { dwell: () => fixedDwell, think: () => fixedThink }
    : { dwell: () => rng.uniform(30, 150), think: () => rng.uniform(200, 2500) }
}

export function synthesise(family: SyntheticFamily, rng: Rng, run: number): Session {
  return session(rng, family, MOVERS[family], habits(family, rng), `${family}/${run}`)
}

/**
 * A human recording replayed: translated, time-warped (by a constant factor, or by one
 * that drifts smoothly between 0.7× and 1.4× along the trace) and usually with ±1 px jitter.
 */
export function replay(human: Session, rng: Rng, run: number): Session {
  const warp = rng.uniform(0.8, 1.25)
  const varying = rng.next() < 0.5
  const period = rng.uniform(800, 5000)
  const phase = rng.uniform(0, 2 * Math.PI)
  const depth = rng.uniform(0.1, 0.35)
  const dx = rng.int(-40, 40)
  const dy = rng.int(-40, 40)
  const jitter = rng.next() < 0.7
  let last = human.events[0]?.t ?? 0
  let warped = 0
  const events = human.events.map((e) => {
    // Integrate the warp over time, so that a varying warp never runs time backwards.
    const rate = varying ? warp * (1 + depth * Math.sin((2 * Math.PI * e.t) / period + phase)) : warp
    warped += (e.t - last) * rate
    last = e.t
    const out: TraceEvent = { ...e, t: Math.round(warped * 10) / 10 }
    if (e.x !== undefined && e.y !== undefined) {
      out.x = e.x + dx + (jitter && e.type === 'mousemove' ? rng.int(-1, 1) : 0)
      out.y = e.y + dy + (jitter && e.type === 'mousemove' ? rng.int(-1, 1) : 0)
    }
    return out
  })
  return { source: 'replay', group: `replay/${run}`, kind: 'bot', family: 'replay', events }
}

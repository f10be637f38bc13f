/**
 * ghost-cursor, the humanlike-path library that Puppeteer and Playwright bots use (npm
 * `ghost-cursor`), run for real: its own `path()` makes every movement (Bézier curves
 * with Fitts'-law step counts, overshoot past 500 px and a tight correction), and we time
 * the points the three ways a kit sends them:
 *  - `timestamps`: the library's own timestamps (`useTimestamps`), as an offline generator;
 *  - `rtt`: each point sent as soon as the previous one was acknowledged (a DevTools-protocol
 *    round trip of a few ms), then coalesced to display frames by the browser;
 *  - `tick`: a fixed or jittered sleep between points, then coalesced to frames.
 * The library draws from Math.random and reads Date.now; both are pinned to our seeded
 * RNG for the call, so a seed gives the same paths.
 */
import { path as ghostPath } from 'ghost-cursor'
import type { TraceEvent } from '@vigil-risk/core/protocol/trace'
import type { Session } from '../data'
import type { Rng } from '../rng'
import { frames } from '../augment'

interface Point {
  x: number
  y: number
  timestamp?: number
}

function seeded<T>(rng: Rng, run: () => T): T {
  const random = Math.random
  const now = Date.now
  Math.random = () => rng.next()
  Date.now = () => 0
  try {
    return run()
  } finally {
    Math.random = random
    Date.now = now
  }
}

const OVERSHOOT_THRESHOLD = 500
const OVERSHOOT_RADIUS = 120
const OVERSHOOT_SPREAD = 10

export function ghostCursor(rng: Rng, run: number): Session {
  const timing = rng.pick(['timestamps', 'rtt', 'rtt', 'tick'] as const)
  const moveSpeed = rng.next() < 0.5 ? undefined : rng.uniform(5, 60)
  const rtt = rng.uniform(0.8, 6)
  const tick = rng.pick([0, 5, 10, 16, 20])
  const width = rng.pick([1280, 1366, 1440, 1536, 1920])
  const height = rng.pick([720, 768, 800, 864, 900, 1080])
  const raw: TraceEvent[] = []
  let t = rng.uniform(200, 2500)
  let at: Point = { x: rng.uniform(0, width), y: rng.uniform(0, height) }
  const emit = (points: Point[]): void => {
    const t0 = points[0]?.timestamp ?? 0
    for (let i = 1; i < points.length; i++) {
      const p = points[i]!
      if (timing === 'timestamps') t = Math.max(t, t + (p.timestamp! - (points[i - 1]!.timestamp ?? t0)))
      else if (timing === 'rtt') t += rtt * rng.uniform(0.6, 1.8)
      else t += tick === 0 ? rng.uniform(0.5, 2) : tick * rng.uniform(0.9, 1.1)
      raw.push({ type: 'mousemove', t: Math.round(t * 10) / 10, x: Math.round(p.x), y: Math.round(p.y) })
    }
  }
  const move = (to: Point, spreadOverride?: number): void => {
    const points = seeded(rng, () => ghostPath(at, to, { ...(spreadOverride !== undefined ? { spreadOverride } : {}), ...(moveSpeed !== undefined ? { moveSpeed } : {}), useTimestamps: timing === 'timestamps' }) as Point[])
    emit(points)
    at = points[points.length - 1] ?? at
  }
  const targets = rng.int(4, 12)
  for (let i = 0; i < targets; i++) {
    const box = { w: rng.uniform(40, 240), h: rng.uniform(24, 60) }
    // ghost-cursor aims at a random point inside the element's box, padded.
    const target = { x: rng.uniform(40, width - 40 - box.w) + rng.uniform(0.2, 0.8) * box.w, y: rng.uniform(40, height - 40 - box.h) + rng.uniform(0.2, 0.8) * box.h }
    if (Math.hypot(target.x - at.x, target.y - at.y) > OVERSHOOT_THRESHOLD) {
      const a = rng.uniform(0, 2 * Math.PI)
      const r = OVERSHOOT_RADIUS * Math.sqrt(rng.next())
      move({ x: target.x + r * Math.cos(a), y: target.y + r * Math.sin(a) })
      move(target, OVERSHOOT_SPREAD)
    } else move(target)
    const pos = { x: Math.round(at.x), y: Math.round(at.y), button: 0 }
    // Default click: no hesitation, press and release one round trip apart; or the bot's own delay.
    t += rng.next() < 0.5 ? rtt : rng.uniform(30, 200)
    raw.push({ type: 'mousedown', t: Math.round(t * 10) / 10, ...pos })
    t += rng.next() < 0.5 ? rtt : rng.uniform(20, 150)
    raw.push({ type: 'mouseup', t: Math.round(t * 10) / 10, ...pos }, { type: 'click', t: Math.round(t * 10) / 10, ...pos })
    t += rng.pick([0, 100, 500, 1000]) + rng.uniform(0, 2000) * rng.next()
  }
  const events = timing === 'timestamps' ? raw : frames(raw, 16.67, rng)
  return { source: 'ghost_cursor', group: `ghost_cursor/${run}`, kind: 'bot', family: 'ghost_cursor', events }
}

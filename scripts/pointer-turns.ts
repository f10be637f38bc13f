/**
 * npx tsx scripts/pointer-turns.ts [--data ../shared/data]
 *
 * How a pointer turns from one move to the next (collector-server/src/risk/turning.ts
 * pointerTurning), in the research data's people and in a script that sets the pointer at
 * random points: per source and window size (a trace's last N events), the windows with
 * enough turns to judge, the largest mean turn among them, and how many the collector would
 * call jumping (`jumping`: bot_behavior). docs/detectors.md ("A pointer that jumps") reads
 * these figures.
 */
import { parseArgs } from 'node:util'
import type { TraceEvent } from '@vigil-risk/core/protocol/trace'
import { loadBalabit, loadDelbot, loadFreihaut, loadSapiMouse } from '../model/src/data'
import { JUMPING_MEAN_DEGREES, JUMPING_MIN_TURNS, jumping, pointerTurning } from '../collector-server/src/risk/turning'

const { values } = parseArgs({ options: { data: { type: 'string', default: '../shared/data' } } })
const WINDOWS = [30, 60, 200, 600]

const cut = (events: TraceEvent[], size: number): TraceEvent[][] => {
  const out: TraceEvent[][] = []
  for (let i = 0; i < events.length; i += size) out.push(events.slice(i, i + size))
  return out
}

/** A script's trace: 10–100 uniformly random points on a 1280 × 800 page, 100 ms apart, then a click (seeded). */
function randomPoints(n: number): TraceEvent[][] {
  let seed = 1
  const next = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32
  return Array.from({ length: n }, () => {
    const k = 10 + Math.floor(next() * 91)
    const events: TraceEvent[] = Array.from({ length: k }, (_, i) => ({ type: 'mousemove' as const, t: i * 100, x: Math.round(next() * 1280), y: Math.round(next() * 800) }))
    events.push({ type: 'click', t: k * 100, x: 640, y: 400, button: 0 })
    return events
  })
}

const people = [
  ['sapimouse', loadSapiMouse],
  ['balabit', loadBalabit],
  ['freihaut', loadFreihaut],
  ['delbot (people)', loadDelbot],
] as const
console.log(`jumping: ≥ ${JUMPING_MIN_TURNS} turns of ≥ ${JUMPING_MEAN_DEGREES}° on average`)
console.log(`${'source'.padEnd(18)} ${'window'.padStart(6)} ${'judged'.padStart(8)} ${'largest mean'.padStart(13)} ${'jumping'.padStart(8)}`)
const row = (name: string, size: string, traces: TraceEvent[][]): void => {
  const judged = traces.map(pointerTurning).filter((t) => t.turns >= JUMPING_MIN_TURNS)
  const largest = Math.max(0, ...judged.map((t) => t.meanDegrees))
  console.log(`${name.padEnd(18)} ${size.padStart(6)} ${String(judged.length).padStart(8)} ${`${largest.toFixed(1)}°`.padStart(13)} ${String(judged.filter(jumping).length).padStart(8)}`)
}
for (const [name, load] of people) {
  const sessions = load(values.data).filter((s) => s.kind === 'human')
  for (const size of WINDOWS) row(name, String(size), sessions.flatMap((s) => (s.whole ? [s.events] : cut(s.events, size))))
}
row('random points', 'whole', randomPoints(2000))

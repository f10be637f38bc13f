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
import { randomPointsTrace } from '../test/support/payloads'
import { JUMPING_MEAN_DEGREES, JUMPING_MIN_TURNS, jumping, pointerTurning } from '../collector-server/src/risk/turning'

const { values } = parseArgs({ options: { data: { type: 'string', default: '../shared/data' } } })
const WINDOWS = [30, 60, 200, 600]

const cut = (events: TraceEvent[], size: number): TraceEvent[][] => {
  const out: TraceEvent[][] = []
  for (let i = 0; i < events.length; i += size) out.push(events.slice(i, i + size))
  return out
}

/** 2,000 scripts' traces: 10–100 random points each (seeded), 100 ms apart, then a click. */
const randomTraces = (): TraceEvent[][] => Array.from({ length: 2000 }, (_, i) => randomPointsTrace(10 + ((i * 37) % 91), i + 1))

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
row('random points', 'whole', randomTraces())

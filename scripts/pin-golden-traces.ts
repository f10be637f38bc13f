/**
 * Writes test/fixtures/traces/golden.jsonl and golden-features.json: a handful of
 * traces (synthetic bots with fixed seeds, two MIT-licensed DELBOT recordings, recorded
 * Playwright traces) and their feature vectors. Run only when the feature code changes
 * on purpose:  npx tsx scripts/pin-golden-traces.ts
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { extractFeatures, FEATURE_NAMES } from '@vigil-risk/core/features'
import { parseDelbot } from '../model/src/data'
import { SYNTHETIC_FAMILIES, synthesise } from '../model/src/synth/index'
import { windowsOf } from '../model/src/windows'
import { Rng } from '../model/src/rng'
import type { TraceEvent } from '@vigil-risk/core/protocol/trace'

const DIR = 'test/fixtures/traces'
const traces: Array<{ id: string; events: TraceEvent[] }> = []
const rng = new Rng(7)
for (const family of SYNTHETIC_FAMILIES) {
  const session = synthesise(family, new Rng(1000 + family.length), 0)
  const window = windowsOf(session, rng, 1)[0]!
  traces.push({ id: `synthetic-${family}`, events: window.events })
}
traces.push({ id: 'delbot-human-pc1', events: parseDelbot(readFileSync(`${DIR}/delbot-human-pc1.txt`, 'utf8')) })
traces.push({ id: 'delbot-bot-pynput', events: parseDelbot(readFileSync(`${DIR}/delbot-bot-pynput.txt`, 'utf8')) })
const recorded = readFileSync('model/data/playwright-traces.jsonl', 'utf8').trim().split('\n').slice(0, 3)
for (const line of recorded) {
  const t = JSON.parse(line) as { id: string; events: TraceEvent[] }
  traces.push({ id: t.id, events: t.events })
}
traces.push({ id: 'too-little', events: traces[0]!.events.filter((e) => e.type === 'mousemove').slice(0, 4) })
writeFileSync(`${DIR}/golden.jsonl`, traces.map((t) => JSON.stringify(t)).join('\n') + '\n')
const features = Object.fromEntries(traces.map((t) => {
  const f = extractFeatures(t.events)
  return [t.id, { sufficient: f.sufficient, vector: Array.from(f.vector) }]
}))
writeFileSync(`${DIR}/golden-features.json`, JSON.stringify({ names: FEATURE_NAMES, traces: features }, null, 1) + '\n')
console.log(`pinned ${traces.length} golden traces`)

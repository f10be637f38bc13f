/**
 * The training data: sessions (humans, real bot libraries, synthesised bots, recorded
 * Playwright) cut into windows, augmented, turned into feature vectors and assigned to
 * train / validation / test. Pure: the caller loads the files and owns the RNG, so the
 * same seed gives the same samples (model/test/dataset.test.ts holds the split rules).
 */
import { extractFeatures } from '@vigil-risk/core/features'
import type { TraceEvent } from '@vigil-risk/core/protocol/trace'
import type { Session } from './data'
import { SYNTHETIC_FAMILIES, replay, synthesise } from './synth/index'
import { windowsOf } from './windows'
import type { Rng } from './rng'

export type Split = 'train' | 'val' | 'test'
export const SPLITS: readonly Split[] = ['train', 'val', 'test']

export interface Sample {
  split: Split
  kind: 'human' | 'bot'
  source: string
  family: string
  /** The person (humans) or generator run (bots) the window came from. */
  group: string
  vector: Float64Array
}

/** Bot families never shown to the model: they measure generalisation to unseen tools. */
export const HELD_OUT_FAMILIES = ['windmouse', 'delbot_pyhm']

/** Splits groups (people, generator runs) 70/15/15; a group never spans two splits. */
export function splitGroups(groups: readonly string[], r: Rng): Map<string, Split> {
  const unique = r.shuffle([...new Set(groups)].sort())
  const out = new Map<string, Split>()
  unique.forEach((g, i) => out.set(g, i < unique.length * 0.7 ? 'train' : i < unique.length * 0.85 ? 'val' : 'test'))
  return out
}

/**
 * Where a human session goes. People (SapiMouse, Balabit users) are split by person.
 * DELBOT's humans are few people per folder, and the folders are two capture set-ups:
 * pc1 trains; pc2's recordings are split by file, half to training, a quarter each to
 * validation and test (the same people may appear in more than one split).
 */
export function humanSplitter(humans: readonly Session[], r: Rng): (s: Session, r: Rng) => Split {
  const byPerson = splitGroups(humans.filter((s) => !s.source.startsWith('delbot')).map((s) => s.group), r)
  return (s, rr) => {
    if (s.source === 'delbot_human_pc1') return 'train'
    if (s.source.startsWith('delbot_human')) {
      const u = rr.next()
      return u < 0.5 ? 'train' : u < 0.75 ? 'val' : 'test'
    }
    return byPerson.get(s.group)!
  }
}

/**
 * Capture set-ups differ: 60 or 120 Hz, jittery or quantised clocks, slower or faster
 * hands and scripts. Training windows (humans and bots alike) are sometimes re-timed so
 * that the model leans on behaviour rather than on one recorder's clock.
 */
function augment(events: TraceEvent[], r: Rng): TraceEvent[] {
  const u = r.next()
  if (u < 0.5) return events
  if (u < 0.62) {
    let keep = false
    return events.filter((e) => e.type !== 'mousemove' || (keep = !keep))
  }
  if (u < 0.74) {
    let last = 0
    return events.map((e) => ({ ...e, t: (last = Math.max(last, Math.round((e.t + r.normal(0, 1.5)) * 10) / 10)) }))
  }
  if (u < 0.86) return events.map((e) => ({ ...e, t: Math.round(e.t) }))
  const scale = r.uniform(0.85, 1.15)
  return events.map((e) => ({ ...e, t: Math.round(e.t * scale * 10) / 10 }))
}

export interface DatasetInput {
  humans: readonly Session[]
  /** DELBOT's real bot libraries. */
  delbotBots: readonly Session[]
  /** Playwright's own mouse, recorded in Chromium (model/data/playwright-traces.jsonl). */
  recorded: ReadonlyArray<{ events: TraceEvent[] }>
}

export interface Dataset {
  samples: Sample[]
  /** Windows with too little mouse behaviour to score, in all and by family. */
  insufficient: number
  insufficientBySource: Map<string, number>
}

const RUNS_PER_FAMILY = 260

export function buildDataset(input: DatasetInput, rng: Rng): Dataset {
  const samples: Sample[] = []
  let insufficient = 0
  const insufficientBySource = new Map<string, number>()
  const addWindows = (session: Session, split: Split, r: Rng, max: number): void => {
    for (const w of windowsOf(session, r, max)) {
      const f = extractFeatures(split === 'train' ? augment(w.events, r) : w.events)
      if (!f.sufficient) {
        insufficient++
        insufficientBySource.set(session.family, (insufficientBySource.get(session.family) ?? 0) + 1)
        continue
      }
      samples.push({ split, kind: session.kind, source: session.source, family: session.family, group: session.group, vector: f.vector })
    }
  }

  const splitOf = humanSplitter(input.humans, rng.fork(1))
  const wr = rng.fork(2)
  const humansBySplit: Record<Split, Session[]> = { train: [], val: [], test: [] }
  for (const s of input.humans) {
    const split = splitOf(s, wr)
    humansBySplit[split].push(s)
    addWindows(s, split, wr, s.source === 'balabit' ? 40 : 14)
  }

  // Real bot libraries (DELBOT): pynput split by recording; pyHM held out.
  for (const s of input.delbotBots) addWindows(s, s.family === 'delbot_pyhm' ? 'test' : wr.next() < 0.7 ? 'train' : wr.next() < 0.5 ? 'val' : 'test', wr, 1)

  // Synthetic families: generator runs split 70/15/15; held-out families only in test.
  const sr = rng.fork(3)
  for (const family of SYNTHETIC_FAMILIES) {
    for (let run = 0; run < RUNS_PER_FAMILY; run++) {
      const split: Split = HELD_OUT_FAMILIES.includes(family) ? 'test' : run < RUNS_PER_FAMILY * 0.7 ? 'train' : run < RUNS_PER_FAMILY * 0.85 ? 'val' : 'test'
      addWindows(synthesise(family, sr.fork(run * 31 + family.length), run), split, sr, 4)
    }
  }
  // Replays of humans from the same split (a replay of a test person is a test bot).
  for (const split of SPLITS) {
    const pool = humansBySplit[split].filter((s) => !s.whole)
    const n = split === 'train' ? 500 : 120
    for (let run = 0; run < n; run++) addWindows(replay(sr.pick(pool), sr, run), split, sr, 2)
  }
  input.recorded.forEach((trace, i) => {
    const split: Split = i % 7 < 5 ? 'train' : i % 7 === 5 ? 'val' : 'test'
    const f = extractFeatures(trace.events)
    if (f.sufficient) samples.push({ split, kind: 'bot', source: 'playwright', family: 'playwright', group: `playwright/${i}`, vector: f.vector })
    else insufficient++
  })
  return { samples, insufficient, insufficientBySource }
}

/** Every human source and every bot family weighs the same, whatever its number of windows. */
export function balanced(pool: readonly Sample[], perGroup: number, r: Rng): Sample[] {
  const groups = new Map<string, Sample[]>()
  for (const s of pool) {
    const key = `${s.kind}:${s.kind === 'human' ? s.source : s.family}`
    groups.set(key, [...(groups.get(key) ?? []), s])
  }
  const humanGroups = [...groups.keys()].filter((k) => k.startsWith('human:')).length
  const botGroups = groups.size - humanGroups
  const out: Sample[] = []
  for (const [key, list] of [...groups.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    // Equal total weight for the two classes.
    const n = Math.round(key.startsWith('human:') ? (perGroup * botGroups) / humanGroups : perGroup)
    for (let i = 0; i < n; i++) out.push(list[Math.floor(r.next() * list.length)]!)
  }
  return r.shuffle(out)
}

/**
 * The training data: sessions (humans, real bot libraries, synthesised bots, recorded
 * automation) cut into windows, turned into feature vectors and assigned to train /
 * validation / test. Every window keeps its clean vector (what evaluation scores) and,
 * in the training split, augmented vectors (what fitting sees: augment.ts). Pure: the
 * caller loads the files and owns the RNG, so the same seed gives the same samples
 * (model/test/dataset.test.ts holds the split rules).
 */
import { extractFeatures } from '@vigil-risk/core/features'
import type { TraceEvent } from '@vigil-risk/core/protocol/trace'
import type { Session } from './data'
import { augment } from './augment'
import { SYNTHETIC_FAMILIES, replay, synthesise } from './synth/index'
import { ghostCursor } from './synth/ghost'
import { fitStepModel, generate } from './synth/generative'
import { fitProfiles, generateFromProfiles } from './synth/profiles'
import { windowsOf } from './windows'
import type { Rng } from './rng'

export type Split = 'train' | 'val' | 'test'
export const SPLITS: readonly Split[] = ['train', 'val', 'test']

export interface Sample {
  split: Split
  kind: 'human' | 'bot'
  /** The capture set-up (humans: sapimouse, balabit, freihaut, delbot) or bot family. */
  source: string
  family: string
  /** The person (humans) or generator run (bots) the window came from. */
  group: string
  /** The window as captured. */
  vector: Float64Array
  /** Training split only: the window as other set-ups might have captured it. */
  augmented: Float64Array[]
}

/**
 * Bot families never shown to the shipped model: they measure generalisation to unseen
 * tools. Replays are among them on purpose: trained on, they taught the model the
 * micro-structure of the training set-ups (a replay differs from its person by a warp and a
 * pixel of jitter), and people from a set-up it had not seen then scored as bots (a held-out
 * set-up's median score rose from 0.02 to 0.98, measured with leave-one-set-up-out models).
 */
export const HELD_OUT_FAMILIES = ['windmouse', 'delbot_pyhm', 'replay']

/** Augmented copies of each training window. */
const AUGMENTED_COPIES = 1

/** Splits groups (people, generator runs) 70/15/15; a group never spans two splits. */
export function splitGroups(groups: readonly string[], r: Rng): Map<string, Split> {
  const unique = r.shuffle([...new Set(groups)].sort())
  const out = new Map<string, Split>()
  unique.forEach((g, i) => out.set(g, i < unique.length * 0.7 ? 'train' : i < unique.length * 0.85 ? 'val' : 'test'))
  return out
}

/** The capture set-up a human session comes from: the unit of leave-one-source-out validation. */
function setupOf(source: string): string {
  return source.startsWith('delbot_human') ? 'delbot' : source
}

/**
 * Where a human session goes. People (SapiMouse, Balabit, Freihaut participants) are
 * split by person. DELBOT's humans are few people per folder, and the folders are two
 * capture set-ups: pc1 trains; pc2's recordings are split by file, half to training, a
 * quarter each to validation and test (the same people may appear in more than one split).
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

export interface RecordedTrace {
  family: string
  events: TraceEvent[]
}

export interface DatasetInput {
  humans: readonly Session[]
  /** DELBOT's real bot libraries. */
  delbotBots: readonly Session[]
  /** Real automation recorded in Chromium through the SDK's recorder (model/data/*.jsonl). */
  recorded: readonly RecordedTrace[]
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
  const ar = rng.fork(9)
  const addWindow = (session: { kind: 'human' | 'bot'; source: string; family: string; group: string }, events: TraceEvent[], split: Split): void => {
    const f = extractFeatures(events)
    if (!f.sufficient) {
      insufficient++
      insufficientBySource.set(session.family, (insufficientBySource.get(session.family) ?? 0) + 1)
      return
    }
    const augmented: Float64Array[] = []
    if (split === 'train') {
      for (let k = 0; k < AUGMENTED_COPIES; k++) {
        const a = extractFeatures(augment(events, ar))
        if (a.sufficient) augmented.push(a.vector)
      }
    }
    const source = session.kind === 'human' ? setupOf(session.source) : session.family
    samples.push({ split, kind: session.kind, source, family: session.family, group: session.group, vector: f.vector, augmented })
  }
  const addWindows = (session: Session, split: Split, r: Rng, max: number): void => {
    for (const w of windowsOf(session, r, max)) addWindow(session, w.events, split)
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
  const runSplit = (family: string, run: number): Split =>
    HELD_OUT_FAMILIES.includes(family) ? 'test' : run < RUNS_PER_FAMILY * 0.7 ? 'train' : run < RUNS_PER_FAMILY * 0.85 ? 'val' : 'test'
  for (const family of SYNTHETIC_FAMILIES) {
    for (let run = 0; run < RUNS_PER_FAMILY; run++) addWindows(synthesise(family, sr.fork(run * 31 + family.length), run), runSplit(family, run), sr, 4)
  }
  const gr = rng.fork(5)
  for (let run = 0; run < RUNS_PER_FAMILY; run++) addWindows(ghostCursor(gr.fork(run), run), runSplit('ghost_cursor', run), gr, 4)
  // The generative bots learn from training people only.
  const steps = fitStepModel(humansBySplit.train)
  const pr = rng.fork(6)
  for (let run = 0; run < RUNS_PER_FAMILY; run++) addWindows(generate(steps, pr.fork(run), run), runSplit('generative', run), pr, 4)
  const profiles = fitProfiles(humansBySplit.train)
  const fr = rng.fork(7)
  for (let run = 0; run < RUNS_PER_FAMILY; run++) addWindows(generateFromProfiles(profiles, fr.fork(run), run), runSplit('profiles', run), fr, 4)
  // Replays (held out) of test people.
  const replayed = humansBySplit.test.filter((s) => !s.whole)
  for (let run = 0; run < 300 && replayed.length > 0; run++) addWindows(replay(sr.pick(replayed), sr, run), 'test', sr, 2)
  // Recorded automation: every seventh trace of a family to validation, the next to test.
  const seen = new Map<string, number>()
  for (const trace of input.recorded) {
    const i = seen.get(trace.family) ?? 0
    seen.set(trace.family, i + 1)
    const split: Split = HELD_OUT_FAMILIES.includes(trace.family) ? 'test' : i % 7 < 5 ? 'train' : i % 7 === 5 ? 'val' : 'test'
    addWindow({ kind: 'bot', source: trace.family, family: trace.family, group: `${trace.family}/${i}` }, trace.events, split)
  }
  return { samples, insufficient, insufficientBySource }
}

/** The key that balances the loss: a human capture set-up, or a bot family. */
export const balanceKey = (s: Sample): string => `${s.kind}:${s.source}`

/**
 * npm run model:train [-- --data DIR --seed N --epochs N --quick]
 *
 * Builds the behavioural bot classifier from ../shared/data (or --data), our bot
 * synthesisers and recorded automation (dataset.ts); cross-validates it leaving out one
 * human set-up and one bot family at a time (cv.ts), which sets the threshold; trains the
 * shipped model on everything but the held-out families (pipeline.ts) and measures it on
 * the test split (evaluate.ts); writes model/artifacts/classifier.json and
 * docs/model-card.md. Seeded: the same seed gives the same bytes.
 * --quick trains and measures the shipped model only, without cross-validation, and
 * writes nothing (for trying a change).
 */
import { readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs'
import { parseArgs } from 'node:util'
import type { TraceEvent } from '@vigil-risk/core/protocol/trace'
import { loadBalabit, loadDelbot, loadFreihaut, loadSapiMouse } from './data'
import { HELD_OUT_FAMILIES, SPLITS, buildDataset, type RecordedTrace } from './dataset'
import { evaluate } from './evaluate'
import { crossValidate, thresholdFromFolds } from './cv'
import { trainModel } from './pipeline'
import { rate, thresholdAtFpr } from './metrics'
import { Rng } from './rng'
import { writeModelCard } from './model-card'

const RECORDED_DIR = 'model/data'

/** Recorded automation: one JSON trace per line, `family` naming the kit (default: the file's name). */
function loadRecorded(): RecordedTrace[] {
  if (!existsSync(RECORDED_DIR)) return []
  return readdirSync(RECORDED_DIR)
    .filter((f) => f.endsWith('-traces.jsonl'))
    .sort()
    .flatMap((file) =>
      readFileSync(`${RECORDED_DIR}/${file}`, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { family?: string; events: TraceEvent[] })
        .map((t) => ({ family: t.family ?? file.replace(/-traces\.jsonl$/, ''), events: t.events })),
    )
}

function main(): void {
  const { values } = parseArgs({
    options: {
      data: { type: 'string', default: '../shared/data' },
      seed: { type: 'string', default: '20261126' },
      epochs: { type: 'string', default: '30' },
      quick: { type: 'boolean', default: false },
    },
  })
  const seed = Number(values.seed)
  const epochs = Number(values.epochs)
  const rng = new Rng(seed)
  const started = Date.now()
  const log = (msg: string): void => console.log(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}`)

  const dataDir = values.data
  if (!existsSync(dataDir)) throw new Error(`no data at ${dataDir}: pass --data DIR (see ../shared/data/README.md)`)
  const delbot = loadDelbot(dataDir)
  const humans = [...loadSapiMouse(dataDir), ...loadBalabit(dataDir), ...loadFreihaut(dataDir), ...delbot.filter((s) => s.kind === 'human')]
  const delbotBots = delbot.filter((s) => s.kind === 'bot')
  const recorded = loadRecorded()
  log(`loaded ${humans.length} human sessions, ${delbotBots.length} DELBOT bot recordings, ${recorded.length} recorded automation traces`)
  const { samples, insufficient, insufficientBySource } = buildDataset({ humans, delbotBots, recorded }, rng)
  log(`all windows: ${samples.length} (${insufficient} insufficient, not scored)`)

  const options = { seed, epochs, rng: rng.fork(4), log }
  const cv = values.quick ? null : crossValidate(samples, options)
  const eligible = samples.filter((s) => !HELD_OUT_FAMILIES.includes(s.family))
  const train = eligible.filter((s) => s.split === 'train')
  log(`training the shipped model on ${train.length} windows (${train.reduce((a, s) => a + s.augmented.length, 0)} augmented copies)`)
  const model = trainModel(train, eligible.filter((s) => s.split === 'val'), options)
  log(`calibration: a=${model.calibration.a.toFixed(4)} c=${model.calibration.c.toFixed(4)}`)

  const threshold = cv ? thresholdFromFolds(cv.humans) : thresholdAtFpr(samples.filter((s) => s.split === 'val' && s.kind === 'human').map(model.score), 0.0025)
  // Rounded up: a threshold rounded down would let the worst set-up past 1%.
  const artifact = { ...model.artifact, threshold: Math.min(1, Math.ceil(threshold * 1e6) / 1e6) }
  const result = evaluate(samples.filter((s) => s.split === 'test'), model.score, artifact.threshold)
  for (const r of result.familyRows) log(`bot ${r.family}${r.heldOut ? ' (held out)' : ''}: n=${r.n} auc=${r.auc.toFixed(4)} detect@1%FPR=${r.detectAt1.toFixed(3)} detect@threshold=${r.detectAtShipped.toFixed(3)}`)
  for (const r of result.humanRows) log(`human ${r.source}: n=${r.n} FPR@threshold=${r.fprAtShipped.toFixed(4)}`)
  log(`threshold ${artifact.threshold}; mean detection at 1% FPR over ${result.familyRows.length} families: ${result.meanDetect.toFixed(3)}`)
  if (!cv) return

  // Held-out figures: each set-up and family scored by a model that never saw it.
  const pooled = thresholdAtFpr(cv.humans.flatMap((f) => f.scores), 0.01)
  const humanRows = cv.humans.map((f) => ({
    setup: f.setup,
    n: f.n,
    q99: f.q99,
    fprAtShipped: rate(f.scores, artifact.threshold),
    meanDetect: f.detectAtQ99.reduce((a, d) => a + d.rate, 0) / f.detectAtQ99.length,
    worst: f.detectAtQ99.reduce((a, d) => (d.rate < a.rate ? d : a), f.detectAtQ99[0]!),
  }))
  const familyRows = cv.families.map((f) => ({ family: f.family, n: f.n, detectAt1: rate(f.scores, thresholdAtFpr(f.humanScores, 0.01)), detectAtPooled: rate(f.scores, pooled), detectAtShipped: rate(f.scores, artifact.threshold) }))
  for (const r of familyRows) log(`held-out ${r.family}: detect@1%FPR=${r.detectAt1.toFixed(3)} @pooled=${r.detectAtPooled.toFixed(3)} @threshold=${r.detectAtShipped.toFixed(3)}`)
  writeFileSync('model/artifacts/classifier.json', JSON.stringify(artifact) + '\n')
  log('wrote model/artifacts/classifier.json')
  writeModelCard({
    artifact,
    seed,
    epochs,
    counts: {
      split: SPLITS.map((split) => ({
        split,
        humans: samples.filter((s) => s.split === split && s.kind === 'human').length,
        bots: samples.filter((s) => s.split === split && s.kind === 'bot').length,
      })),
      insufficient,
      insufficientBySource: [...insufficientBySource.entries()].sort(),
      augmented: train.reduce((a, s) => a + s.augmented.length, 0),
      recorded: [...new Set(recorded.map((r) => r.family))].map((family) => [family, recorded.filter((r) => r.family === family).length] as [string, number]),
    },
    ...result,
    cv: { humanRows, familyRows, pooled, seconds: cv.seconds },
    seconds: Math.round((Date.now() - started) / 1000),
  })
  log('wrote docs/model-card.md')
}

main()

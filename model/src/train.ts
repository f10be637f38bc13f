/**
 * npm run model:train [-- --data DIR --seed N --epochs N]
 *
 * Builds the behavioural bot classifier from ../shared/data (or --data), our bot
 * synthesisers and recorded Playwright traces (dataset.ts), trains it (fit.ts), chooses
 * its threshold and measures it (evaluate.ts); writes model/artifacts/classifier.json and
 * docs/model-card.md. Seeded: the same seed gives the same weights.
 */
import { readFileSync, writeFileSync, existsSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { featureSchema, MODEL_FEATURES } from '@vigil-risk/core/features'
import { decodeModel, forward, type ModelArtifact } from '@vigil-risk/core/classifier/model'
import type { TraceEvent } from '@vigil-risk/core/protocol/trace'
import { loadBalabit, loadDelbot, loadSapiMouse } from './data'
import { SPLITS, balanced, buildDataset, type Sample } from './dataset'
import { CLIP, fitNetwork, standardisation } from './fit'
import { chooseThreshold, evaluate } from './evaluate'
import { Rng } from './rng'
import { writeModelCard } from './model-card'

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { data: { type: 'string', default: '../shared/data' }, seed: { type: 'string', default: '20261126' }, epochs: { type: 'string', default: '40' } },
  })
  const seed = Number(values.seed)
  const epochs = Number(values.epochs)
  const rng = new Rng(seed)
  const started = Date.now()
  const log = (msg: string): void => console.log(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}`)

  const dataDir = values.data
  if (!existsSync(dataDir)) throw new Error(`no data at ${dataDir}: pass --data DIR (see ../shared/data/README.md)`)
  const delbot = loadDelbot(dataDir)
  const humans = [...loadSapiMouse(dataDir), ...loadBalabit(dataDir), ...delbot.filter((s) => s.kind === 'human')]
  const delbotBots = delbot.filter((s) => s.kind === 'bot')
  log(`loaded ${humans.length} human sessions, ${delbotBots.length} DELBOT bot recordings`)
  const recordedFile = 'model/data/playwright-traces.jsonl'
  const recorded = existsSync(recordedFile)
    ? readFileSync(recordedFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: string; events: TraceEvent[] })
    : []
  const { samples, insufficient, insufficientBySource } = buildDataset({ humans, delbotBots, recorded }, rng)
  log(`all windows: ${samples.length} (${insufficient} insufficient, not scored)`)

  const train = samples.filter((s) => s.split === 'train')
  const norm = standardisation(train)
  const trainSet = balanced(train, 3000, rng.fork(4))
  log(`training on ${trainSet.length} balanced samples, ${norm.index.length} features`)
  const layers = await fitNetwork(trainSet, norm, { seed, epochs, rng, log })

  const draft: ModelArtifact = {
    version: `behavior-${seed}-${norm.index.length}f`,
    featureSchema: featureSchema(),
    features: [...MODEL_FEATURES],
    mean: norm.mean,
    std: norm.std,
    clip: CLIP,
    layers,
    threshold: 0.5,
  }
  const scorer = decodeModel(draft)
  const scoreOf = (s: Sample): number => forward(scorer, s.vector)
  const threshold = chooseThreshold(samples.filter((s) => s.split === 'val'), scoreOf)
  const artifact: ModelArtifact = { ...draft, threshold: Math.round(threshold * 1e6) / 1e6 }
  writeFileSync('model/artifacts/classifier.json', JSON.stringify(artifact) + '\n')
  log(`threshold ${artifact.threshold}; wrote model/artifacts/classifier.json`)

  const result = evaluate(samples.filter((s) => s.split === 'test'), scoreOf, artifact.threshold)
  for (const r of result.familyRows) log(`bot ${r.family}${r.heldOut ? ' (held out)' : ''}: n=${r.n} auc=${r.auc.toFixed(4)} detect@1%FPR=${r.detectAt1.toFixed(3)} detect@threshold=${r.detectAtShipped.toFixed(3)}`)
  for (const r of result.humanRows) log(`human ${r.source}: n=${r.n} FPR@threshold=${r.fprAtShipped.toFixed(4)}`)
  log(`mean detection at 1% FPR over ${result.familyRows.length} families: ${result.meanDetect.toFixed(3)}`)

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
      trainBalanced: trainSet.length,
    },
    ...result,
    seconds: Math.round((Date.now() - started) / 1000),
  })
  log('wrote docs/model-card.md')
}

await main()

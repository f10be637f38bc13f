/**
 * The classifier: inference time in Chromium (tfjs-core chunk) beside a plain typed-array
 * forward pass in the same page, feature extraction time, and in Node the collector's
 * forward pass beside a tfjs predict() call.
 */
import { readFileSync } from 'node:fs'
import { build } from 'esbuild'
import * as tf from '@tensorflow/tfjs'
import { launchChromium } from '../../test/support/browser'
import { startTestCollector } from '../../test/support/collector'
import { compactTrace, type TraceEvent } from '@vigil-risk/core/protocol/trace'
import { extractFeatures } from '@vigil-risk/core/features'
import { decodeModel, forward, modelInput, type ModelArtifact } from '@vigil-risk/core/classifier/model'
import { BUDGETS } from '../budgets'
import type { SuiteResult } from '../types'
import { median } from '../stats'


export async function classifierCost(): Promise<SuiteResult> {
  const golden = readFileSync('test/fixtures/traces/golden.jsonl', 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: string; events: TraceEvent[] })
  const traces = golden.filter((g) => extractFeatures(g.events).sufficient).map((g) => compactTrace(g.events))
  const plain = (
    await build({
      stdin: {
        contents: `import { extractFeatures } from '@vigil-risk/core/features'; import { expandTrace } from '@vigil-risk/core/protocol/trace'; import { decodeModel, forward } from '@vigil-risk/core/classifier/model'; import artifact from './model/artifacts/classifier.json'; window.__plain = { extractFeatures, expandTrace, model: decodeModel(artifact), forward }`,
        resolveDir: process.cwd(),
        loader: 'ts',
      },
      bundle: true,
      format: 'iife',
      write: false,
    })
  ).outputFiles[0]!.text

  const collector = await startTestCollector()
  const browser = await launchChromium()
  let page: { features: number[]; plain: number[]; infer: number[]; tfjs: number[] }
  try {
    const tab = await browser.newPage()
    await tab.route(`${collector.url}/bench/classifier`, (r) => r.fulfill({ contentType: 'text/html', body: `<!doctype html><script>${plain}</script>` }))
    await tab.goto(`${collector.url}/bench/classifier`)
    page = await tab.evaluate<typeof page>(`(async () => {
      const { createScorer } = await import('/sdk/vigil-classifier.mjs')
      const scorer = await createScorer()
      const P = window.__plain
      const traces = ${JSON.stringify(traces)}
      const vectors = traces.map((t) => P.extractFeatures(P.expandTrace(t)).vector)
      // Timer resolution is 0.1 ms here: time batches of 40 calls per trace, report per call.
      const time = (fn, reps) => { const out = []; for (let r = 0; r < reps; r++) for (let i = 0; i < traces.length; i++) { const t0 = performance.now(); for (let k = 0; k < 40; k++) fn(i); out.push((performance.now() - t0) / 40) } return out }
      time((i) => scorer(traces[i]), 5); time((i) => P.forward(P.model, vectors[i]), 5); time((i) => scorer.infer(vectors[i]), 5)
      return {
        features: time((i) => P.extractFeatures(P.expandTrace(traces[i])), 10),
        plain: time((i) => P.forward(P.model, vectors[i]), 10),
        infer: time((i) => scorer.infer(vectors[i]), 10),
        tfjs: time((i) => scorer(traces[i]), 10),
      }
    })()`)
  } finally {
    await browser.close()
    await collector.close()
  }
  const inference = median(page.infer)

  // Node: the collector's forward pass beside tfjs predict() on the same weights.
  const artifact = JSON.parse(readFileSync('model/artifacts/classifier.json', 'utf8')) as ModelArtifact
  const model = decodeModel(artifact)
  await tf.setBackend('cpu')
  const net = tf.sequential({ layers: model.layers.map((l, i) => tf.layers.dense({ units: l.units, activation: l.activation, ...(i === 0 ? { inputShape: [l.inputs] } : {}) })) })
  net.layers.forEach((layer, i) => layer.setWeights([tf.tensor2d(model.layers[i]!.w, [model.layers[i]!.inputs, model.layers[i]!.units]), tf.tensor1d(model.layers[i]!.b)]))
  const vectors = golden.map((g) => extractFeatures(g.events)).filter((f) => f.sufficient).map((f) => f.vector)
  const N = 3000
  let t0 = performance.now()
  for (let i = 0; i < N; i++) forward(model, vectors[i % vectors.length]!)
  const plainNode = ((performance.now() - t0) * 1000) / N
  t0 = performance.now()
  for (let i = 0; i < N; i++) {
    const x = tf.tensor2d(modelInput(model, vectors[i % vectors.length]!), [1, model.index.length])
    const y = net.predict(x) as tf.Tensor
    y.dataSync()
    x.dispose()
    y.dispose()
  }
  const tfNode = ((performance.now() - t0) * 1000) / N
  return {
    suite: 'classifier',
    rows: [
      { metric: 'Chromium: plain typed-array forward pass, p50', value: median(page.plain), unit: 'ms', baseline: true },
      { metric: 'Chromium: tfjs-core chunk inference, p50', value: inference, unit: 'ms', ratio: inference / Math.max(1e-6, median(page.plain)), budget: BUDGETS.classifierInferenceMs, pass: inference <= BUDGETS.classifierInferenceMs },
      { metric: 'Chromium: feature extraction from a ≤600-event trace, p50', value: median(page.features), unit: 'ms' },
      { metric: 'Chromium: whole client score (features + inference), p50', value: median(page.tfjs), unit: 'ms' },
      { metric: 'Chromium: whole client score (features + inference), worst trace', value: Math.max(...page.tfjs), unit: 'ms' },
      { metric: 'Node: tfjs predict() per call', value: tfNode, unit: 'µs', baseline: true },
      { metric: "Node: the collector's forward pass per call", value: plainNode, unit: 'µs', ratio: plainNode / tfNode },
    ],
  }
}

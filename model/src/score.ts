/**
 * npm run -s model:score -- --input FILE.jsonl   (or --input - for standard input)
 *
 * One JSON line per trace in, one line out: {"id", "score": P(bot), "bot": score ≥ the
 * shipped threshold}. Traces with too little mouse behaviour are not judged:
 * {"id", "score": null, "bot": false, "insufficient": true, "reason": …}.
 * A malformed line is reported on stderr with its line number; the others are scored,
 * and the exit code is 1 if any line was malformed.
 * Uses exactly the SDK's feature code and the shipped model.
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { createInterface } from 'node:readline'
import { createReadStream } from 'node:fs'
import { extractFeatures } from '@vigil-risk/core/features'
import { decodeModel, forward, type ModelArtifact } from '@vigil-risk/core/classifier/model'
import { parseTraceLine, TraceFormatError } from '@vigil-risk/core/protocol/trace'

const { values } = parseArgs({ options: { input: { type: 'string', short: 'i' }, model: { type: 'string', default: 'model/artifacts/classifier.json' } } })
if (!values.input) {
  console.error('usage: npm run -s model:score -- --input FILE.jsonl   (- for standard input)')
  process.exit(2)
}
const model = decodeModel(JSON.parse(readFileSync(values.model, 'utf8')) as ModelArtifact)
const lines = createInterface({ input: values.input === '-' ? process.stdin : createReadStream(values.input), crlfDelay: Infinity })

let lineNo = 0
let errors = 0
for await (const line of lines) {
  lineNo++
  if (line.trim() === '') continue
  try {
    const trace = parseTraceLine(line)
    const f = extractFeatures(trace.events)
    if (!f.sufficient) {
      process.stdout.write(JSON.stringify({ id: trace.id, score: null, bot: false, insufficient: true, reason: f.reason }) + '\n')
      continue
    }
    const score = forward(model, f.vector)
    // Full double precision: calibrated scores near 0 or 1 differ in the 7th digit and beyond, and must not tie.
    process.stdout.write(JSON.stringify({ id: trace.id, score, bot: score >= model.threshold }) + '\n')
  } catch (err) {
    if (!(err instanceof TraceFormatError)) throw err
    errors++
    console.error(`${values.input}: line ${lineNo}: ${err.message}`)
  }
}
process.exitCode = errors > 0 ? 1 : 0

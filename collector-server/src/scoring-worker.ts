/**
 * A scoring thread (risk/scoring-pool.ts): for each collect body the request thread posts
 * (its text, as received), posts back the signature check and then, when it verified
 * and was asked for, the payload's analysis (given its challenge's terms), under the
 * body's id. It says 'ready' once its modules (canonical encoding, detectors, features,
 * classifier, sketch) are loaded; until then the pool gives it nothing. It counts the
 * bodies it finished in `workerData.finished[0]` (shared memory), which the pool reads as
 * its backlog and to tell a thread that is stuck; `finished[1]` says it counts.
 */
import { parentPort, workerData } from 'node:worker_threads'
import type { CollectBody } from '@vigil-risk/core/protocol/schema'
import { checkSignature } from './risk/collect-check'
import { analysePayload, type ProofTerms } from './risk/payload-analysis'

const port = parentPort
if (!port) throw new Error('scoring-worker runs as a worker thread (risk/scoring-pool.ts)')
const finished = (workerData as { finished?: Int32Array } | null)?.finished ?? new Int32Array(2)
Atomics.store(finished, 1, 1)
port.on('message', ({ id, raw, terms }: { id: number; raw: string; terms: ProofTerms | null }) => {
  try {
    // The request thread parsed and validated this same text before posting it.
    const body = JSON.parse(raw) as CollectBody
    const signature = checkSignature(body)
    port.postMessage({ id, signature })
    if (signature.ok && terms) port.postMessage({ id, analysis: analysePayload(body.payload, terms) })
  } catch (err) {
    port.postMessage({ id, error: err instanceof Error ? err.message : String(err) })
  } finally {
    Atomics.add(finished, 0, 1)
  }
})
port.postMessage('ready')

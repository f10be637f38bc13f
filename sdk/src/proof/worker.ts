/**
 * The proof worker (built on its own by rollup.config.mjs and inlined into the SDK as
 * a string: a worker must come from the page's origin, so it starts from a blob URL). It
 * searches the proof of work and measures the text probe off the main thread.
 */
import { searchPow } from '@vigil-risk/core/protocol/pow'
import { measureText } from './text'
import { WORKER_STARTED, type WorkerJob, type WorkerMessage, type WorkerResult } from './messages'

const CHUNK = 1 << 16

const scope = self as unknown as { onmessage: ((e: MessageEvent<WorkerJob>) => void) | null; postMessage(m: WorkerMessage): void }

scope.onmessage = (e) => {
  scope.postMessage(WORKER_STARTED)
  const { digest, difficulty, hi, text } = e.data
  let lo = -1
  if (difficulty > 0) {
    for (let start = 0; lo < 0; start += CHUNK) lo = searchPow(digest, difficulty, hi, start, CHUNK)
  }
  let answer: WorkerResult['text'] = null
  if (text) {
    try {
      answer = measureText(typeof OffscreenCanvas === 'function' ? new OffscreenCanvas(1, 1).getContext('2d') : null, text)
    } catch (err) {
      answer = { e: err instanceof Error ? err.name.slice(0, 64) : 'error' }
    }
  }
  scope.postMessage({ lo, text: answer })
}

import type { TextPlan } from '@vigil-risk/core/protocol/probes'
import type { Proof } from '@vigil-risk/core/protocol/schema'

/** What the page asks of the proof worker. */
export interface WorkerJob {
  digest: Uint8Array
  difficulty: number
  /** The nonce's high word (random): the search runs over the low word. */
  hi: number
  text: TextPlan | null
}

export interface WorkerResult {
  /** The nonce's low word, or -1 when no work was asked for. */
  lo: number
  /** The text probe's answer (null: not asked); { e: 'no_canvas' } when the worker has no OffscreenCanvas. */
  text: Proof['text'] | null
}

/** The worker's first message, as soon as it has the job: it runs. */
export const WORKER_STARTED = 'started'

export type WorkerMessage = WorkerResult | typeof WORKER_STARTED

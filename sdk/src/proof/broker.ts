/**
 * Challenges, fetched for this device and answered ahead of time: when the page has gone
 * idle the SDK fetches the next challenge and does its work in a worker, so a getToken
 * finds it ready (a returning device with a good history is asked for no work at all).
 * A challenge is used once; one older than its freshness allows, or a failed fetch, is
 * replaced by a new one fetched at getToken.
 */
import { CHALLENGE_TTL_MS } from '@vigil-risk/core/protocol/payload'
import type { ChallengeResponse, Proof } from '@vigil-risk/core/protocol/schema'
import { VigilError, abortReason, toVigilError } from '../errors'
import { getJson } from '../transport/http'
import { answerChallenge } from './answer'

/** A prefetched challenge is used only with this much of its life left, ms. */
const FRESH_FOR_MS = 30_000
/** How long a challenge request may go unanswered before getToken sends a second beside it. */
const TAKE_GRACE_MS = 1500
/** A challenge request unanswered after this long is abandoned. */
const CHALLENGE_REQUEST_MS = 10_000

interface ReadyChallenge {
  challenge: string
  accountSalt: string | undefined
  /** The site accepts Private Access Tokens (GET /v1/private-token). */
  privateToken: boolean
  proof: Proof
  /** When the challenge arrived, on the recorder's clock (ms). */
  receivedAt: number
  /** performance.now() after which it is too old to use. */
  usableUntil: number
}

export interface Broker {
  /** A ready challenge: the prefetched one if still fresh, else a new one. */
  take(signal: AbortSignal): Promise<ReadyChallenge>
  /** Fetches and answers the next challenge in the background. */
  prefetch(): void
  stop(): void
}

function readChallenge(body: unknown): ChallengeResponse {
  const c = body as Partial<ChallengeResponse>
  if (typeof c.challenge !== 'string' || c.challenge.length === 0 || c.challenge.length > 512) throw new VigilError('bad_response', 'challenge missing from response')
  if (typeof c.seed !== 'string' || !Array.isArray(c.probes) || typeof c.difficulty !== 'number' || c.difficulty < 0 || c.difficulty > 32) {
    throw new VigilError('bad_response', 'the challenge carries no probe seed or work')
  }
  return c as ChallengeResponse
}

/** A challenge on its way: fetched, then answered. */
interface Flight {
  ready: Promise<ReadyChallenge>
  /** How long its request has gone unanswered, ms: 0 before it is sent, null once it is answered. */
  waiting(): number | null
}

export function createBroker(endpoint: string, siteKey: string, deviceId: () => Promise<string>, clock: () => number): Broker {
  let pending: Flight | null = null
  const background = new AbortController()

  const fly = (signal: AbortSignal): Flight => {
    let sentAt: number | null = null
    let answered = false
    const ready = (async (): Promise<ReadyChallenge> => {
      const id = await deviceId()
      // The request, unlike the work, gets a deadline of its own: a lost one must not hold a
      // connection (and a prefetch) for the page's life.
      const request = new AbortController()
      const forward = (): void => request.abort(signal.reason)
      signal.addEventListener('abort', forward)
      const deadline = setTimeout(() => request.abort(new VigilError('timeout', 'the challenge request went unanswered')), CHALLENGE_REQUEST_MS)
      const started = performance.now()
      sentAt = started
      let body: unknown
      try {
        body = await getJson(`${endpoint}/v1/challenge?siteKey=${encodeURIComponent(siteKey)}&device=${encodeURIComponent(id)}`, request.signal)
      } finally {
        answered = true
        clearTimeout(deadline)
        signal.removeEventListener('abort', forward)
      }
      const c = readChallenge(body)
      const receivedAt = clock()
      const proof = await answerChallenge(c, signal)
      return {
        challenge: c.challenge,
        accountSalt: typeof c.accountSalt === 'string' ? c.accountSalt : undefined,
        privateToken: c.privateToken === true,
        proof,
        receivedAt,
        usableUntil: started + CHALLENGE_TTL_MS - FRESH_FOR_MS,
      }
    })()
    ready.catch(() => undefined)
    return { ready, waiting: () => (answered ? null : sentAt === null ? 0 : performance.now() - sentAt) }
  }

  /** Keeps a challenge nobody took for the next getToken, while it is fresh. */
  const keep = (r: ReadyChallenge): void => {
    if (!pending && !background.signal.aborted && performance.now() < r.usableUntil) pending = { ready: Promise.resolve(r), waiting: () => null }
  }

  return {
    take(signal) {
      const prefetched = pending
      pending = null
      const first = prefetched ?? fly(signal)
      // A challenge request unanswered for TAKE_GRACE_MS may be lost: a second goes out beside
      // it, the first challenge ready is used and the other kept for next time. The call fails
      // only when every challenge it waits for has failed.
      return new Promise<ReadyChallenge>((resolve, reject) => {
        let settled = false
        let second = false
        let live = 1
        let timer: ReturnType<typeof setTimeout> | undefined
        const end = (): void => {
          settled = true
          clearTimeout(timer)
          signal.removeEventListener('abort', aborted)
        }
        const finish = (r: ReadyChallenge): void => {
          if (settled) return keep(r)
          end()
          resolve(r)
        }
        const fail = (err: unknown): void => {
          if (settled) return
          end()
          reject(toVigilError(err))
        }
        const lost = (err: unknown): void => {
          if (--live === 0) fail(err)
        }
        const aborted = (): void => fail(abortReason(signal))
        const fetchSecond = (): void => {
          if (second || settled) return
          second = true
          live++
          fly(signal).ready.then(finish, lost)
        }
        // Measured from when the request went out, not from this call.
        const watch = (): void => {
          if (settled || second) return
          const waited = first.waiting()
          if (waited === null) return
          if (waited >= TAKE_GRACE_MS) fetchSecond()
          else timer = setTimeout(watch, TAKE_GRACE_MS - waited)
        }
        watch()
        signal.addEventListener('abort', aborted)
        first.ready.then(
          (r) => {
            if (performance.now() < r.usableUntil) return finish(r)
            // A stale prefetch is replaced by a request of this call's own.
            fetchSecond()
            live--
          },
          // So is a failed one; a failed request of the call's own fails it, unless another is on its way.
          (err: unknown) => {
            if (prefetched) fetchSecond()
            lost(err)
          },
        )
      })
    },
    prefetch() {
      if (pending || background.signal.aborted) return
      pending = fly(background.signal)
    },
    stop() {
      background.abort(new VigilError('destroyed', 'this Vigil client was destroyed'))
      pending = null
    },
  }
}

/**
 * Challenges, fetched for this device and answered ahead of time: when the page has gone
 * idle the SDK fetches the next challenge and does its work in a worker, so a getToken
 * finds it ready (a returning device with a good history is asked for no work at all).
 * A challenge is used once; one older than its freshness allows, or a failed fetch, is
 * replaced by a new one fetched at getToken.
 */
import { CHALLENGE_TTL_MS } from '@vigil-risk/core/protocol/payload'
import type { ChallengeResponse, Proof } from '@vigil-risk/core/protocol/schema'
import { VigilError } from '../errors'
import { getJson } from '../transport/http'
import { answerChallenge } from './answer'

/** A prefetched challenge is used only with this much of its life left, ms. */
const FRESH_FOR_MS = 30_000
/** How long getToken waits for a prefetch still in flight before fetching a challenge of its own. */
const TAKE_GRACE_MS = 1500

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
  /** The collector's answer is in (what remains is the work, on this device). */
  arrived: boolean
}

export function createBroker(endpoint: string, siteKey: string, deviceId: () => Promise<string>, clock: () => number): Broker {
  let pending: Flight | null = null
  const background = new AbortController()

  const fly = (signal: AbortSignal): Flight => {
    let arrived = false
    const ready = (async (): Promise<ReadyChallenge> => {
      const id = await deviceId()
      const started = performance.now()
      const c = readChallenge(await getJson(`${endpoint}/v1/challenge?siteKey=${encodeURIComponent(siteKey)}&device=${encodeURIComponent(id)}`, signal))
      arrived = true
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
    return {
      ready,
      get arrived() {
        return arrived
      },
    }
  }

  /** Keeps a challenge nobody took for the next getToken, while it is fresh. */
  const keep = (r: ReadyChallenge): void => {
    if (!pending && !background.signal.aborted && performance.now() < r.usableUntil) pending = { ready: Promise.resolve(r), arrived: true }
  }

  return {
    take(signal) {
      const prefetched = pending
      pending = null
      const first = prefetched ?? fly(signal)
      // A challenge request still unanswered after TAKE_GRACE_MS may be lost (a request has
      // no deadline but the call's): a second goes out beside it, the first challenge ready
      // is used and the other kept for next time. Work under way is never doubled.
      return new Promise<ReadyChallenge>((resolve, reject) => {
        let settled = false
        let second = false
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
          reject(err instanceof Error ? err : new VigilError('internal_error', String(err)))
        }
        const aborted = (): void => fail(signal.reason instanceof VigilError ? signal.reason : new VigilError('timeout', 'aborted'))
        const fetchSecond = (): void => {
          if (second || settled) return
          second = true
          fly(signal).ready.then(finish, fail)
        }
        const timer = setTimeout(() => first.arrived || fetchSecond(), TAKE_GRACE_MS)
        signal.addEventListener('abort', aborted)
        first.ready.then(
          (r) => (performance.now() < r.usableUntil ? finish(r) : fetchSecond()),
          // A failed prefetch is replaced; a failed request of this call's own is its answer
          // (unless a second is on its way already).
          (err: unknown) => (prefetched ? fetchSecond() : second ? undefined : fail(err)),
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

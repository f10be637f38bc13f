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

export function createBroker(endpoint: string, siteKey: string, deviceId: () => Promise<string>, clock: () => number): Broker {
  let pending: Promise<ReadyChallenge> | null = null
  const background = new AbortController()

  const fetchAndAnswer = async (signal: AbortSignal): Promise<ReadyChallenge> => {
    const id = await deviceId()
    const started = performance.now()
    const c = readChallenge(await getJson(`${endpoint}/v1/challenge?siteKey=${encodeURIComponent(siteKey)}&device=${encodeURIComponent(id)}`, signal))
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
  }

  return {
    async take(signal) {
      const ready = pending
      pending = null
      if (ready) {
        const r = await ready.catch(() => null)
        if (r && performance.now() < r.usableUntil) return r
      }
      return fetchAndAnswer(signal)
    },
    prefetch() {
      if (pending || background.signal.aborted) return
      const p = fetchAndAnswer(background.signal)
      p.catch(() => undefined)
      pending = p
    },
    stop() {
      background.abort(new VigilError('destroyed', 'this Vigil client was destroyed'))
      pending = null
    },
  }
}

/**
 * Rate limits on the shared store, so that every instance counts together: fixed
 * one-minute windows per client IP and per device. Over the limit: 429 `rate_limited`
 * with Retry-After (seconds until the window ends).
 */
import { CollectorError } from '../errors'
import { timed } from '../metrics'
import type { AppContext } from '../context'

const RATE_WINDOW_MS = 60_000

export async function enforceRateLimit(ctx: AppContext, key: string, max: number): Promise<void> {
  const at = ctx.clock.now()
  const { count, resetAt } = await timed(ctx.metrics, 'rate_limit', () => ctx.store.rateLimits.hit(key, RATE_WINDOW_MS, at))
  if (count > max) {
    throw new CollectorError('rate_limited', undefined, { 'retry-after': String(Math.max(1, Math.ceil((resetAt - at) / 1000))) })
  }
}

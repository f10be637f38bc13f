/**
 * Rate limits on the shared store, so that every instance counts together: fixed
 * one-minute windows per client IP and per device. Over the limit: 429 `rate_limited`
 * with Retry-After (seconds until the window ends).
 */
import type { FastifyRequest } from 'fastify'
import { CollectorError } from '../errors'
import { timed } from '../metrics'
import type { AppContext } from '../context'
import type { SiteRegistry } from '../config/sites'
import { clientBucket } from '../net/ip'

const RATE_WINDOW_MS = 60_000

export async function enforceRateLimit(ctx: AppContext, key: string, max: number): Promise<void> {
  const at = ctx.clock.now()
  const { count, resetAt } = await timed(ctx.metrics, 'rate_limit', () => ctx.store.rateLimits.hit(key, RATE_WINDOW_MS, at))
  if (count > max) {
    throw new CollectorError('rate_limited', undefined, { 'retry-after': String(Math.max(1, Math.ceil((resetAt - at) / 1000))) })
  }
}

/**
 * A route's onRequest hook: a per-IP limit taken before the body is read, parsed or
 * validated, so that junk costs one counter and nothing else (no failure row, no parse).
 * Later checks (per site, per device) still apply to what gets through.
 */
export function limitBeforeParsing(ctx: AppContext, route: string, max: () => number): (request: FastifyRequest) => Promise<void> {
  return (request) => enforceRateLimit(ctx, `${route}:ip:${clientBucket(request.clientIp)}`, max())
}

const generous = new WeakMap<SiteRegistry, number>()
/**
 * The most generous site's per-IP limit: before parsing, the site is not known yet. The test
 * keys (default policy) do not count while the collector has sites of its own: they must not
 * raise the bound a site set for itself.
 */
export function mostGenerousIpLimit(sites: SiteRegistry): number {
  let max = generous.get(sites)
  if (max === undefined) {
    const real = sites.list().filter((s) => s.testVerdict === undefined)
    max = Math.max(0, ...(real.length > 0 ? real : sites.list()).map((s) => s.policy.rateLimits.ipPerMinute))
    generous.set(sites, max)
  }
  return max
}

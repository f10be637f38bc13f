/**
 * GET /v1/stats?siteKey=…&minutes=60 — the dashboard's data, for one site, from the
 * shared store (every instance's traffic). Authorised by the site's read-only dashboard key
 * as a bearer token (not its siteverify or seal secret).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { CollectorError, errorSchema } from '../errors'
import { timed } from '../metrics'
import type { AppContext } from '../context'
import { limitBeforeParsing } from '../risk/rate-limit'

const StatsResponse = Type.Object({
  siteKey: Type.String(),
  from: Type.Integer(),
  to: Type.Integer(),
  bucketMs: Type.Integer(),
  buckets: Type.Array(Type.Object({ t: Type.Integer(), counts: Type.Record(Type.String(), Type.Integer()) })),
  topDevices: Type.Array(Type.Object({ deviceId: Type.String(), accounts: Type.Integer() })),
})

/** Per client IP per minute, whatever the site: an open dashboard polls 30 times a minute. */
const STATS_PER_IP_PER_MINUTE = 120

const StatsQuery = Type.Object({
  siteKey: Type.String({ maxLength: 64 }),
  minutes: Type.Optional(Type.String({ pattern: '^[0-9]{1,4}$' })),
})

export const statsRoutes: FastifyPluginAsyncTypebox<{ ctx: AppContext }> = async (app, { ctx }) => {
  app.get(
    '/v1/stats',
    {
      // Before the secret is checked: guessing costs a request each, and a snapshot is a heavy read.
      onRequest: limitBeforeParsing(ctx, 'stats', () => STATS_PER_IP_PER_MINUTE),
      schema: { summary: "A site's verdicts, reasons, failures, scores and top devices, per minute", querystring: StatsQuery, response: { 200: StatsResponse, '4xx': errorSchema } },
    },
    async (request, reply) => {
      const site = ctx.sites().get(request.query.siteKey)
      const auth = request.headers.authorization
      const secret = typeof auth === 'string' && auth.startsWith('Bearer ') ? auth.slice(7) : ''
      const to = ctx.clock.now()
      if (!site || !site.secretMatches('dashboard', secret, to)) throw new CollectorError('unauthorized')
      const minutes = Math.min(24 * 60, Math.max(1, Number(request.query.minutes ?? 60)))
      reply.header('cache-control', 'no-store')
      return timed(ctx.metrics, 'stats_snapshot', () => ctx.store.stats.snapshot(site.siteKey, to - (minutes - 1) * 60_000, to))
    },
  )
}

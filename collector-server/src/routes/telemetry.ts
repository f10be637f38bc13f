/**
 * POST /v1/telemetry: the SDK's failure reports (core/src/protocol/telemetry.ts) — pages
 * that could not get a token say why (timeout, collector unreachable, a 5xx…), once the
 * collector is reachable again. Counted in /metrics by code, so an outage or a network
 * that blocks the collector shows from the shoppers' side. Unauthenticated like collect:
 * the site's origins and its per-IP rate limit apply; codes are a closed set, so the
 * metric's labels cannot be inflated, and the counts one request adds are capped.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { CollectorError, errorSchema } from '../errors'
import { TelemetryBody } from '@vigil-risk/core/protocol/schema'
import { TelemetryResponse } from '../schemas'
import type { AppContext } from '../context'
import { enforceRateLimit, limitBeforeParsing, mostGenerousIpLimit } from '../risk/rate-limit'
import { TELEMETRY_MAX_REPORTS } from '@vigil-risk/core/protocol/telemetry'
import { refuseForeignOrigin } from './cors'
import { clientBucket } from '../net/ip'

export const telemetryRoutes: FastifyPluginAsyncTypebox<{ ctx: AppContext }> = async (app, { ctx }) => {
  app.post(
    '/v1/telemetry',
    {
      bodyLimit: 16 * 1024,
      onRequest: limitBeforeParsing(ctx, 'telemetry', () => mostGenerousIpLimit(ctx.sites())),
      schema: {
        summary: "Report the SDK's failed getToken calls (codes and timings only)",
        body: TelemetryBody,
        response: { 202: TelemetryResponse, '4xx': errorSchema },
      },
    },
    async (request, reply) => {
      const { siteKey, reports, dropped } = request.body
      const site = ctx.sites().get(siteKey)
      if (!site) throw new CollectorError('unknown_site')
      refuseForeignOrigin(request, site)
      await enforceRateLimit(ctx, `${site.siteKey}:telemetry:ip:${clientBucket(request.clientIp)}`, site.policy.rateLimits.ipPerMinute)
      for (const r of reports) ctx.metrics.sdkFailures.inc({ code: r.code })
      // A page's queue holds TELEMETRY_MAX_REPORTS: no one request vouches for more drops than that.
      if (dropped > 0) ctx.metrics.sdkFailuresDropped.inc(Math.min(dropped, TELEMETRY_MAX_REPORTS))
      return reply.code(202).send({ accepted: reports.length })
    },
  )
}

/** JWKS, health and metrics. */
import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyInstance, FastifyPluginAsync } from 'fastify'
import { CollectorError } from '../errors'
import type { Metrics } from '../metrics'
import type { AppContext } from '../context'

const digest = (text: string): Buffer => createHash('sha256').update(text).digest()

/** GET /metrics (Prometheus text), behind `Authorization: Bearer <token>` unless `token` is null. */
function registerMetrics(app: FastifyInstance, metrics: Metrics, token: string | null | undefined): void {
  const expected = typeof token === 'string' ? digest(token) : null
  app.get('/metrics', async (request, reply) => {
    if (token !== null) {
      const auth = request.headers.authorization
      const given = typeof auth === 'string' && auth.startsWith('Bearer ') ? auth.slice('Bearer '.length) : ''
      // Without a configured token nothing reads metrics here; compare digests: constant time.
      if (!expected || !timingSafeEqual(digest(given), expected)) throw new CollectorError('unauthorized', 'Send the metrics token as a bearer token.')
    }
    reply.header('content-type', metrics.registry.contentType).header('cache-control', 'no-store')
    return metrics.exposition()
  })
}

export const metaRoutes: FastifyPluginAsync<{ ctx: AppContext; metricsToken: string | undefined }> = async (app, { ctx, metricsToken }) => {
  app.get('/.well-known/jwks.json', async (_request, reply) => {
    // Short cache: a rotated-in key must reach verifiers before it signs much.
    reply.header('cache-control', 'public, max-age=300')
    return ctx.keyring().jwks
  })

  app.get('/healthz', async (_request, reply) => {
    try {
      await ctx.store.ping()
      return { status: 'ok', store: ctx.store.kind }
    } catch {
      return reply.code(503).send({ status: 'unavailable', store: ctx.store.kind })
    }
  })

  registerMetrics(app, ctx.metrics, metricsToken)
}

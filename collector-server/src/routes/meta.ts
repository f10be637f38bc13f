/** JWKS, health and metrics. */
import type { FastifyPluginAsync } from 'fastify'
import type { AppContext } from '../context'

export const metaRoutes: FastifyPluginAsync<{ ctx: AppContext }> = async (app, { ctx }) => {
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

  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', ctx.metrics.registry.contentType)
    return ctx.metrics.registry.metrics()
  })
}

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { CollectorError, errorSchema } from '../errors'
import { ChallengeResponse } from '@vigil-risk/core/protocol/schema'
import { SiteKeyQuery } from '../schemas'
import { mintChallenge } from '../verify/challenge'
import type { AppContext } from '../context'
import { enforceRateLimit } from '../risk/rate-limit'
import { refuseForeignOrigin } from './cors'
import { clientBucket } from '../net/ip'

export const challengeRoutes: FastifyPluginAsyncTypebox<{ ctx: AppContext }> = async (app, { ctx }) => {
  app.get(
    '/v1/challenge',
    {
      schema: {
        summary: 'Issue a single-use, short-lived challenge for a collect',
        querystring: SiteKeyQuery,
        response: { 200: ChallengeResponse, '4xx': errorSchema },
      },
    },
    async (request, reply) => {
      const site = ctx.sites().get(request.query.siteKey)
      if (!site) throw new CollectorError('unknown_site')
      refuseForeignOrigin(request, site)
      await enforceRateLimit(ctx, `${site.siteKey}:ip:${clientBucket(request.ip)}`, site.policy.rateLimits.ipPerMinute)
      const { challenge, expiresAt } = mintChallenge(ctx.keyring().challengeKey, site.siteKey, ctx.clock.now())
      reply.header('cache-control', 'no-store')
      return { challenge, expiresAt, siteKey: site.siteKey, accountSalt: site.accountSalt, ...(site.attestation.privateTokens ? { privateToken: true } : {}) }
    },
  )
}

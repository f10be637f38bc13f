import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { CollectorError, errorSchema } from '../errors'
import { ChallengeQuery, ChallengeResponse } from '@vigil-risk/core/protocol/schema'
import { mintChallenge } from '../verify/challenge'
import type { AppContext } from '../context'
import { enforceRateLimit } from '../risk/rate-limit'
import { refuseForeignOrigin } from './cors'
import { clientBucket } from '../net/ip'
import { challengeTerms } from '../risk/difficulty'

export const challengeRoutes: FastifyPluginAsyncTypebox<{ ctx: AppContext }> = async (app, { ctx }) => {
  app.get(
    '/v1/challenge',
    {
      schema: {
        summary: 'Issue a single-use, short-lived challenge for a collect',
        querystring: ChallengeQuery,
        response: { 200: ChallengeResponse, '4xx': errorSchema },
      },
    },
    async (request, reply) => {
      const site = ctx.sites().get(request.query.siteKey)
      if (!site) throw new CollectorError('unknown_site')
      refuseForeignOrigin(request, site)
      await enforceRateLimit(ctx, `${site.siteKey}:ip:${clientBucket(request.clientIp)}`, site.policy.rateLimits.ipPerMinute)
      const terms = await challengeTerms(ctx, site, request.clientIp, request.query.device)
      const minted = mintChallenge(ctx.keyring().challengeKey, site.siteKey, ctx.clock.now(), terms)
      reply.header('cache-control', 'no-store')
      return {
        challenge: minted.challenge,
        expiresAt: minted.expiresAt,
        siteKey: site.siteKey,
        accountSalt: site.accountSalt,
        seed: minted.nonce,
        probes: minted.probes,
        difficulty: minted.difficulty,
        ...(site.attestation.privateTokens ? { privateToken: true } : {}),
      }
    },
  )
}

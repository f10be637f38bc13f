/**
 * GET /v1/private-token?siteKey=…&context=…: Private Access Tokens (RFC 9577/9578).
 *
 * Without a token: 401 with `WWW-Authenticate: PrivateToken challenge=…, token-key=…`,
 * one challenge per issuer the site accepts, its redemption context bound to the
 * collector challenge the SDK holds. A browser that supports the scheme (Safari) fetches
 * a token from the issuer and repeats the request with `Authorization: PrivateToken
 * token=…`; this route verifies it and answers 200 with the outcome and a receipt the SDK
 * puts into the next collect (as siteverify does, a verification outcome is a 200). A
 * browser without support sees the 401 and goes on without.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { PrivateTokenQuery, PrivateTokenResponse } from '@vigil-risk/core/protocol/schema'
import { fromBase64url } from '@vigil-risk/core/protocol/base64url'
import { CollectorError, errorSchema } from '../errors'
import { challengeHeader, sealReceipt, tokenFromAuthorization, verifyPrivateToken } from '../evidence/private-token'
import { enforceRateLimit } from '../risk/rate-limit'
import { refuseForeignOrigin } from './cors'
import { clientBucket } from '../net/ip'
import type { AppContext } from '../context'

export const privateTokenRoutes: FastifyPluginAsyncTypebox<{ ctx: AppContext }> = async (app, { ctx }) => {
  app.get(
    '/v1/private-token',
    {
      schema: {
        summary: 'Challenge for, or verify, a Private Access Token bound to a collector challenge',
        querystring: PrivateTokenQuery,
        response: { 200: PrivateTokenResponse, '4xx': errorSchema },
      },
    },
    async (request, reply) => {
      const site = ctx.sites().get(request.query.siteKey)
      if (!site) throw new CollectorError('unknown_site')
      refuseForeignOrigin(request, site)
      await enforceRateLimit(ctx, `${site.siteKey}:ip:${clientBucket(request.clientIp)}`, site.policy.rateLimits.ipPerMinute)
      const settings = site.attestation.privateTokens
      if (!settings) throw new CollectorError('bad_request', 'This site accepts no Private Access Tokens.')
      reply.header('cache-control', 'no-store')
      const context = fromBase64url(request.query.context)
      if (!context || context.length !== 32) throw new CollectorError('bad_request', 'context must be 32 bytes, base64url.')
      const token = tokenFromAuthorization(request.headers.authorization)
      if (!token) throw new CollectorError('private_token_required', undefined, { 'www-authenticate': challengeHeader(settings, context) })
      const outcome = verifyPrivateToken(token, context, settings)
      return {
        status: outcome.status,
        ...(outcome.reason ? { reason: outcome.reason } : {}),
        ...(outcome.by ? { issuer: outcome.by } : {}),
        receipt: sealReceipt(ctx.keyring().challengeKey, context, outcome),
      }
    },
  )
}

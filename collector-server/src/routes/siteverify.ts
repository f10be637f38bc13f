/**
 * POST /v1/siteverify { secret, token }: the merchant backend's server-to-server
 * check. Same checks as vigil/verify, plus single use: a token redeems once, across
 * every instance on the store. Verification outcomes are 200 with success/errorCodes
 * (as Turnstile and reCAPTCHA do); only a malformed request is a 4xx.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { jwksResolver, sealedSiteKey, TokenVerificationError, verifyToken } from 'vigil/verify'
import { errorSchema } from '../errors'
import { SiteverifyBody, SiteverifyResponse } from '../schemas'
import { timed } from '../metrics'
import type { AppContext } from '../context'
import type { Site } from '../config/sites'
import type { SiteverifyErrorCode } from '../stores/types'
import { enforceRateLimit } from '../risk/rate-limit'
import { DEFAULT_RATE_LIMITS } from '../risk/policy'
import { clientBucket } from '../net/ip'

export const siteverifyRoutes: FastifyPluginAsyncTypebox<{ ctx: AppContext }> = async (app, { ctx }) => {
  const { metrics } = ctx
  /** `site` only once the secret matched: the site's dashboard counts its token failures. */
  const failure = async (code: SiteverifyErrorCode, site?: Site) => {
    metrics.siteverify.inc({ outcome: code })
    if (site) await ctx.store.stats.recordFailure(site.siteKey, ctx.clock.now(), code).catch(() => undefined)
    return { success: false, errorCodes: [code] }
  }
  app.post(
    '/v1/siteverify',
    {
      bodyLimit: 16 * 1024,
      config: { onRefused: (_request, code) => metrics.siteverify.inc({ outcome: code }) },
      schema: {
        summary: 'Redeem a verdict token (once) and read its verdict',
        body: SiteverifyBody,
        response: { 200: SiteverifyResponse, '4xx': errorSchema },
      },
    },
    async (request, reply) => {
      reply.header('cache-control', 'no-store')
      await enforceRateLimit(ctx, `siteverify:ip:${clientBucket(request.ip)}`, DEFAULT_RATE_LIMITS.siteverifyPerMinute)
      const { secret, token, acceptTestTokens } = request.body
      const siteKey = sealedSiteKey(token)
      if (siteKey === undefined) return failure('malformed')
      const site = ctx.sites().get(siteKey)
      if (!site || !site.secretMatches(secret)) return failure('invalid_secret')
      let verified
      try {
        verified = await verifyToken(token, {
          secret: site.secret,
          siteKey: site.siteKey,
          jwks: jwksResolver(ctx.keyring().jwks),
          now: ctx.clock.now(),
          clockToleranceS: 0,
          acceptTestTokens: acceptTestTokens === true,
        })
      } catch (err) {
        if (err instanceof TokenVerificationError) return failure(err.code, site)
        throw err
      }
      const first = await timed(metrics, 'nonce_consume', () => ctx.store.nonces.consume(`t:${verified.jti}`, verified.expiresAt * 1000 + 60_000))
      if (!first) return failure('already_redeemed', site)
      // The redemption must survive a crash before anyone acts on it.
      await ctx.store.durable()
      metrics.siteverify.inc({ outcome: 'success' })
      return {
        success: true,
        score: verified.score,
        verdict: verified.verdict,
        reasons: verified.reasons,
        action: verified.action,
        siteKey: verified.siteKey,
        deviceId: verified.deviceId,
        hostname: verified.hostname,
        issuedAt: new Date(verified.issuedAt * 1000).toISOString(),
        behavior: verified.behavior,
        account: verified.account,
        ...(verified.test ? { test: true as const } : {}),
      }
    },
  )
}

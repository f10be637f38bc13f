/**
 * POST /v1/siteverify { secret, token, action?, hostname?, account? }: the merchant
 * backend's server-to-server check. Same checks as vigil/verify, plus single use: a token
 * redeems once, across every instance on the store. An action, hostname or account the
 * backend names and the token does not carry is its own error code, and redeems nothing.
 * Verification outcomes are 200 with success/errorCodes (as Turnstile and reCAPTCHA do);
 * only a malformed request is a 4xx.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { jwksResolver, sealedSiteKey, TokenVerificationError, verifyToken } from 'vigil/verify'
import { errorSchema } from '../errors'
import { SiteverifyBody, SiteverifyResponse } from '../schemas'
import { timed } from '../metrics'
import type { AppContext } from '../context'
import type { Site } from '../config/sites'
import type { SiteverifyErrorCode } from '../stores/types'
import { limitBeforeParsing } from '../risk/rate-limit'
import { DEFAULT_RATE_LIMITS } from '../risk/policy'

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
      // Per IP before the body is parsed: merchant backends are few addresses with much traffic.
      onRequest: limitBeforeParsing(ctx, 'siteverify', () => DEFAULT_RATE_LIMITS.siteverifyPerMinute),
      config: { onRefused: (_request, code) => metrics.siteverify.inc({ outcome: code }) },
      schema: {
        summary: 'Redeem a verdict token (once) and read its verdict',
        body: SiteverifyBody,
        response: { 200: SiteverifyResponse, '4xx': errorSchema },
      },
    },
    async (request, reply) => {
      reply.header('cache-control', 'no-store')
      const { secret, token, action, hostname, account, acceptTestTokens } = request.body
      const siteKey = sealedSiteKey(token)
      if (siteKey === undefined) return failure('malformed')
      const site = ctx.sites().get(siteKey)
      const now = ctx.clock.now()
      if (!site || !site.secretMatches('siteverify', secret, now)) return failure('invalid_secret')
      let verified
      try {
        verified = await verifyToken(token, {
          secret: site.openingSecrets(now),
          siteKey: site.siteKey,
          // Optional here (the HTTP contract); the answer names both for the backend to check.
          action: action ?? null,
          hostname: hostname ?? null,
          ...(account !== undefined ? { account } : {}),
          jwks: jwksResolver(ctx.keyring().jwks),
          now,
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

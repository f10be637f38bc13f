/**
 * POST /v1/erase { siteKey, account?, deviceId? }: deletes what the collector stores about
 * one account (its hash, as the SDK sends it: vigil/verify's accountHash computes it) or one
 * device on one site: its events, its entries in the velocity link sets, and (for a device)
 * the device record and its dashboard entry. Per-minute counters hold no identifiers and
 * stay. Authorised by the site secret as a bearer token, like /v1/stats. docs/privacy.md.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { ACCOUNT_HASH_PATTERN, DEVICE_ID_LENGTH } from '@vigil-risk/core/protocol/payload'
import { SiteKey } from '@vigil-risk/core/protocol/schema'
import { CollectorError, errorSchema } from '../errors'
import { enforceRateLimit } from '../risk/rate-limit'
import { clientBucket } from '../net/ip'
import type { AppContext } from '../context'

const EraseBody = Type.Object({
  siteKey: SiteKey,
  account: Type.Optional(Type.String({ pattern: ACCOUNT_HASH_PATTERN.source, description: 'The account hash (vigil/verify accountHash), never the identifier itself.' })),
  deviceId: Type.Optional(Type.String({ minLength: DEVICE_ID_LENGTH, maxLength: DEVICE_ID_LENGTH, pattern: '^[A-Za-z0-9_-]+$' })),
})

const EraseResponse = Type.Object({
  erased: Type.Object({ events: Type.Integer(), links: Type.Integer(), devices: Type.Integer() }),
})

/** Erasures are rare: a handful per minute per client is plenty, and bounds the linear scans. */
const ERASURES_PER_MINUTE = 30

export const eraseRoutes: FastifyPluginAsyncTypebox<{ ctx: AppContext }> = async (app, { ctx }) => {
  app.post(
    '/v1/erase',
    {
      bodyLimit: 4096,
      schema: {
        summary: "Delete what is stored about one account hash or device id on a site (site secret as bearer token)",
        body: EraseBody,
        response: { 200: EraseResponse, '4xx': errorSchema, '5xx': errorSchema },
      },
    },
    async (request, reply) => {
      await enforceRateLimit(ctx, `erase:ip:${clientBucket(request.ip)}`, ERASURES_PER_MINUTE)
      const { siteKey, account, deviceId } = request.body
      const site = ctx.sites().get(siteKey)
      const auth = request.headers.authorization
      const secret = typeof auth === 'string' && auth.startsWith('Bearer ') ? auth.slice(7) : ''
      if (!site || !site.secretMatches(secret)) throw new CollectorError('unauthorized')
      if (account === undefined && deviceId === undefined) throw new CollectorError('bad_request', 'Name an account (hash) or a deviceId to erase.')
      const erased = await ctx.store.erase({ siteKey: site.siteKey, ...(account !== undefined ? { account } : {}), ...(deviceId !== undefined ? { deviceId } : {}) })
      request.log.info({ siteKey: site.siteKey, erased }, 'erased')
      reply.header('cache-control', 'no-store')
      return { erased }
    },
  )
}

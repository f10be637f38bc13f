/**
 * POST /v1/erase { siteKey, account?, deviceId? }: deletes what the collector stores about
 * one account or one device on one site: its events, its entries in the velocity link sets,
 * and (for a device) the device record, its probe answers and its dashboard entry. The
 * account is the identifier as the page gave it to getToken, hashed on arrival (as
 * siteverify does) into the form the collector stores, never stored itself. Per-minute
 * counters hold no identifiers and stay. Authorised by the site's siteverify secret (the
 * backend's server-to-server credential) as a bearer token. docs/privacy.md.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { createHash } from 'node:crypto'
import { DEVICE_ID_LENGTH, accountHashFromDigest, accountHashInput } from '@vigil-risk/core/protocol/payload'
import { SiteKey } from '@vigil-risk/core/protocol/schema'
import { CollectorError, errorSchema } from '../errors'
import { enforceRateLimit } from '../risk/rate-limit'
import { clientBucket } from '../net/ip'
import type { AppContext } from '../context'

const EraseBody = Type.Object({
  siteKey: SiteKey,
  account: Type.Optional(
    Type.String({ minLength: 1, maxLength: 256, description: 'The account, as the page gave it to getToken: hashed on arrival, never stored.' }),
  ),
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
        summary: "Delete what is stored about one account or device id on a site (siteverify secret as bearer token)",
        body: EraseBody,
        response: { 200: EraseResponse, '4xx': errorSchema, '5xx': errorSchema },
      },
    },
    async (request, reply) => {
      await enforceRateLimit(ctx, `erase:ip:${clientBucket(request.clientIp)}`, ERASURES_PER_MINUTE)
      const { siteKey, account, deviceId } = request.body
      const site = ctx.sites().get(siteKey)
      const auth = request.headers.authorization
      const secret = typeof auth === 'string' && auth.startsWith('Bearer ') ? auth.slice(7) : ''
      if (!site || !site.secretMatches('siteverify', secret, ctx.clock.now())) throw new CollectorError('unauthorized', "Send the site's siteverify secret as a bearer token.")
      if (account === undefined && deviceId === undefined) throw new CollectorError('bad_request', 'Name an account or a deviceId to erase.')
      // What the collector stores for an account: the page's salted hash, keyed again server-side (sites.ts).
      const stored = account === undefined ? undefined : site.accountLink(accountHashFromDigest(createHash('sha512').update(accountHashInput(site.accountSalt, account)).digest()))
      const erased = await ctx.store.erase({ siteKey: site.siteKey, ...(stored !== undefined ? { account: stored } : {}), ...(deviceId !== undefined ? { deviceId } : {}) })
      request.log.info({ siteKey: site.siteKey, erased }, 'erased')
      reply.header('cache-control', 'no-store')
      return { erased }
    },
  )
}

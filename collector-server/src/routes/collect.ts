/**
 * POST /v1/collect: the trusted path. In order: site, origin, challenge (ours, this
 * site's, unexpired), signature over the canonical payload, device id owned by the
 * key, single-use nonce; then risk, the sealed token, and the event, which is durable
 * before we answer.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { CollectBody, CollectResponse } from '@vigil-risk/core/protocol/schema'
import { isEvidenceKind } from '@vigil-risk/core/protocol/evidence'
import { CollectorError, errorSchema } from '../errors'
import { openChallenge } from '../verify/challenge'
import { importDeviceKey } from '../verify/signature'
import { issueTestToken, issueToken, newTokenId, type VerdictClaims } from '../tokens/issue'
import { assess } from '../risk/engine'
import { evaluatePayload } from '../risk/evaluate'
import { actionPolicy, requiredEvidence } from '../risk/policy'
import { checkEvidence } from '../evidence/check'
import { assessVelocity, ESTABLISHED_AFTER_MS, recordDenial } from '../risk/velocity'
import { checkGlyphMemory } from '../risk/proof'
import { clientBucket, isLoopback, networkOf } from '../net/ip'
import { enforceRateLimit, limitBeforeParsing, mostGenerousIpLimit } from '../risk/rate-limit'
import { timed } from '../metrics'
import { checkOrigin } from './cors'
import type { AppContext } from '../context'

/**
 * How long past its expiry a spent challenge stays spent. The expiry is judged by the time
 * the request began; the nonce is spent later (after the rate limit and the signature
 * check, which may wait for a busy thread or a store failing over), and instances sharing a
 * store each read their own clock. Kept only until the expiry, the nonce was free again for a
 * request that began just before it: an outside review re-sent one collect in its challenge's
 * last 25 ms and got nine more tokens. Five minutes covers the 30 s request timeout and any
 * sane difference between clocks.
 */
const SPENT_CHALLENGE_KEPT_MS = 5 * 60_000

export const collectRoutes: FastifyPluginAsyncTypebox<{ ctx: AppContext }> = async (app, { ctx }) => {
  const { store, metrics, clock } = ctx
  // The body's text as received, beside the parsed body: a scoring thread parses its own
  // copy (risk/scoring-pool.ts) with JSON.parse. Within this plugin only; parsed as the app
  // parses JSON, whose parser (secure-json-parse) skips a leading byte-order mark, which
  // JSON.parse refuses: the thread gets the text without it. Kept on the request, which dies
  // with it, not in a WeakMap keyed by the request: on Node 20 a long-lived WeakMap's young
  // values are promoted by the first young-generation collection they survive, and a full
  // collection has to free them (docs/performance.md, "Texts a WeakMap kept alive").
  app.decorateRequest('collectText', null)
  for (const type of ['application/json', 'text/plain']) {
    const parse = app.getDefaultJsonParser('error', 'error')
    app.removeContentTypeParser(type)
    app.addContentTypeParser(type, { parseAs: 'string' }, (request, body, done) => {
      const text = body as string
      request.collectText = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text
      void parse(request, text, done)
    })
  }
  app.post(
    '/v1/collect',
    {
      onRequest: limitBeforeParsing(ctx, 'collect', () => mostGenerousIpLimit(ctx.sites())),
      config: {
        onRefused(request, code) {
          metrics.collects.inc({ outcome: code })
          // Refusals of a known site's payloads feed its dashboard (bad signatures, replays, expiries…).
          // The body may be anything here: it failed validation, or never parsed.
          const siteKey = (request.body as { payload?: { siteKey?: unknown } } | undefined)?.payload?.siteKey
          if (typeof siteKey === 'string' && ctx.sites().get(siteKey) && code !== 'store_unavailable' && code !== 'internal_error') {
            void store.stats.recordFailure(siteKey, clock.now(), code).catch(() => undefined)
          }
        },
      },
      schema: {
        summary: 'Submit a signed payload; receive a sealed verdict token',
        body: CollectBody,
        response: { 200: CollectResponse, '4xx': errorSchema, '5xx': errorSchema },
      },
    },
    async (request, reply) => {
      const { payload } = request.body
      const now = clock.now()
      const site = ctx.sites().get(payload.siteKey)
      if (!site) throw new CollectorError('unknown_site')
      const hostname = checkOrigin(request, site, payload.hostname)
      await enforceRateLimit(ctx, `${site.siteKey}:ip:${clientBucket(request.clientIp)}`, site.policy.rateLimits.ipPerMinute)

      const keyring = ctx.keyring() // one keyring for the whole request, even across a reload
      const challenge = openChallenge(keyring.challengeKey, payload.challenge)
      if (!challenge) throw new CollectorError('bad_challenge')
      if (challenge.siteKey !== site.siteKey) throw new CollectorError('bad_challenge', 'The challenge was issued for another site.')
      if (now > challenge.expiresAt) throw new CollectorError('challenge_expired')
      // A challenge issued for one device (its work chosen from that device's history) serves no other.
      if (challenge.deviceId !== null && challenge.deviceId !== payload.device.id) throw new CollectorError('bad_challenge', 'The challenge was issued for another device.')

      const device = importDeviceKey(payload.device.pub)
      if (!device) throw new CollectorError('bad_request', 'device.pub is not an Ed25519 public key.')
      // The signature over the canonical payload, then what the payload says alone (its
      // signals, proof and trace: payload-analysis.ts, over half of a collect's CPU), on a
      // scoring thread when there is one. The signature is awaited now; the analysis goes on
      // while the store calls below do, and is awaited where the verdict needs it. A test
      // key's collect needs no analysis.
      const check = ctx.scorer.check(request.body, request.collectText ?? undefined, site.testVerdict ? null : challenge)
      const signature = await check.signature
      if (!signature.ok) throw signature.code === 'bad_request' ? new CollectorError('bad_request', signature.message) : new CollectorError('bad_signature')
      // A valid signature under a key that does not own the claimed device id: someone
      // is presenting another device's identity with their own key.
      if (device.deviceId !== payload.device.id) throw new CollectorError('key_mismatch')

      if (!(await timed(metrics, 'nonce_consume', () => store.nonces.consume(`c:${challenge.nonce}`, challenge.expiresAt + SPENT_CHALLENGE_KEPT_MS)))) {
        throw new CollectorError('replayed')
      }
      // Per device only now that the device id is proven: nobody can spend another device's quota.
      await enforceRateLimit(ctx, `${site.siteKey}:dev:${payload.device.id}`, site.policy.rateLimits.devicePerMinute)
      if (site.testVerdict) {
        // A test key (config/test-keys.ts): a real token with the key's verdict; nothing linked, stored or counted.
        const token = issueTestToken(keyring.active, site, site.testVerdict, { payload, hostname, now, issuer: ctx.issuer })
        metrics.collects.inc({ outcome: 'test_key' })
        reply.header('cache-control', 'no-store')
        return token
      }

      const prior = await timed(metrics, 'device_touch', () =>
        store.devices.touch({
          deviceId: payload.device.id,
          publicKey: payload.device.pub,
          keyImpl: payload.device.impl,
          visitorId: payload.fp?.visitorId ?? null,
          ip: request.clientIp,
          at: now,
        }),
      )
      const platform = await checkEvidence(payload, {
        site,
        verifiers: ctx.attestationVerifiers,
        appAttestRoots: ctx.appAttestRoots,
        attestedKeys: store.attestedKeys,
        receiptKey: keyring.challengeKey,
        now,
      })
      const action = actionPolicy(site.policy, payload.action)
      const evaluation = evaluatePayload(
        payload,
        {
          challenge,
          request: { headers: request.headers, secure: request.protocol === 'https' || isLoopback(request.hostname) },
          action,
          firstSighting: prior === null,
          now,
          platform: { found: platform, required: requiredEvidence(action) },
        },
        await check.analysis(),
      )
      // A device's glyphs keep their widths: an answer copied from another device's does not.
      if (Object.keys(evaluation.proof.glyphs).length > 0) {
        const known = await timed(metrics, 'device_glyphs', () => store.devices.glyphs(payload.device.id, evaluation.proof.glyphs))
        const changed = checkGlyphMemory(evaluation.proof.glyphs, known)
        if (changed) {
          evaluation.detections.push(changed)
          evaluation.reasons.push('probe_mismatch')
        }
      }
      const jti = newTokenId(now)
      // Who did what, when: the velocity links and the stored event both start from it.
      const subject = {
        at: now,
        siteKey: site.siteKey,
        action: payload.action,
        deviceId: payload.device.id,
        visitorId: payload.fp?.visitorId ?? null,
        // Stored and linked keyed with the site's server-side link key, not as the page sent it.
        account: payload.account ? site.accountLink(payload.account) : null,
        ip: request.clientIp,
      }
      const velocity = await timed(metrics, 'links_observe', () =>
        assessVelocity(
          store.links,
          {
            ...subject,
            eventId: jti,
            firstSighting: prior === null,
            network: networkOf(request.clientIp),
            established: prior !== null && now - prior.firstSeen >= ESTABLISHED_AFTER_MS,
            traceKeys: evaluation.sketch,
          },
          action,
          site.policy.limits,
        ),
      )
      const assessment = assess([...evaluation.reasons, ...velocity.reasons], action, {
        weights: site.policy.weights,
        grades: evaluation.grades,
        evidence: evaluation.trusted,
        trust: site.policy.trust,
      })

      const iat = Math.floor(now / 1000)
      const claims: VerdictClaims = {
        iss: ctx.issuer,
        aud: site.siteKey,
        sub: payload.device.id,
        act: payload.action,
        score: assessment.score,
        verdict: assessment.verdict,
        reasons: assessment.reasons,
        hst: hostname,
        iat,
        exp: iat + site.tokenTtlS,
        jti,
        // The page's hash and its salt: the site's backend recomputes it from the account (verifyToken's `account`).
        ...(payload.account ? { acc: payload.account, asl: site.accountSalt } : {}),
        bhv: { server: evaluation.behavior.server, client: evaluation.behavior.client, model: evaluation.behavior.model },
      }
      const token = issueToken(keyring.active, site, claims, now)
      const statsEntry = {
        verdict: assessment.verdict,
        reasons: assessment.reasons,
        score: assessment.score,
        behavior: evaluation.behavior.server,
        deviceId: payload.device.id,
        accountsOnDevice: velocity.counts.accountsPerDevice24h ?? 0,
      }
      // Independent writes go together; the event is durable before the answer. Promise.all
      // handles every rejection, so a failing store is one 503, never an unhandled rejection.
      await Promise.all([
        timed(metrics, 'stats_record', () => store.stats.recordEvent(site.siteKey, now, statsEntry)),
        timed(metrics, 'device_verdict', () => store.devices.recordVerdict(payload.device.id, assessment.verdict)),
        assessment.verdict === 'deny' ? recordDenial(store.links, site.siteKey, request.clientIp, jti, now) : undefined,
        timed(metrics, 'event_append', () =>
          store.events.append({
            id: jti,
            ...subject,
            hostname,
            verdict: assessment.verdict,
            score: assessment.score,
            reasons: assessment.reasons,
            keyImpl: payload.device.impl,
            sdk: payload.sdk,
            detail: {
              environment: evaluation.environment,
              detections: evaluation.detections,
              attestation: evaluation.attestation,
              evidence: evaluation.evidence,
              interaction: evaluation.interaction,
              behavior: evaluation.behavior,
              velocity: velocity.counts,
              fp: payload.fp,
              clientTs: payload.ts,
              persisted: payload.device.persisted,
              signals: payload.signals,
              proof: evaluation.proof,
            },
          }),
        ),
      ])
      metrics.collects.inc({ outcome: 'accepted' })
      metrics.verdicts.inc({ verdict: assessment.verdict })
      for (const reason of assessment.reasons) metrics.reasons.inc({ reason })
      for (const e of evaluation.evidence) metrics.evidence.inc({ kind: isEvidenceKind(e.kind) ? e.kind : 'other', status: e.status, reason: e.reason ?? '' })
      reply.header('cache-control', 'no-store')
      return { token, expiresAt: claims.exp * 1000 }
    },
  )
}

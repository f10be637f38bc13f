/**
 * The demo shop's backend: a merchant application. It serves its own pages, which load
 * the SDK from the collector, and it verifies every token with vigil/verify against the
 * collector's public JWKS (offline: seal, signature, expiry, audience, action, the
 * hostnames it is configured with, and the signed-in account), refuses a token it has
 * already seen, then acts on the verdict. It knows the collector only as a merchant does:
 * by URL, site key and seal secret. Who is signed in comes from its own session cookie,
 * never from what the request body says.
 *
 * demo/main.ts (`npm start`) mounts it in the collector's process, on the same port, so
 * that one command starts both; it would work unchanged as a separate server.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fastifyStatic from '@fastify/static'
import { fileURLToPath } from 'node:url'
import { randomBytes } from 'node:crypto'
import { DEMO_SITE } from 'vigil/collector'
import { TokenVerificationError, remoteJwks, verifyToken, type KeyResolver, type VerifiedToken } from 'vigil/verify'

interface ShopOptions {
  /** The shop's site on the collector, and its secret (from the shop's configuration). */
  siteKey: string
  secret: string
  /** The collector's public keys, e.g. remoteJwks('https://collector/.well-known/jwks.json'). */
  jwks: KeyResolver
  /** Hostnames the shop is served on: a token obtained on any other page is refused. */
  hostnames: readonly string[]
  /** The shop's static files (default: demo/public). */
  publicDir?: string
}

const PRODUCTS = [
  { id: 'sku-001', name: 'Wireless earbuds', price: 2999, hue: 200 },
  { id: 'sku-002', name: 'Phone case', price: 999, hue: 330 },
  { id: 'sku-003', name: 'LED ring light', price: 1999, hue: 45 },
  { id: 'sku-004', name: 'Travel mug', price: 1499, hue: 20 },
  { id: 'sku-005', name: 'Mini tripod', price: 1299, hue: 260 },
  { id: 'sku-006', name: 'Sticker pack', price: 399, hue: 140 },
] as const

type Outcome = 'allowed' | 'step-up' | 'blocked'
const OUTCOME: Record<VerifiedToken['verdict'], Outcome> = { allow: 'allowed', review: 'step-up', deny: 'blocked' }

/** Tokens this backend already acted on, until they expire (offline verification cannot know otherwise). */
class SeenTokens {
  private readonly expiries = new Map<string, number>()
  firstUse(jti: string, expiresAt: number, now: number): boolean {
    if (this.expiries.size > 10_000) for (const [id, exp] of this.expiries) if (exp < now) this.expiries.delete(id)
    if (this.expiries.has(jti)) return false
    this.expiries.set(jti, expiresAt)
    return true
  }
}

const SESSION_COOKIE = 'demo_session'
const SESSION_TTL_MS = 24 * 3600_000

/** Signed-in shoppers, by an unguessable session id kept in an HttpOnly cookie. */
class Sessions {
  private readonly byId = new Map<string, { account: string; expiresAt: number }>()
  open(account: string, now: number): string {
    if (this.byId.size > 10_000) for (const [id, s] of this.byId) if (s.expiresAt < now) this.byId.delete(id)
    const id = randomBytes(32).toString('base64url')
    this.byId.set(id, { account, expiresAt: now + SESSION_TTL_MS })
    return id
  }
  /** The account of the session this request's cookie names, if it is live. */
  account(cookieHeader: string | undefined, now: number): string | undefined {
    const id = cookieHeader?.split(';').map((c) => c.trim().split('=')).find(([name]) => name === SESSION_COOKIE)?.[1]
    const session = id ? this.byId.get(id) : undefined
    return session && session.expiresAt > now ? session.account : undefined
  }
  close(cookieHeader: string | undefined): void {
    const id = cookieHeader?.split(';').map((c) => c.trim().split('=')).find(([name]) => name === SESSION_COOKIE)?.[1]
    if (id) this.byId.delete(id)
  }
}

const sessionCookie = (value: string, maxAgeS: number): string => `${SESSION_COOKIE}=${value}; Path=/demo/api; HttpOnly; SameSite=Strict; Max-Age=${maxAgeS}`

/** The shop as a Fastify plugin: its pages at `/` and its API under `/demo/api/`. */
function shopPlugin(options: ShopOptions): (app: FastifyInstance) => Promise<void> {
  return (app) => registerShop(app, options)
}

async function registerShop(app: FastifyInstance, options: ShopOptions): Promise<void> {
  const seen = new SeenTokens()
  const sessions = new Sessions()
  /** The signed-in account: from the session, whatever the body claims. */
  const signedIn = (request: FastifyRequest): string | undefined => sessions.account(request.headers.cookie, Date.now())
  const root = options.publicDir ?? fileURLToPath(new URL('./public/', import.meta.url))
  await app.register(fastifyStatic, { root, prefix: '/', decorateReply: false, cacheControl: false })

  app.get('/demo/api/products', async () => ({ products: PRODUCTS }))

  /**
   * Verifies the token for `action` (and, when the shopper is signed in, for their account);
   * answers the refusal itself and returns null when the token is not usable.
   */
  async function verified(token: unknown, action: string, reply: FastifyReply, account?: string): Promise<VerifiedToken | null> {
    if (typeof token !== 'string') {
      await reply.code(400).send({ ok: false, error: 'missing_token' })
      return null
    }
    try {
      const v = await verifyToken(token, {
        secret: options.secret,
        siteKey: options.siteKey,
        jwks: options.jwks,
        action,
        hostname: options.hostnames,
        ...(account ? { account } : {}),
      })
      if (!seen.firstUse(v.jti, v.expiresAt, Date.now() / 1000)) {
        await reply.code(403).send({ ok: false, error: 'already_used', message: 'this token was already used' })
        return null
      }
      return v
    } catch (err) {
      if (!(err instanceof TokenVerificationError)) throw err
      await reply.code(403).send({ ok: false, error: err.code, message: err.message })
      return null
    }
  }

  // A real shop would not show these to the customer; the demo shows them in its developer panel.
  const developerView = (v: VerifiedToken) => ({
    verdict: v.verdict,
    score: v.score,
    reasons: v.reasons,
    action: v.action,
    deviceId: v.deviceId,
    hostname: v.hostname,
    issuedAt: new Date(v.issuedAt * 1000).toISOString(),
  })

  const accountOf = (value: unknown): string | undefined => (typeof value === 'string' && /^[^@\s]+@[^@\s]+$/.test(value) ? value : undefined)

  // One $5 coupon per account: the incentive that multi-accounting farms. Claimed, then spent at checkout.
  const claimed = new Set<string>()
  const unspent = new Set<string>()
  const COUPON = { code: 'WELCOME5', cents: 500 }

  app.get('/demo/api/session', async (request) => ({ account: signedIn(request) ?? null }))

  app.post<{ Body: { token?: unknown; items?: unknown } }>('/demo/api/checkout', async (request, reply) => {
    const { token, items } = request.body ?? {}
    const account = signedIn(request)
    const cart = Array.isArray(items) ? items.filter((id): id is string => PRODUCTS.some((p) => p.id === id)).slice(0, 100) : []
    if (cart.length === 0) return reply.code(400).send({ ok: false, error: 'empty_cart' })
    const v = await verified(token, 'checkout', reply, account)
    if (!v) return reply
    const outcome = OUTCOME[v.verdict]
    const subtotal = cart.reduce((sum, id) => sum + (PRODUCTS.find((p) => p.id === id)?.price ?? 0), 0)
    const coupon = outcome === 'allowed' && account !== undefined && unspent.delete(account) ? COUPON.code : null
    const total = Math.max(0, subtotal - (coupon ? COUPON.cents : 0))
    return {
      ok: outcome === 'allowed',
      outcome,
      order: outcome === 'allowed' ? { id: `ord_${v.jti.slice(-10)}`, items: cart, subtotal, coupon, total } : null,
      verification: developerView(v),
    }
  })

  // Any e-mail and password sign in: the demo has no user database, only the risk check.
  app.post<{ Body: { token?: unknown; email?: unknown } }>('/demo/api/login', async (request, reply) => {
    const email = accountOf(request.body?.email)
    if (!email) return reply.code(400).send({ ok: false, error: 'bad_email' })
    const v = await verified(request.body?.token, 'login', reply, email)
    if (!v) return reply
    const outcome = OUTCOME[v.verdict]
    if (outcome === 'allowed') void reply.header('set-cookie', sessionCookie(sessions.open(email, Date.now()), SESSION_TTL_MS / 1000))
    return { ok: outcome === 'allowed', outcome, account: outcome === 'allowed' ? email : null, verification: developerView(v) }
  })

  app.post('/demo/api/logout', async (request, reply) => {
    sessions.close(request.headers.cookie)
    return reply.header('set-cookie', sessionCookie('', 0)).send({ ok: true })
  })

  app.post<{ Body: { token?: unknown } }>('/demo/api/coupon', async (request, reply) => {
    const account = signedIn(request)
    if (!account) return reply.code(400).send({ ok: false, error: 'sign_in_first' })
    const v = await verified(request.body?.token, 'coupon/claim', reply, account)
    if (!v) return reply
    if (claimed.has(account)) return { ok: false, outcome: 'already_claimed', verification: developerView(v) }
    const outcome = OUTCOME[v.verdict]
    if (outcome === 'allowed') {
      claimed.add(account)
      unspent.add(account)
    }
    return { ok: outcome === 'allowed', outcome, coupon: outcome === 'allowed' ? COUPON.code : null, verification: developerView(v) }
  })

  // Adding to the cart is low risk: the shop only records the verdict (it could rate-limit on it).
  app.post<{ Body: { token?: unknown; sku?: unknown } }>('/demo/api/cart', async (request, reply) => {
    if (!PRODUCTS.some((p) => p.id === request.body?.sku)) return reply.code(400).send({ ok: false, error: 'unknown_product' })
    const v = await verified(request.body?.token, 'cart/add', reply, signedIn(request))
    if (!v) return reply
    return { ok: true, outcome: OUTCOME[v.verdict], verification: developerView(v) }
  })
}

/**
 * The shop configured for the collector's development-only demo site. It fetches the
 * collector's JWKS over HTTP, as a separate merchant backend would; `connect` gives it
 * the collector's URL once the collector listens.
 */
export function demoShop(): { plugin: (app: FastifyInstance) => Promise<void>; connect(collectorUrl: string): void } {
  let jwks: KeyResolver | undefined
  const plugin = shopPlugin({
    siteKey: DEMO_SITE.siteKey,
    secret: DEMO_SITE.secret,
    jwks: (kid) => jwks?.(kid),
    hostnames: ['127.0.0.1', 'localhost'],
  })
  return { plugin, connect: (collectorUrl) => void (jwks = remoteJwks(`${collectorUrl}/.well-known/jwks.json`)) }
}

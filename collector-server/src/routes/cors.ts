/**
 * CORS for the browser-facing routes. The SDK sends only "simple" requests (GET, and
 * POST as text/plain), so browsers need no preflight; the headers below let the page
 * read answers (errors included) when the origin belongs to some site, or when the
 * request names a test key (which takes any origin). Whether the origin may use *this*
 * site is decided per request in checkOrigin.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { CollectorError } from '../errors'
import { OPAQUE_ORIGIN, type Site, type SiteRegistry } from '../config/sites'

const BROWSER_ROUTES = ['/v1/challenge', '/v1/collect', '/v1/telemetry', '/v1/private-token']

export function registerCors(app: FastifyInstance, sites: () => SiteRegistry): void {
  // Test keys take any origin, so they count only for requests that name one.
  const allowedSomewhere = (origin: string): boolean => sites().list().some((s) => s.testVerdict === undefined && s.allowsOrigin(origin))
  app.addHook('onSend', async (request, reply, payload) => {
    if (!BROWSER_ROUTES.some((route) => request.url.startsWith(route))) return payload
    const origin = request.headers.origin
    if (typeof origin === 'string' && (allowedSomewhere(origin) || sites().get(requestedSiteKey(request) ?? '')?.allowsOrigin(origin))) {
      reply.header('access-control-allow-origin', origin)
      reply.header('vary', 'Origin')
    }
    return payload
  })
  const preflight = async (_request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    reply.header('access-control-allow-methods', 'GET, POST').header('access-control-allow-headers', 'content-type').header('access-control-max-age', '600')
    await reply.code(204).send()
  }
  app.options('/v1/challenge', preflight)
  app.options('/v1/collect', preflight)
  app.options('/v1/telemetry', preflight)
}

/** The site key a browser request names: in the query (challenge), the payload (collect) or the body (telemetry). */
function requestedSiteKey(request: FastifyRequest): string | undefined {
  const query = request.query as { siteKey?: unknown } | undefined
  const body = request.body as { siteKey?: unknown; payload?: { siteKey?: unknown } } | undefined
  const key = query?.siteKey ?? body?.payload?.siteKey ?? body?.siteKey
  return typeof key === 'string' ? key : undefined
}

/**
 * Refuses a browser origin that is not one of the site's (requests without one pass).
 * An opaque origin ("null") is foreign unless the site lists it: any page can frame the
 * SDK in a sandbox and have its visitors' browsers earn the shop's tokens.
 */
export function refuseForeignOrigin(request: FastifyRequest, site: Site): void {
  const origin = request.headers.origin
  if (typeof origin === 'string' && !site.allowsOrigin(origin)) throw new CollectorError('origin_not_allowed')
}

/**
 * Checks the request's origin against the site and returns the hostname the token
 * will name (`hst`). Browsers always send Origin on cross-origin requests and on
 * POSTs; without one (same-origin GET, native apps) the claimed hostname is checked
 * against the site's patterns instead.
 */
export function checkOrigin(request: FastifyRequest, site: Site, claimedHostname: string): string {
  refuseForeignOrigin(request, site)
  const origin = request.headers.origin
  if (typeof origin === 'string' && origin !== OPAQUE_ORIGIN) {
    const hostname = new URL(origin).hostname
    if (claimedHostname !== hostname) throw new CollectorError('hostname_mismatch')
    return hostname
  }
  // An opaque origin the site lists: what sends one honestly is a page without a hostname (a
  // local file, HTML loaded without a base URL). A sandboxed frame has its server's hostname;
  // one claiming the shop's is another site farming its tokens. Test keys take any.
  if (origin === OPAQUE_ORIGIN && claimedHostname !== '' && site.testVerdict === undefined) throw new CollectorError('hostname_mismatch')
  // No Origin, or an opaque one the site lists. The token names the hostname as a browser's
  // location.hostname would: lower case, and a host name at all (any string passed a site
  // that allows every origin, "<b>" included).
  const hostname = claimedHostname.toLowerCase()
  if (!HOSTNAME.test(hostname) || !site.allowsHostname(hostname)) throw new CollectorError('origin_not_allowed')
  return hostname
}

/** What location.hostname can be: empty (a local file), a DNS name, an IPv4 address, a bracketed IPv6 one. */
const HOSTNAME = /^(?:[a-z0-9_-]+(?:\.[a-z0-9_-]+)*\.?|\[[0-9a-f:.]+\])?$/

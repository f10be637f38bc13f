/**
 * buildApp(options) assembles the collector; server.ts only listens. Tests use
 * app.inject() with an injected clock.
 */
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyServerOptions } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import fastifyStatic from '@fastify/static'
import fastifySwagger from '@fastify/swagger'
import { createReadStream, existsSync, readFileSync } from 'node:fs'
import { X509Certificate } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { MAX_COLLECT_BYTES } from '@vigil-risk/core/protocol/payload'
import { CollectorError, ERRORS, errorBody, type ErrorCode } from './errors'
import { createMetrics, type Metrics } from './metrics'
import { collectorRoot, sdkBrowserDir } from './paths'
import { registerCors } from './routes/cors'
import { routeMethods } from './net/methods'
import { challengeRoutes } from './routes/challenge'
import { collectRoutes } from './routes/collect'
import { siteverifyRoutes } from './routes/siteverify'
import { metaRoutes } from './routes/meta'
import { statsRoutes } from './routes/stats'
import { telemetryRoutes } from './routes/telemetry'
import { eraseRoutes } from './routes/erase'
import { privateTokenRoutes } from './routes/private-token'
import type { AppContext, Clock } from './context'
import type { Keyring } from './config/keyring'
import type { SiteRegistry } from './config/sites'
import type { Store } from './stores/types'
import type { AttestationVerifier } from './evidence/check'
import { APPLE_APP_ATTESTATION_ROOT_CA } from './evidence/apple-root'
import { fastifyTrustProxy, type TrustProxy } from './net/trust-proxy'
import { isLingering, lingering } from './net/linger'
import { clientAddress } from './net/ip'
import { bodyEncodingRefusal, hostRefusal, refuseBeforeBody, refuseConnect, refuseParserError } from './net/refusal'
import { inlineScorer, type CollectScorer } from './risk/scoring-pool'

export interface BuildAppOptions {
  store: Store
  keyring: Keyring | (() => Keyring)
  sites: SiteRegistry | (() => SiteRegistry)
  clock?: Clock
  /** The `iss` claim of verdict tokens. */
  issuer?: string
  logger?: FastifyServerOptions['logger']
  /**
   * Log every request as it comes and goes (Fastify's `incoming request` and `request
   * completed`, at info). Default false: refusals (info) and failures (error) are still
   * logged, and every request is counted in /metrics. A line per request costs CPU, fills
   * disks, and on a pipe a slow reader stalls the event loop (docs/decisions.md).
   */
  accessLog?: boolean
  /**
   * Behind load balancers: how many proxies stand in front of the collector, or their
   * addresses (CIDRs). The client IP is the first X-Forwarded-For entry they did not
   * write (net/trust-proxy.ts). Default: none, the socket's address.
   */
  trustProxy?: TrustProxy
  /** Directory holding the browser build (vigil.min.js; default: @vigil-risk/sdk's); false to not serve /sdk/. */
  sdkDir?: string | false
  /** Serve the risk dashboard at /dashboard (default true; its data needs a site secret). */
  dashboard?: boolean
  /** Register extra routes (the demo shop) inside the app. */
  plugins?: Array<(app: FastifyInstance, ctx: AppContext) => Promise<void>>
  metrics?: Metrics
  /** The bearer token that reads /metrics on this app's port; without one, nothing reads it here (--metrics-port serves it apart). */
  metricsToken?: string
  /**
   * Verifiers for native platform attestations, by kind. App Attest and Play Integrity are
   * built in (configured per site in sites.json); a verifier given here replaces the
   * built-in one for its kind, or handles a kind Vigil does not know.
   */
  attestationVerifiers?: Record<string, AttestationVerifier>
  /**
   * PEM certificates App Attest chains must end at. Default: Apple's App Attestation root,
   * which ships with the collector. Tests use a root of their own.
   */
  appAttestRoots?: string[]
  /**
   * Checks collects' signatures and analyses their traces (risk/scoring-pool.ts); the
   * caller owns it and closes it. Default: on the request thread.
   */
  scorer?: CollectScorer
  /** How long a client may take to send a whole request (ms); default REQUEST_TIMEOUT_MS. */
  requestTimeoutMs?: number
}

/**
 * How long a client may take to send a whole request, headers and body (ms), from its first
 * byte. Fastify's default is no limit: a client that sent a collect's headers and then a byte
 * now and then held its connection, and a file descriptor, for ever. Node looks for such
 * requests every CLIENT_CHECK_MS, so one is cut off (a 408 `request_timeout`) between the two.
 */
export const REQUEST_TIMEOUT_MS = 30_000
const CLIENT_CHECK_MS = 5_000

/**
 * The Fastify options that give a server `requestTimeoutMs`. Twice: Node must get it when it
 * creates the server (`http`), where it also makes the headers timeout no longer (set
 * afterwards, Node's 60 s headers timeout stayed, and a stalled body was cut off only then);
 * and Fastify's own option, which it sets on the server afterwards, 0 (none) unless given.
 */
export function clientTimeouts(requestTimeoutMs: number): Pick<FastifyServerOptions, 'requestTimeout'> & { http: { requestTimeout: number; connectionsCheckingInterval: number } } {
  if (!Number.isInteger(requestTimeoutMs) || requestTimeoutMs <= 0) throw new TypeError(`requestTimeoutMs must be a positive integer (ms), not ${requestTimeoutMs}`)
  const connectionsCheckingInterval = Math.min(CLIENT_CHECK_MS, Math.max(50, Math.round(requestTimeoutMs / 4)))
  return { requestTimeout: requestTimeoutMs, http: { requestTimeout: requestTimeoutMs, connectionsCheckingInterval } }
}

/** Counts and logs a refusal made before any route saw the request (its route: `unparsed`). */
function refusedUnparsed(metrics: Metrics, log: FastifyInstance['log'], code: ErrorCode, parser?: string): void {
  metrics.requests.inc({ route: 'unparsed', method: '', status: String(ERRORS[code].status) })
  log.info({ code, route: 'unparsed', ...(parser ? { parser } : {}) }, 'request refused')
}

/**
 * Answers what Node's HTTP parser refused before Fastify saw a request (malformed framing,
 * headers over 16 KiB, a request not received within the request timeout) with our
 * envelope, where Fastify's default answered in a shape of its own. Logged and counted like
 * any refusal; the route is `unparsed`, since there is none.
 */
export function refuseClientError(metrics: Metrics, requestTimeoutMs: number) {
  return function (this: FastifyInstance, err: Error & { code?: string }, socket: Socket): void {
    // A lingering connection was answered (net/linger.ts), and what Node reports now (its
    // client stopped mid-body, or took too long) is the end of its lingering.
    if (isLingering(socket)) return void socket.destroy()
    const code = refuseParserError(socket, err, requestTimeoutMs)
    if (code) refusedUnparsed(metrics, this.log, code, err.code)
  }
}

const STATUS_CODES: Partial<Record<number, ErrorCode>> = {
  // A directory of the SDK's files (@fastify/static): there is nothing to list.
  403: 'not_found',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  416: 'range_not_satisfiable',
  429: 'rate_limited',
}

/** The dashboard page and its charting library (Chart.js' UMD build, from its package). */
function registerDashboard(app: FastifyInstance): void {
  const root = join(collectorRoot(), 'dashboard')
  if (!existsSync(root)) return
  const chartJs = join(dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.min.js')
  app.get('/dashboard', { schema: { hide: true } }, async (_request, reply) => reply.redirect('/dashboard/'))
  app.get('/dashboard/vendor/chart.umd.js', { schema: { hide: true } }, async (_request, reply) =>
    reply.header('content-type', 'application/javascript; charset=utf-8').header('cache-control', 'public, max-age=86400').send(createReadStream(chartJs)),
  )
  void app.register(fastifyStatic, { root, prefix: '/dashboard/', decorateReply: false, index: 'index.html', cacheControl: false })
}

/**
 * The browser SDK: at /sdk/ (cached five minutes: a new release reaches pages soon), and at
 * /sdk/<version>/, immutable for a year, the URL to pin with an SRI hash (the build prints
 * both and writes them to sri.json beside the SDK). The IIFE loads its lazy chunks from
 * beside itself, so a versioned script loads versioned chunks.
 */
function registerSdk(app: FastifyInstance, sdkDir: string): void {
  const common = {
    root: sdkDir,
    decorateReply: false,
    index: false as const,
    preCompressed: true,
    setHeaders: (res: { setHeader(name: string, value: string): unknown }) => {
      res.setHeader('access-control-allow-origin', '*')
    },
  }
  void app.register(fastifyStatic, { ...common, prefix: '/sdk/', cacheControl: true, maxAge: 300_000 })
  const version = sdkVersion(sdkDir)
  if (version) void app.register(fastifyStatic, { ...common, prefix: `/sdk/${version}/`, cacheControl: true, maxAge: 365 * 24 * 3600_000, immutable: true })
}

/** The version the build recorded in sri.json beside the SDK, if it did. */
function sdkVersion(sdkDir: string): string | undefined {
  try {
    const { version } = JSON.parse(readFileSync(join(sdkDir, 'sri.json'), 'utf8')) as { version?: unknown }
    return typeof version === 'string' && /^\d+\.\d+\.\d+(-[\w.]+)?$/.test(version) ? version : undefined
  } catch {
    return undefined
  }
}

export function buildApp(options: BuildAppOptions): FastifyInstance {
  const keyring = typeof options.keyring === 'function' ? options.keyring : () => options.keyring as Keyring
  const sites = typeof options.sites === 'function' ? options.sites : () => options.sites as SiteRegistry
  const metrics = options.metrics ?? createMetrics()
  const ctx: AppContext = {
    store: options.store,
    keyring,
    sites,
    clock: options.clock ?? { now: Date.now },
    metrics,
    issuer: options.issuer ?? 'vigil',
    attestationVerifiers: options.attestationVerifiers ?? {},
    appAttestRoots: (options.appAttestRoots ?? [APPLE_APP_ATTESTATION_ROOT_CA]).map((pem) => new X509Certificate(pem)),
    scorer: options.scorer ?? inlineScorer((where) => metrics.checks.inc({ where })),
  }

  const requestTimeout = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS
  const timeouts = clientTimeouts(requestTimeout)
  const app = Fastify({
    logger: options.logger ?? false,
    logController: new LogController({ disableRequestLogging: options.accessLog !== true }),
    trustProxy: fastifyTrustProxy(options.trustProxy),
    bodyLimit: MAX_COLLECT_BYTES,
    // The body is what was signed: validation must never coerce, default or strip it.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: false } },
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    // While closing, requests are refused below in the envelope (`shutting_down`), not with Fastify's own 503 body.
    return503OnClosing: false,
    ...timeouts,
    // A missing Host is refused below, in the envelope; Node's own refusal is an empty 400.
    http: { ...timeouts.http, requireHostHeader: false },
    clientErrorHandler: refuseClientError(metrics, requestTimeout),
    // Errors before routing (a URL that does not decode) get our envelope too.
    frameworkErrors: (error, _request, reply) => {
      void (reply as FastifyReply).code(400).send(errorBody('bad_request', error.code === 'FST_ERR_BAD_URL' ? 'The URL does not decode.' : undefined))
    },
  }).withTypeProvider<TypeBoxTypeProvider>()

  // text/plain carries JSON too: it keeps the SDK's POST a CORS simple request (no preflight).
  app.removeContentTypeParser('text/plain')
  app.addContentTypeParser('text/plain', { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'))

  app.setErrorHandler((error: FastifyError | CollectorError, request, reply) => {
    let code: ErrorCode
    let message: string | undefined
    if (error instanceof CollectorError) {
      code = error.code
      message = error.message
    } else if (error.validation) {
      code = 'bad_request'
      // Fastify has already named where: "body/deviceId must …", "querystring/siteKey must …".
      message = error.message
    } else if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
      code = STATUS_CODES[error.statusCode] ?? 'bad_request'
      message = error.statusCode === 400 ? 'The body is not valid JSON.' : undefined
    } else {
      code = (error as { code?: string }).code === 'VIGIL_STORE_UNAVAILABLE' ? 'store_unavailable' : 'internal_error'
      request.log.error({ err: error }, 'request failed')
    }
    // Headers a refusal brings: ours (Retry-After, Connection: close, …) and a library's (the
    // static files' 416 names the file's length in Content-Range, RFC 9110 14.4).
    const headers = (error as { headers?: Record<string, string> }).headers
    if (headers && code !== 'internal_error') void reply.headers(headers)
    // The route (its pattern: no query string, no path parameters) and the code; not the client's address.
    if (ERRORS[code].status < 500) request.log.info({ code, method: request.method, route: request.routeOptions.url ?? 'unmatched' }, 'request refused')
    // Refusals before the route's own checks (a malformed body, a rate limit) count as the route's outcomes too.
    request.routeOptions.config.onRefused?.(request, code)
    return reply.code(ERRORS[code].status).send(errorBody(code, message))
  })
  const methods = routeMethods(app)
  app.setNotFoundHandler((request, reply) => {
    const allow = methods.of(request.url)
    // A route that took the request and found nothing (the SDK's files) calls this too.
    if (allow.length === 0 || allow.includes(request.method)) return reply.code(404).send(errorBody('not_found'))
    return reply.code(405).header('allow', allow.join(', ')).send(errorBody('method_not_allowed', `This route answers ${allow.join(', ')}.`))
  })
  // A missing, repeated or malformed Host (net/refusal.ts): the connection closes. A body in
  // a coding or charset the collector does not read: 415. Once the app closes,
  // a request still arriving on an open connection (a keep-alive or pipelined one behind a
  // request in flight) is refused, and its connection closes.
  let closing = false
  app.decorateRequest('clientIp', '')
  app.addHook('onRequest', (request, _reply, done) => {
    request.clientIp = clientAddress(request.ip, request.socket.remoteAddress)
    if (closing) return done(new CollectorError('shutting_down', undefined, { connection: 'close' }))
    const badHost = hostRefusal(request.raw)
    if (badHost) return done(new CollectorError('bad_request', badHost, { connection: 'close' }))
    const badEncoding = bodyEncodingRefusal(request.raw)
    done(badEncoding ? new CollectorError('unsupported_media_type', badEncoding) : undefined)
  })
  // An `Expect` other than 100-continue: Node answers 417 itself, with an empty body, unless asked.
  app.server.on('checkExpectation', (_request: IncomingMessage, response: ServerResponse) => {
    refusedUnparsed(metrics, app.log, 'expectation_failed')
    refuseBeforeBody(response, 'expectation_failed')
  })
  // `Expect: 100-continue`: Node sends 100 Continue at once, unless asked, and the client
  // then uploads a body the route refuses. A length over every route's limit is refused
  // first (413, and the connection closes); any other goes on as Node would have.
  app.server.on('checkContinue', (request: IncomingMessage, response: ServerResponse) => {
    if (Number(request.headers['content-length']) > MAX_COLLECT_BYTES) {
      refusedUnparsed(metrics, app.log, 'payload_too_large')
      refuseBeforeBody(response, 'payload_too_large')
      return
    }
    response.writeContinue()
    app.server.emit('request', request, response)
  })
  // CONNECT: Node closes the connection without an answer unless asked.
  app.server.on('connect', (_request: IncomingMessage, socket: Socket) => {
    refusedUnparsed(metrics, app.log, 'method_not_allowed')
    refuseConnect(socket, methods.all().join(', '))
  })
  // An answer before the body has all arrived (a 413), then a close: the client still writing
  // must not meet a reset that throws the answer away (net/linger.ts).
  const linger = lingering(requestTimeout)
  app.server.on('connection', (socket: Socket) => linger.attach(socket))
  // Before the server stops taking connections: one lingering would hold its close up.
  app.addHook('preClose', (done) => {
    closing = true
    linger.closeAll()
    done()
  })

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched'
    ctx.metrics.requests.inc({ route, method: request.method, status: String(reply.statusCode) })
    ctx.metrics.requestSeconds.observe({ route }, reply.elapsedTime / 1000)
  })

  // The OpenAPI description is generated from the route schemas: GET /openapi.json.
  void app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Vigil collector', version: '1', description: 'Challenges, signed collects, sealed verdict tokens, siteverify. Errors: {"error":{"code","message"}} (docs/protocol.md).' },
    },
  })
  registerCors(app, sites)
  void app.register(challengeRoutes, { ctx })
  void app.register(collectRoutes, { ctx })
  void app.register(siteverifyRoutes, { ctx })
  void app.register(metaRoutes, { ctx, metricsToken: options.metricsToken })
  void app.register(statsRoutes, { ctx })
  void app.register(telemetryRoutes, { ctx })
  void app.register(eraseRoutes, { ctx })
  void app.register(privateTokenRoutes, { ctx })
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())

  const sdkDir = options.sdkDir === undefined ? sdkBrowserDir() : options.sdkDir
  if (sdkDir !== undefined && sdkDir !== false && existsSync(sdkDir)) registerSdk(app, sdkDir)
  if (options.dashboard !== false) registerDashboard(app)
  for (const plugin of options.plugins ?? []) void app.register((scope) => plugin(scope, ctx))
  return app
}

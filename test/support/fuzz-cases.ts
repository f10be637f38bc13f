/**
 * Fuzz cases for every route the collector (with the demo shop) serves: fast-check
 * arbitraries of raw HTTP requests. Bodies are random JSON of the wrong shape, or
 * real captured payloads (Chromium's signals, a human trace) mutated at a random
 * path and either left with their old signature or validly re-signed, so that the
 * fuzz reaches the scoring pipeline and not only the schema. The hostile shapes the
 * issue names are all here: wrong types, huge and deeply nested JSON, invalid UTF-8,
 * truncated base64 and JSON, oversize fields, duplicate keys, `__proto__` and
 * `constructor` keys, odd content types, percent-encoding and path tricks.
 */
import fc from 'fast-check'
import { signingInput, MAX_COLLECT_BYTES } from '@vigil-risk/core/protocol/payload'
import type { CollectPayload } from '@vigil-risk/core/protocol/schema'
import { TestDevice } from './device'
import { OTHER_SITE } from './app'
import { capturedSignals, humanTrace } from './payloads'
import { attestationNonce } from '../../collector-server/src/evidence/check'

export interface FuzzRequest {
  /** Which generator made it: the summary counts by kind. */
  kind: string
  method: string
  path: string
  headers: Record<string, string>
  body?: Buffer
}

export interface FuzzContext {
  /** A fresh challenge for the demo site (minted with the collector's own key). */
  challenge(siteKey?: string): string
  /** A genuine verdict token, or tokens, to mutate for siteverify and the demo routes. */
  tokens: string[]
  secret: string
}

const JSON_TYPE = { 'content-type': 'application/json' }

// ---- values -----------------------------------------------------------------------

const hostileKey = fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '', ' ', '\u0000', 'a'.repeat(300))
const hostileString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.constantFrom('', '\u0000', '\ud800', '\udfff', '../../etc/passwd', '%00', '<script>alert(1)</script>', "' OR 1=1 --", 'NaN', '1e309', '-0'),
  fc.integer({ min: 1_000, max: 80_000 }).map((n) => 'x'.repeat(n)),
)
const hostileNumber = fc.oneof(fc.integer(), fc.double(), fc.constantFrom(0, -0, -1, 2 ** 53, -(2 ** 53), 1e308, -1e308, 5e-324, Number.MAX_SAFE_INTEGER + 2))
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 2, arbitrary: hostileString },
  { weight: 2, arbitrary: hostileNumber },
  { weight: 1, arbitrary: fc.constantFrom(null, true, false, [], {}, [[[]]], { __proto__: null }) },
  { weight: 1, arbitrary: fc.dictionary(hostileKey, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }) },
  { weight: 1, arbitrary: fc.array(fc.jsonValue({ maxDepth: 1 }), { minLength: 500, maxLength: 3000 }) },
)

/** Every path into a JSON value, so a mutation can land anywhere. */
function paths(value: unknown, prefix: Array<string | number> = [], out: Array<Array<string | number>> = [], depth = 0): Array<Array<string | number>> {
  out.push(prefix)
  if (depth > 6 || value === null || typeof value !== 'object') return out
  const entries = Array.isArray(value) ? value.slice(0, 8).map((v, i) => [i, v] as const) : Object.entries(value)
  for (const [k, v] of entries) paths(v, [...prefix, k], out, depth + 1)
  return out
}

type Mutation = { op: 'set'; value: unknown } | { op: 'delete' } | { op: 'add'; key: string; value: unknown }
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 4, arbitrary: hostileValue.map((value) => ({ op: 'set' as const, value })) },
  { weight: 2, arbitrary: fc.constant({ op: 'delete' as const }) },
  { weight: 2, arbitrary: fc.tuple(fc.oneof(hostileKey, fc.string({ maxLength: 12 })), hostileValue).map(([key, value]) => ({ op: 'add' as const, key, value })) },
)

function mutate(root: unknown, path: Array<string | number>, m: Mutation): unknown {
  const copy = structuredClone(root)
  if (path.length === 0) return m.op === 'set' ? m.value : copy
  let parent = copy as Record<string | number, unknown>
  for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>
  const last = path[path.length - 1]!
  if (m.op === 'set') parent[last] = m.value
  else if (m.op === 'delete') delete parent[last]
  else {
    const target = parent[last]
    if (target && typeof target === 'object' && !Array.isArray(target)) Object.defineProperty(target, m.key, { value: m.value, enumerable: true, configurable: true, writable: true })
    else parent[last] = m.value
  }
  return copy
}

// ---- raw-text hostility -----------------------------------------------------------

type Raw = { op: 'truncate'; at: number } | { op: 'badUtf8'; at: number; bytes: readonly number[] } | { op: 'dupKey'; key: string; value: unknown } | { op: 'protoKey'; key: '__proto__' | 'constructor'; nested: boolean } | { op: 'none' }
const rawMutation: fc.Arbitrary<Raw> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ op: 'none' as const }) },
  { weight: 2, arbitrary: fc.double({ min: 0, max: 1, noNaN: true }).map((at) => ({ op: 'truncate' as const, at })) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom([0xff], [0xc3], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xc0, 0xaf], [0xe2, 0x82], [0x00]))
      .map(([at, bytes]) => ({ op: 'badUtf8' as const, at, bytes })),
  },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom('payload', 'sig', 'secret', 'token', 'siteKey'), hostileValue).map(([key, value]) => ({ op: 'dupKey' as const, key, value })) },
  { weight: 2, arbitrary: fc.record({ key: fc.constantFrom('__proto__' as const, 'constructor' as const), nested: fc.boolean() }).map((r) => ({ op: 'protoKey' as const, ...r })) },
)

function applyRaw(text: string, raw: Raw): Buffer {
  switch (raw.op) {
    case 'none':
      return Buffer.from(text)
    case 'truncate':
      return Buffer.from(text.slice(0, Math.floor(text.length * raw.at)))
    case 'badUtf8': {
      const bytes = Buffer.from(text)
      const at = Math.floor(bytes.length * raw.at)
      return Buffer.concat([bytes.subarray(0, at), Buffer.from(raw.bytes), bytes.subarray(at)])
    }
    case 'dupKey':
      // JSON.parse keeps the last of duplicate keys: put the hostile one first, and last.
      return Buffer.from(text.startsWith('{') ? `{${JSON.stringify(raw.key)}:${JSON.stringify(raw.value) ?? 'null'},${text.slice(1)}` : text)
    case 'protoKey': {
      const poison = raw.key === '__proto__' ? '"__proto__":{"polluted":"yes"}' : '"constructor":{"prototype":{"polluted":"yes"}}'
      if (!text.startsWith('{')) return Buffer.from(text)
      if (raw.nested) {
        const i = text.indexOf('{', 1)
        if (i > 0) return Buffer.from(`${text.slice(0, i + 1)}${poison},${text.slice(i + 1)}`)
      }
      return Buffer.from(`{${poison},${text.slice(1)}`)
    }
  }
}

const deepJson = fc.oneof(
  fc.integer({ min: 50, max: 40_000 }).map((d) => '['.repeat(d) + ']'.repeat(d)),
  fc.integer({ min: 50, max: 15_000 }).map((d) => '{"a":'.repeat(d) + '1' + '}'.repeat(d)),
  fc.integer({ min: 50, max: 40_000 }).map((d) => '['.repeat(d)),
)
const hugeJson = fc.oneof(
  fc.integer({ min: MAX_COLLECT_BYTES - 100, max: MAX_COLLECT_BYTES * 3 }).map((n) => `{"payload":"${'a'.repeat(n)}"}`),
  fc.integer({ min: 1000, max: 20_000 }).map((n) => JSON.stringify({ payload: Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i])) })),
)

const contentType = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom('application/json', 'text/plain;charset=UTF-8') },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/json; charset=utf-16',
      'text/plain; charset=latin1',
      'application/xml',
      'application/json, text/plain',
      'APPLICATION/JSON',
      'application/vnd.api+json',
      'text/html',
    ),
  },
)

// ---- requests -----------------------------------------------------------------------

export function fuzzRequests(ctx: FuzzContext): fc.Arbitrary<FuzzRequest> {
  const signals = ['chromium-plain', 'safari-ios', 'android-webview-tiktok', 'firefox-resist-fingerprinting', 'chromium-playwright-stealth'].map((f) => capturedSignals(f))
  const trace = humanTrace(300)
  const devices = Array.from({ length: 16 }, () => new TestDevice())

  // Platform evidence the verifiers must survive: bound to the payload (so they get past the
  // nonce check and parse it), its contents hostile.
  const base64 = fc.uint8Array({ maxLength: 600 }).map((b) => Buffer.from(b).toString('base64'))
  const evidence = fc.oneof(
    { weight: 3, arbitrary: fc.constant(null) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.constantFrom('attestation', 'assertion', 'both'), base64, base64, hostileString)
        .map(([form, keyId, object, junk]) => ({ kind: 'app_attest', platform: 'ios', token: form === 'both' ? junk.slice(0, 16000) : JSON.stringify({ keyId, [form]: object }) })),
    },
    { weight: 1, arbitrary: fc.array(fc.string({ maxLength: 200 }), { minLength: 1, maxLength: 6 }).map((parts) => ({ kind: 'play_integrity', platform: 'android', token: parts.join('.') })) },
    { weight: 1, arbitrary: hostileString.map((receipt) => ({ receipt: receipt.slice(0, 512) })) },
  )
  const realPayload = fc.tuple(fc.nat(devices.length - 1), fc.nat(signals.length - 1), fc.boolean(), fc.constantFrom('checkout', 'login', 'coupon/claim', 'cart/add'), evidence).map(
    ([d, s, withTrace, action, extra]) => {
      const device = devices[d]!
      const payload = device.payload(ctx.challenge(), { action, signals: signals[s]!, ...(withTrace ? { behavior: { trace, summary: {} } } : {}) })
      if (extra && 'receipt' in extra) payload.privateToken = extra.receipt
      else if (extra) payload.attestation = { ...extra, nonce: attestationNonce(payload) }
      return { device, payload }
    },
  )
  const signature = fc.oneof(
    { weight: 6, arbitrary: fc.constant('resign') },
    { weight: 2, arbitrary: fc.constant('original') },
    { weight: 1, arbitrary: fc.nat(86).map((n) => `truncate:${n}`) },
    { weight: 1, arbitrary: fc.constantFrom('', 'A', '====', '!!!!', 'A'.repeat(86), 'A'.repeat(88), '\u00e9'.repeat(86)) },
  )

  const collect = fc.tuple(realPayload, fc.boolean(), fc.nat(), mutation, signature, rawMutation, contentType).map(([{ device, payload }, mutateIt, pathPick, m, sigMode, raw, type]) => {
    const original = device.sign(payload)
    const ps = paths(payload)
    const mutated = mutateIt ? mutate(payload, ps[pathPick % ps.length]!, m) : payload
    let sig: unknown = original
    if (sigMode === 'resign') {
      try {
        sig = device.sign(mutated as CollectPayload, signingInput(mutated as CollectPayload))
      } catch {
        sig = original // not canonicalisable: the collector must say bad_request
      }
    } else if (sigMode.startsWith('truncate:')) sig = original.slice(0, Number(sigMode.slice(9)))
    else if (sigMode !== 'original') sig = sigMode
    const text = JSON.stringify({ payload: mutated, sig }) ?? 'null'
    return { kind: `collect:${raw.op}`, method: 'POST', path: '/v1/collect', headers: { 'content-type': type }, body: applyRaw(text, raw) }
  })

  const wrongShape = fc
    .tuple(fc.constantFrom('/v1/collect', '/v1/siteverify', '/v1/telemetry', '/demo/api/checkout', '/demo/api/login', '/demo/api/coupon', '/demo/api/cart'), fc.oneof(hostileValue.map((v) => JSON.stringify(v) ?? 'null'), deepJson, hugeJson), rawMutation, contentType)
    .map(([path, text, raw, type]) => ({ kind: `shape:${raw.op}`, method: 'POST', path, headers: { 'content-type': type }, body: applyRaw(text, raw) }))

  const tokenMutation = fc.oneof(
    fc.constant((t: string) => t),
    fc.nat().map((n) => (t: string) => t.slice(0, n % (t.length + 1))),
    fc.tuple(fc.nat(), fc.constantFrom('A', '_', '-', '.', '=', '+', '/', '\u00e9')).map(([n, c]) => (t: string) => { const i = n % t.length; return t.slice(0, i) + c + t.slice(i + 1) }),
    fc.constant((t: string) => t.split('.').reverse().join('.')),
    fc.constant((t: string) => `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${t.split('.')[1]}.`),
    fc.constant((t: string) => `${t}.${t}`),
    hostileString.map((s) => () => s),
  )
  const siteverify = fc
    .tuple(fc.nat(), tokenMutation, fc.oneof(fc.constant(ctx.secret), fc.constant(OTHER_SITE.secret), hostileString), fc.option(hostileValue, { freq: 4 }), rawMutation)
    .map(([pick, mut, secret, replaceToken, raw]) => {
      const token = ctx.tokens.length > 0 ? mut(ctx.tokens[pick % ctx.tokens.length]!) : 'x'
      const text = JSON.stringify({ secret, token: replaceToken === null ? token : replaceToken }) ?? 'null'
      return { kind: `siteverify:${raw.op}`, method: 'POST', path: '/v1/siteverify', headers: JSON_TYPE, body: applyRaw(text, raw) }
    })

  const demo = fc
    .tuple(fc.constantFrom('checkout', 'login', 'coupon', 'cart'), fc.nat(), tokenMutation, hostileValue, fc.boolean(), rawMutation)
    .map(([route, pick, mut, extra, valid, raw]) => {
      const token = ctx.tokens.length > 0 ? mut(ctx.tokens[pick % ctx.tokens.length]!) : 'x'
      const base = { token, account: valid ? 'fuzz@example.com' : extra, email: valid ? 'fuzz@example.com' : extra, sku: valid ? 'sneaker' : extra, items: valid ? ['sneaker'] : extra }
      return { kind: `demo:${raw.op}`, method: 'POST', path: `/demo/api/${route}`, headers: JSON_TYPE, body: applyRaw(JSON.stringify(base), raw) }
    })

  // The SDK's failure reports: a real one, mutated anywhere.
  const telemetry = fc.tuple(fc.boolean(), fc.nat(), mutation, rawMutation, contentType).map(([mutateIt, pathPick, m, raw, type]) => {
    const body = { v: 1, siteKey: 'demo', sdk: '0.1.0', reports: [{ code: 'network_error', action: 'checkout', ms: 12, at: Date.now() }, { code: 'collector_error', status: 503, serverCode: 'store_unavailable', action: 'login', ms: 40, at: Date.now() }], dropped: 0 }
    const ps = paths(body)
    const text = JSON.stringify(mutateIt ? mutate(body, ps[pathPick % ps.length]!, m) : body) ?? 'null'
    return { kind: `telemetry:${raw.op}`, method: 'POST', path: '/v1/telemetry', headers: { 'content-type': type }, body: applyRaw(text, raw) }
  })

  const queryValue = fc.oneof(fc.constantFrom('demo', 'other', '', '%', '%E0%A4%A', '%00', '%C0%AF', 'demo&siteKey=other', '..%2F..%2F', '60', '0', '-1', '99999', '1e3'), fc.string({ maxLength: 70 }).map(encodeURIComponent))
  const gets = fc
    .tuple(
      fc.constantFrom('/v1/challenge', '/v1/stats', '/.well-known/jwks.json', '/healthz', '/metrics', '/openapi.json', '/demo/api/products', '/dashboard', '/dashboard/', '/dashboard/dashboard.js', '/sdk/vigil.min.js', '/'),
      fc.array(fc.tuple(fc.constantFrom('siteKey', 'minutes', 'x', '__proto__', 'constructor'), queryValue), { maxLength: 4 }),
      fc.option(fc.oneof(fc.constant(`Bearer ${ctx.secret}`), fc.constant('Bearer '), hostileString.filter((s) => /^[\x20-\x7e]*$/.test(s) && s.length < 4000).map((s) => `Bearer ${s}`), fc.constantFrom('Basic ZGVtbzpkZW1vLXNlY3JldA==', 'bearer demo-secret')), { freq: 2 }),
      fc.constantFrom('GET', 'GET', 'GET', 'HEAD'),
    )
    .map(([path, query, auth, method]): FuzzRequest => ({
      kind: `get:${path}`,
      method,
      path: query.length > 0 ? `${path}?${query.map(([k, v]) => `${k}=${v}`).join('&')}` : path,
      headers: auth ? { authorization: auth } : {},
    }))

  // Private Access Tokens: the challenge, and presented tokens of every shape.
  const context = fc.oneof(fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('base64url')), queryValue)
  const presented = fc.oneof(
    fc.uint8Array({ minLength: 354, maxLength: 354 }).map((b) => `PrivateToken token="${Buffer.from([0, 2, ...b.subarray(2)]).toString('base64url')}"`),
    fc.uint8Array({ maxLength: 600 }).map((b) => `PrivateToken token="${Buffer.from(b).toString('base64url')}"`),
    hostileString.filter((h) => /^[\x20-\x7e]*$/.test(h) && h.length < 4000).map((h) => `PrivateToken token=${h}`),
    fc.constantFrom('PrivateToken', 'PrivateToken token=""', 'privatetoken token="AAAA"', 'Bearer x'),
  )
  const privateToken = fc
    .tuple(fc.constantFrom('demo', 'other', '', '%00'), context, fc.option(presented, { freq: 3 }))
    .map(([siteKey, ctxValue, auth]): FuzzRequest => ({
      kind: 'private-token',
      method: 'GET',
      path: `/v1/private-token?siteKey=${siteKey}&context=${ctxValue}`,
      headers: auth ? { authorization: auth } : {},
    }))

  const oddPaths = fc
    .tuple(
      fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'TRACE'),
      fc.oneof(
        fc.constantFrom('/v1/collect', '/v1/challenge', '/v1/siteverify', '/v1/telemetry', '/v1/stats', '/metrics', '/dashboard/', '/sdk/'),
        fc.constantFrom('/sdk/../package.json', '/sdk/..%2f..%2fpackage.json', '/dashboard/..%2F..%2Fdata%2Fsigning-keys.json', '/dashboard/%2e%2e/%2e%2e/package.json', '/%2e%2e/%2e%2e/etc/passwd', '/v1/%ZZ', '/v1/collect%00', '//v1//collect', '/v1/collect/', '/v1/COLLECT', `/${'a'.repeat(5000)}`, '/sdk/%ff%fe', '/dashboard/\u00e9'),
        fc.webPath().map((p) => p || '/'),
      ),
      fc.option(fc.record({ origin: fc.constantFrom('http://127.0.0.1:1', 'https://evil.example', 'null', 'http://localhost:3000', ''), method: fc.constantFrom('POST', 'GET', 'DELETE', 'X'), headers: fc.constantFrom('content-type', 'x-evil, authorization', '') })),
    )
    .map(([method, path, cors]): FuzzRequest => ({
      kind: `path:${method}`,
      method,
      path: encodeURI(decodeURISafe(path)) === path ? path : path.replace(/[^\x21-\x7e]/g, (c) => encodeURIComponent(c)),
      headers: cors ? { origin: cors.origin, 'access-control-request-method': cors.method, 'access-control-request-headers': cors.headers } : {},
    }))

  const weighted = (weight: number, arbitrary: fc.Arbitrary<FuzzRequest>) => ({ weight, arbitrary })
  return fc.oneof(
    weighted(40, collect),
    weighted(15, wrongShape),
    weighted(15, siteverify),
    weighted(8, demo),
    weighted(5, telemetry),
    weighted(12, gets),
    weighted(4, privateToken),
    weighted(10, oddPaths),
  )
}

function decodeURISafe(s: string): string {
  try {
    return decodeURI(s)
  } catch {
    return s
  }
}

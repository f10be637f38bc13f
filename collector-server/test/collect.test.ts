import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { makeTestApp, OTHER_SITE, STORE_KINDS, testSecret, type TestApp } from '../../test/support/app'
import { siteRegistry } from '../src/config/sites'
import { TestDevice } from '../../test/support/device'
import { readFileSync } from 'node:fs'
import { CHALLENGE_TTL_MS, MAX_COLLECT_BYTES } from '@vigil-risk/core/protocol/payload'
import { compactTrace, expandTrace, type TraceEvent } from '@vigil-risk/core/protocol/trace'
import { extractFeatures } from '@vigil-risk/core/features'
import { forward } from '@vigil-risk/core/classifier/model'
import { classifier } from '../src/risk/behavior'

describe.each(STORE_KINDS)('collector routes on %s', (kind) => {
  let t: TestApp
  beforeEach(async () => {
    t = await makeTestApp({ store: kind })
  })
  afterEach(async () => {
    await t.close()
  })

  const collect = (body: unknown, headers: Record<string, string> = {}) =>
    t.app.inject({ method: 'POST', url: '/v1/collect', payload: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } })

  const errorCode = (res: { json(): unknown }) => (res.json() as { error: { code: string } }).error.code

  describe('GET /v1/challenge', () => {
    it('issues a signed, expiring challenge for a known site', async () => {
      const res = await t.app.inject('/v1/challenge?siteKey=demo')
      expect(res.statusCode).toBe(200)
      const body = res.json<{ challenge: string; expiresAt: number; siteKey: string }>()
      expect(body.siteKey).toBe('demo')
      expect(body.expiresAt).toBe(t.clock.now() + CHALLENGE_TTL_MS)
      expect(body.challenge).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/)
      expect(res.headers['cache-control']).toBe('no-store')
    })

    it('refuses unknown sites, malformed site keys and foreign origins with their codes', async () => {
      const unknown = await t.app.inject('/v1/challenge?siteKey=nope')
      expect([unknown.statusCode, errorCode(unknown)]).toEqual([400, 'unknown_site'])
      const malformed = await t.app.inject('/v1/challenge?siteKey=%3Cscript%3E')
      expect([malformed.statusCode, errorCode(malformed)]).toEqual([400, 'bad_request'])
      const missing = await t.app.inject('/v1/challenge')
      expect([missing.statusCode, errorCode(missing)]).toEqual([400, 'bad_request'])
      const foreign = await t.app.inject({ url: '/v1/challenge?siteKey=demo', headers: { origin: 'https://evil.example' } })
      expect([foreign.statusCode, errorCode(foreign)]).toEqual([403, 'origin_not_allowed'])
      expect(foreign.headers['access-control-allow-origin']).toBeUndefined()
    })

    it('answers CORS for origins a site allows', async () => {
      const res = await t.app.inject({ url: '/v1/challenge?siteKey=demo', headers: { origin: 'http://localhost:5173' } })
      expect(res.statusCode).toBe(200)
      expect(res.headers['access-control-allow-origin']).toBe('http://localhost:5173')
    })
  })

  describe('POST /v1/collect', () => {
    it('accepts a signed payload and returns a sealed token that siteverify redeems once', async () => {
      const device = new TestDevice()
      const res = await collect(device.body(await t.challenge()))
      expect(res.statusCode).toBe(200)
      const { token, expiresAt } = res.json<{ token: string; expiresAt: number }>()
      expect(token.split('.')).toHaveLength(5)
      expect(expiresAt).toBe(Math.floor(t.clock.now() / 1000) * 1000 + 300_000)
      // The browser cannot read the verdict: nothing in the response but the sealed token.
      expect(Object.keys(res.json<object>()).sort()).toEqual(['expiresAt', 'token'])

      const verify = () => t.app.inject({ method: 'POST', url: '/v1/siteverify', payload: { secret: 'demo-secret', token } })
      const first = await verify()
      expect(first.statusCode).toBe(200)
      expect(first.json()).toMatchObject({ success: true, verdict: 'allow', action: 'checkout', siteKey: 'demo', deviceId: device.id, hostname: '127.0.0.1' })
      const second = await verify()
      expect(second.json()).toEqual({ success: false, errorCodes: ['already_redeemed'] })
    })

    it('accepts text/plain (the SDK sends a CORS simple request)', async () => {
      const res = await collect(new TestDevice().body(await t.challenge()), { 'content-type': 'text/plain;charset=UTF-8', origin: 'http://127.0.0.1:9999' })
      expect(res.statusCode).toBe(200)
      expect(res.headers['access-control-allow-origin']).toBe('http://127.0.0.1:9999')
    })

    it('refuses a replayed body with replayed', async () => {
      const body = new TestDevice().body(await t.challenge())
      expect((await collect(body)).statusCode).toBe(200)
      const again = await collect(body)
      expect([again.statusCode, errorCode(again)]).toEqual([409, 'replayed'])
    })

    it('keeps a spent challenge spent past its expiry: a replay at its last instant is refused', async () => {
      // The expiry is judged by the time the request began, the nonce spent later: a
      // nonce kept only until the expiry was free again for a request straddling it.
      const issuedAt = t.clock.now()
      const body = new TestDevice().body(await t.challenge())
      expect((await collect(body)).statusCode).toBe(200)
      t.clock.advance(issuedAt + CHALLENGE_TTL_MS - t.clock.now())
      await new Promise((resolve) => setTimeout(resolve, 20)) // Redis expires keys by its own clock
      const again = await collect(body)
      expect([again.statusCode, errorCode(again)]).toEqual([409, 'replayed'])
    })

    it('refuses a challenge past its expiry with challenge_expired', async () => {
      const body = new TestDevice().body(await t.challenge())
      t.clock.advance(CHALLENGE_TTL_MS + 1)
      const res = await collect(body)
      expect([res.statusCode, errorCode(res)]).toEqual([400, 'challenge_expired'])
    })

    it('refuses any flipped byte of the signed content', async () => {
      const device = new TestDevice()
      const good = device.body(await t.challenge())
      const text = JSON.stringify(good)
      const flipAt = (needle: string, offset: number): string => {
        const at = text.indexOf(needle) + offset
        return text.slice(0, at) + (text[at] === 'A' ? 'B' : 'A') + text.slice(at + 1)
      }
      const cases: Array<[string, string]> = [
        [flipAt('"checkout"', 3), 'bad_signature'],
        [flipAt(device.id, 2), 'bad_signature'],
        [flipAt(device.pub, 5), 'bad_signature'],
        [flipAt('"0123456789abcdef', 4), 'bad_signature'],
        [flipAt(good.sig, 10), 'bad_signature'],
        // The hostname is checked against the site before the signature is.
        [flipAt('127.0.0.1', 1), 'origin_not_allowed'],
      ]
      for (const [body, code] of cases) expect(errorCode(await collect(body))).toBe(code)
      const tampered = { ...good, payload: { ...good.payload, ts: good.payload.ts + 1 } }
      expect(errorCode(await collect(tampered))).toBe('bad_signature')
      // The untouched body still goes through: the refusals above consumed nothing.
      expect((await collect(good, { 'content-type': 'text/plain;charset=UTF-8', 'content-encoding': 'identity' })).statusCode).toBe(200)
    })

    it('refuses a tampered challenge with bad_challenge, and one from another site', async () => {
      const device = new TestDevice()
      const challenge = await t.challenge()
      const forged = challenge.slice(0, -2) + (challenge.endsWith('AA') ? 'BA' : 'AA')
      expect(errorCode(await collect(device.body(forged)))).toBe('bad_challenge')
      const foreign = await t.challenge(OTHER_SITE.siteKey)
      const res = await collect(device.body(foreign))
      expect([res.statusCode, errorCode(res)]).toEqual([400, 'bad_challenge'])
    })

    it('refuses a payload signed over another encoding than the canonical one', async () => {
      const device = new TestDevice()
      const payload = device.payload(await t.challenge())
      const sig = device.sign(payload, 'vigil/collect/v1\n' + JSON.stringify(payload))
      const res = await collect({ payload, sig })
      expect([res.statusCode, errorCode(res)]).toEqual([401, 'bad_signature'])
    })

    it("refuses another key claiming a device's id with key_mismatch", async () => {
      const victim = new TestDevice()
      const attacker = new TestDevice()
      const payload = attacker.payload(await t.challenge(), { device: { id: victim.id, pub: attacker.pub, impl: 'webcrypto', persisted: true } })
      const res = await collect({ payload, sig: attacker.sign(payload) })
      expect([res.statusCode, errorCode(res)]).toEqual([403, 'key_mismatch'])
    })

    it('checks the origin against the site and the payload hostname against the origin', async () => {
      const device = new TestDevice()
      const foreign = await collect(device.body(await t.challenge()), { origin: 'https://evil.example' })
      expect([foreign.statusCode, errorCode(foreign)]).toEqual([403, 'origin_not_allowed'])
      const mismatch = await collect(device.body(await t.challenge()), { origin: 'http://localhost:3000' })
      expect([mismatch.statusCode, errorCode(mismatch)]).toEqual([400, 'hostname_mismatch'])
    })

    it('refuses an opaque origin ("null") unless the site lists it', async () => {
      // A sandboxed frame on any page sends Origin: null; its SDK may claim the shop's hostname.
      const device = new TestDevice()
      const challenge = await t.app.inject({ url: '/v1/challenge?siteKey=demo', headers: { origin: 'null' } })
      expect([challenge.statusCode, errorCode(challenge)]).toEqual([403, 'origin_not_allowed'])
      const res = await collect(device.body(await t.challenge()), { origin: 'null' })
      expect([res.statusCode, errorCode(res)]).toEqual([403, 'origin_not_allowed'])
      expect(res.headers['access-control-allow-origin']).toBeUndefined()

      // An app's webview showing a local page lists it; the page's hostname is then its own claim.
      const app = { siteKey: 'app', secret: testSecret('app'), origins: ['https://shop.example', 'null'] }
      const local = await makeTestApp({ store: kind, sites: siteRegistry([app], { demo: false }) })
      try {
        const inject = async (hostname: string) => {
          const body = device.body(await local.challenge('app', 'null'), { siteKey: 'app', hostname })
          return local.app.inject({ method: 'POST', url: '/v1/collect', payload: JSON.stringify(body), headers: { 'content-type': 'application/json', origin: 'null' } })
        }
        const file = await inject('')
        expect(file.statusCode).toBe(200)
        expect(file.headers['access-control-allow-origin']).toBe('null')
        // A backend can require the empty hostname at siteverify.
        const redeemed = await local.app.inject({ method: 'POST', url: '/v1/siteverify', payload: { secret: app.secret, token: file.json<{ token: string }>().token, hostname: '' } })
        expect(redeemed.json()).toMatchObject({ success: true, hostname: '' })
        // A sandboxed frame on another site claiming the shop's hostname, or its own.
        for (const hostname of ['shop.example', 'evil.example']) {
          const claimed = await inject(hostname)
          expect([claimed.statusCode, errorCode(claimed)], hostname).toEqual([400, 'hostname_mismatch'])
        }
        // Without an Origin (a native client), the shop's hostname is still a claim it may make.
        const native = await local.app.inject({ method: 'POST', url: '/v1/collect', payload: JSON.stringify(device.body(await local.challenge('app'), { siteKey: 'app', hostname: 'shop.example' })), headers: { 'content-type': 'application/json' } })
        expect(native.statusCode).toBe(200)
      } finally {
        await local.close()
      }
    })

    it('without an Origin, names the claimed hostname in lower case, and refuses one that is no host name', async () => {
      const device = new TestDevice()
      const upper = await collect(device.body(await t.challenge(), { hostname: 'LocalHost' }))
      expect(upper.statusCode).toBe(200)
      const redeemed = await t.app.inject({ method: 'POST', url: '/v1/siteverify', payload: { secret: 'demo-secret', token: upper.json<{ token: string }>().token } })
      expect(redeemed.json()).toMatchObject({ success: true, hostname: 'localhost' })
      for (const hostname of ['<b>.localhost', 'local host', 'localhost/x']) {
        const res = await collect(device.body(await t.challenge(), { hostname }))
        expect([res.statusCode, errorCode(res)], hostname).toEqual([403, 'origin_not_allowed'])
      }
    })

    it('answers malformed requests with documented 4xx codes, never a 5xx', async () => {
      const device = new TestDevice()
      const good = device.body(await t.challenge())
      const cases: Array<[unknown, Record<string, string>, number, string]> = [
        ['{"payload":', {}, 400, 'bad_request'],
        ['', {}, 400, 'bad_request'],
        ['[]', {}, 400, 'bad_request'],
        ['{"__proto__":{"polluted":true}}', {}, 400, 'bad_request'],
        ['{"constructor":{"prototype":{"polluted":true}}}', {}, 400, 'bad_request'],
        [{ ...good, sig: 'x' }, {}, 400, 'bad_request'],
        [{ ...good, payload: { ...good.payload, v: 2 } }, {}, 400, 'bad_request'],
        [{ ...good, payload: { ...good.payload, action: 'a b' } }, {}, 400, 'bad_request'],
        [{ ...good, payload: { ...good.payload, ts: '1' } }, {}, 400, 'bad_request'],
        [{ ...good, payload: { ...good.payload, siteKey: 'nope' } }, {}, 400, 'unknown_site'],
        [{ ...good, payload: { ...good.payload, signals: { deep: JSON.parse('['.repeat(40) + ']'.repeat(40)) as unknown } } }, {}, 400, 'bad_request'],
        [JSON.stringify(good), { 'content-type': 'application/xml' }, 415, 'unsupported_media_type'],
        // A coding or a charset the collector does not read: refused as such, not "not JSON" or bad_signature.
        [JSON.stringify(good), { 'content-encoding': 'br' }, 415, 'unsupported_media_type'],
        [JSON.stringify(good), { 'content-encoding': 'gzip' }, 415, 'unsupported_media_type'],
        [JSON.stringify(good), { 'content-type': 'application/json; charset=iso-8859-1' }, 415, 'unsupported_media_type'],
        [JSON.stringify(good), { 'content-type': 'text/plain; charset="UTF-16"' }, 415, 'unsupported_media_type'],
        ['{"pad":"' + 'x'.repeat(MAX_COLLECT_BYTES) + '"}', {}, 413, 'payload_too_large'],
      ]
      for (const [body, headers, status, code] of cases) {
        const res = await collect(body, headers)
        expect([res.statusCode, errorCode(res)], JSON.stringify(body).slice(0, 80)).toEqual([status, code])
      }
      expect(({} as Record<string, unknown>)['polluted']).toBeUndefined()
      expect((await collect(good)).statusCode).toBe(200)
    })

    it('counts refusals by code in /metrics', async () => {
      const body = new TestDevice().body(await t.challenge())
      await collect(body)
      await collect(body)
      const metrics = await t.metrics()
      expect(metrics).toMatch(/vigil_collect_total\{outcome="accepted"\} 1/)
      expect(metrics).toMatch(/vigil_collect_total\{outcome="replayed"\} 1/)
    })
  })

  describe('behaviour re-scoring', () => {
    const golden = readFileSync('test/fixtures/traces/golden.jsonl', 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: string; events: TraceEvent[] })
    const bot = golden.find((g) => g.id === 'synthetic-linear')!

    it("re-scores the trace itself: a bot's trace is judged by the collector's own score whatever the page claims", async () => {
      const device = new TestDevice()
      const body = device.body(await t.challenge(), { behavior: { trace: compactTrace(bot.events), summary: {}, client: { score: 0.01, model: 'another-model', ms: 0.4 } } })
      const res = await collect(body)
      const token = (res.json<{ token: string }>()).token
      const verdict = (await t.app.inject({ method: 'POST', url: '/v1/siteverify', payload: { secret: 'demo-secret', token } })).json<{ reasons: string[]; behavior: { server: number } }>()
      const f = extractFeatures(expandTrace(compactTrace(bot.events)))
      const expected = forward(classifier, f.vector)
      expect(verdict.behavior.server).toBeCloseTo(expected, 5)
      // A bot leans bot: a confident score raises bot_behavior, a middling one behavior_suspect.
      expect(expected).toBeGreaterThan(0.5)
      expect(verdict.reasons).toContain(expected >= classifier.threshold ? 'bot_behavior' : 'behavior_suspect')
    })

    it('treats a client score that the trace does not give as tampering', async () => {
      const device = new TestDevice()
      const behavior = { trace: compactTrace(bot.events), summary: {}, client: { score: 0.01, model: classifier.version, ms: 0.4 } }
      const res = await collect(device.body(await t.challenge(), { behavior }))
      const token = (res.json<{ token: string }>()).token
      const verdict = (await t.app.inject({ method: 'POST', url: '/v1/siteverify', payload: { secret: 'demo-secret', token } })).json<{ reasons: string[]; behavior: { client: number } }>()
      expect(verdict.reasons).toContain('tampering')
      expect(verdict.behavior.client).toBe(0.01)
    })
  })

  describe('input-pipeline evidence', () => {
    const golden = readFileSync('test/fixtures/traces/golden.jsonl', 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: string; events: TraceEvent[] })
    const human = golden.find((g) => g.id === 'delbot-human-pc1')!
    const none = { n: 0, ids: 0, pressures: 0, unitSize: 0, pressureMismatch: 0 }
    const input = (offGrid: number) => ({
      moves: 80, coalesced: 80, multi: 0, predicted: 0, raw: 80, offGrid, sameFrame: 0, movementMismatch: 0, lag: [0, 0, 80, 0, 0, 0], dpr: 1,
      mouse: { n: 80, ids: 1, pressures: 2, unitSize: 80, pressureMismatch: 0 }, pen: none, touch: none,
    })
    const verdictOf = async (offGrid: number) => {
      const body = new TestDevice().body(await t.challenge(), { behavior: { trace: compactTrace(human.events), summary: {}, input: input(offGrid) } })
      const token = (await collect(body)).json<{ token: string }>().token
      return (await t.app.inject({ method: 'POST', url: '/v1/siteverify', payload: { secret: 'demo-secret', token } })).json<{ reasons: string[]; verdict: string }>()
    }

    it('raises synthetic_input for moves between device pixels, and asks for review', async () => {
      const v = await verdictOf(78)
      expect(v.reasons).toContain('synthetic_input')
      expect(v.verdict).not.toBe('allow')
    })

    it('leaves whole-pixel input alone', async () => {
      expect((await verdictOf(0)).reasons).not.toContain('synthetic_input')
    })

    it('refuses input evidence of the wrong shape as a bad request', async () => {
      const body = new TestDevice().body(await t.challenge(), { behavior: { trace: compactTrace(human.events), summary: {}, input: { moves: 'many' } as never } })
      const res = await collect(body)
      expect([res.statusCode, errorCode(res)]).toEqual([400, 'bad_request'])
    })
  })

  describe('unknown routes and methods', () => {
    it('answer with the error envelope', async () => {
      const res = await t.app.inject('/v2/nothing')
      expect([res.statusCode, errorCode(res)]).toEqual([404, 'not_found'])
    })

    it('answer a route asked with a method it does not serve with 405 and Allow', async () => {
      const cases: Array<[string, string, string]> = [
        ['GET', '/v1/collect', 'OPTIONS, POST'],
        ['DELETE', '/v1/challenge?siteKey=demo', 'GET, HEAD, OPTIONS'],
        ['POST', '/healthz', 'GET, HEAD'],
        ['OPTIONS', '/v1/siteverify', 'POST'],
      ]
      for (const [method, url, allow] of cases) {
        const res = await t.app.inject({ method: method as 'GET', url })
        expect([res.statusCode, errorCode(res), res.headers.allow], `${method} ${url}`).toEqual([405, 'method_not_allowed', allow])
      }
      // A path no route serves, and one under no method, stay 404.
      for (const url of ['/v1/collect/', '/v1/nothing']) expect((await t.app.inject({ method: 'GET', url })).statusCode, url).toBe(404)
    })
  })
})

/**
 * Challenge-bound proof and what the collector sees for itself (issue: an allow must
 * cost a real browser): proof of work chosen per device and network, probe answers that
 * must belong to this challenge, HTTP headers against the signals, the signals an SDK
 * always sends, replayed traces, key churn, and unproven devices on sensitive actions.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { compactTrace, type TraceEvent } from '@vigil-risk/core/protocol/trace'
import type { CollectBody, CollectPayload } from '@vigil-risk/core/protocol/schema'
import { DEMO_SITE, siteRegistry } from '../src/config/sites'
import { makeTestApp, STORE_KINDS, type TestApp } from '../../test/support/app'
import { TestDevice } from '../../test/support/device'
import { answerChallenge, browserHeaders, challengeTerms } from '../../test/support/proof'
import { powSolved } from '../src/risk/proof'
import { probePlan } from '@vigil-risk/core/protocol/probes'
import { capturedSignals } from '../../test/support/payloads'

const golden = (id: string): TraceEvent[] =>
  (JSON.parse(readFileSync('test/fixtures/traces/golden.jsonl', 'utf8').trim().split('\n').find((l) => l.includes(`"${id}"`))!) as { events: TraceEvent[] }).events
/** A person's trace (the classifier calls it human), and a long one (enough movement for the replay bands). */
const HUMAN = { events: golden('delbot-human-pc1') }
const LONG = { events: golden('playwright-0-move-steps') }

/** The demo site with a policy for these tests: light work for new devices, the default probes. */
function site(policy: Record<string, unknown> = {}) {
  return { ...DEMO_SITE, policy: { proofOfWork: { newDevice: 8, busyPerMinute: 1000 }, ...policy } }
}

describe.each(STORE_KINDS)('challenge-bound proof on %s', (kind) => {
  let t: TestApp
  beforeEach(async () => {
    t = await makeTestApp({ store: kind, sites: siteRegistry([site()], { demo: true }) })
  })
  afterEach(async () => {
    await t.close()
  })

  async function challengeFor(device?: TestDevice, ip = '198.51.100.7') {
    const res = await t.app.inject({ url: `/v1/challenge?siteKey=demo${device ? `&device=${device.id}` : ''}`, remoteAddress: ip })
    expect(res.statusCode).toBe(200)
    return res.json<{ challenge: string; seed: string; probes: string[]; difficulty: number }>()
  }

  async function collect(body: CollectBody, headers: Record<string, string> = {}, ip = '198.51.100.7') {
    const res = await t.app.inject({ method: 'POST', url: '/v1/collect', payload: body, headers, remoteAddress: ip })
    if (res.statusCode !== 200) return { status: res.statusCode, code: res.json<{ error: { code: string } }>().error.code, reasons: [] as string[], verdict: '' }
    const token = res.json<{ token: string }>().token
    const v = (await t.app.inject({ method: 'POST', url: '/v1/siteverify', payload: { secret: DEMO_SITE.secret, token } })).json<{ reasons: string[]; verdict: string }>()
    return { status: 200, code: '', reasons: v.reasons, verdict: v.verdict }
  }

  const withTrace = (events = HUMAN.events): Partial<CollectPayload> => ({ behavior: { trace: compactTrace(events), summary: {} } })

  it('names the work, the seed and the probes, and binds the challenge to the device asking', async () => {
    const device = new TestDevice()
    const c = await challengeFor(device)
    expect(c).toMatchObject({ difficulty: 8, probes: ['text', 'tz'] })
    expect(challengeTerms(c.challenge)).toEqual({ seed: c.seed, difficulty: 8, probes: ['text', 'tz'] })
    // Another device cannot use it.
    expect((await collect(new TestDevice().body(c.challenge))).code).toBe('bad_challenge')
    expect((await collect(device.body(c.challenge))).status).toBe(200)
  })

  it('refuses nothing but marks a collect without the work, or with work for another challenge', async () => {
    const device = new TestDevice()
    const none = await collect(device.body((await challengeFor(device)).challenge, { proof: {} }))
    expect(none.reasons).toEqual(expect.arrayContaining(['proof_of_work_failed', 'probe_mismatch']))
    expect(none.verdict).toBe('deny')
    // The work and answers of an earlier challenge do not fit a new one.
    const first = (await challengeFor(device)).challenge
    const stale = answerChallenge(first)!
    // Copied work reaches a new challenge's difficulty by chance once in 2^bits: take one it does not.
    let next = await challengeFor(device)
    while (stale.pow && powSolved(next.challenge, stale.pow.n, next.difficulty)) next = await challengeFor(device)
    const copied = await collect(device.body(next.challenge, { proof: stale }))
    expect(copied.reasons).toContain('probe_mismatch')
    expect(copied.reasons).toContain('proof_of_work_failed')
    const honest = await collect(device.body((await challengeFor(device)).challenge, withTrace()))
    expect(honest.reasons).not.toContain('proof_of_work_failed')
    expect(honest.reasons).not.toContain('probe_mismatch')
  })

  it('asks a device with a clean history for no work, and a busy or denied network for more', async () => {
    const device = new TestDevice()
    expect((await challengeFor(device)).difficulty).toBe(8)
    expect((await collect(device.body((await challengeFor(device)).challenge, withTrace()))).verdict).toBe('allow')
    expect((await challengeFor(device)).difficulty).toBe(0)
    // Someone else's id buys nothing: the challenge is bound to it, and only its key can use it.
    const thief = new TestDevice()
    expect((await collect(thief.body((await challengeFor(device)).challenge))).code).toBe('bad_challenge')
    // Denies from a network make its next challenges harder (default: 5 denies in an hour, +2 bits).
    for (let i = 0; i < 5; i++) {
      const d = new TestDevice()
      expect((await collect(d.body((await challengeFor(d, '203.0.113.9')).challenge, { proof: {} }), {}, '203.0.113.9')).verdict).toBe('deny')
    }
    expect((await challengeFor(new TestDevice(), '203.0.113.77')).difficulty).toBe(10)
    expect((await challengeFor(new TestDevice(), '198.51.100.8')).difficulty).toBe(8)
  })

  it('checks the text answers add up, and that a device keeps its glyph widths', async () => {
    const device = new TestDevice()
    const c = await challengeFor(device)
    const proof = answerChallenge(c.challenge)!
    const text = proof.text as { g: number[]; s: number[]; m: number[] }
    const wrong = await collect(device.body(c.challenge, { proof: { ...proof, text: { ...text, s: text.s.map((w) => w + 3) } } }))
    expect(wrong.reasons).toContain('probe_mismatch')
    const mono = await collect(device.body((await challengeFor(device)).challenge, { proof: { ...answerChallenge((await challengeFor(device)).challenge)! } }))
    expect(mono.status).toBe(200)
    // A page that could not measure says so: not a mismatch.
    const c2 = await challengeFor(device)
    const unanswered = await collect(device.body(c2.challenge, { proof: { ...answerChallenge(c2.challenge)!, text: { e: 'no_canvas' } } }))
    expect(unanswered.reasons).not.toContain('probe_mismatch')
    // Glyphs scaled by 1.1 (another device's fonts, copied): consistent, but not this device's.
    expect((await collect(device.body((await challengeFor(device)).challenge))).reasons).not.toContain('probe_mismatch')
    const c3 = await challengeFor(device)
    const own = answerChallenge(c3.challenge)!.text as { g: number[]; s: number[]; m: number[] }
    const scaled = { g: own.g.map((w) => w * 1.1), s: own.s.map((w) => w * 1.1), m: own.m.map((w) => w * 1.1) }
    expect((await collect(device.body(c3.challenge, { proof: { ...answerChallenge(c3.challenge)!, text: scaled } }))).reasons).toContain('probe_mismatch')
  })

  it("checks the time zone answers against the page's zone", async () => {
    const device = new TestDevice()
    const signals = { ...capturedSignals(), worker: { value: { ...(capturedSignals()['worker'] as { value: object }).value, zone: 'America/New_York' }, duration: 1 } }
    const c = await challengeFor(device)
    const right = await collect(device.body(c.challenge, { signals }), browserHeaders(signals))
    expect(right.reasons).not.toContain('probe_mismatch')
    const c2 = await challengeFor(device)
    const berlin = answerChallenge(c2.challenge, 'Europe/Berlin')!
    expect((await collect(device.body(c2.challenge, { signals, proof: berlin }), browserHeaders(signals))).reasons).toContain('probe_mismatch')
  })

  it("calls a request whose headers are not the page's browser tampering", async () => {
    const signals = capturedSignals()
    const device = new TestDevice()
    const browser = await collect(device.body((await challengeFor(device)).challenge, { signals }), browserHeaders(signals))
    expect(browser.reasons).not.toContain('tampering')
    const node = await collect(device.body((await challengeFor(device)).challenge, { signals }), { 'user-agent': 'node', 'accept-language': '*', 'sec-fetch-mode': 'cors' })
    expect(node.reasons).toContain('tampering')
    // Over https (or localhost) a Chromium page sends client hints and fetch metadata.
    const { 'sec-ch-ua': _hints, 'sec-fetch-dest': _dest, ...stripped } = browserHeaders(signals)
    const bare = await t.app.inject({ method: 'POST', url: '/v1/collect', payload: device.body((await challengeFor(device)).challenge, { signals }), headers: { ...stripped, host: 'localhost' }, remoteAddress: '198.51.100.7' })
    const v = (await t.app.inject({ method: 'POST', url: '/v1/siteverify', payload: { secret: DEMO_SITE.secret, token: bare.json<{ token: string }>().token } })).json<{ reasons: string[] }>()
    expect(v.reasons).toContain('tampering')
  })

  it('calls a payload missing the signals an SDK always sends tampering', async () => {
    const device = new TestDevice()
    expect((await collect(device.body((await challengeFor(device)).challenge, { signals: {} }))).reasons).toContain('tampering')
    const { lies: _lies, ...partial } = capturedSignals()
    expect((await collect(device.body((await challengeFor(device)).challenge, { signals: partial }), browserHeaders(partial))).reasons).toContain('tampering')
  })

  it('flags a trace sent again from another device, but not a device repeating itself', async () => {
    const a = new TestDevice()
    const b = new TestDevice()
    expect((await collect(a.body((await challengeFor(a)).challenge, withTrace()))).reasons).not.toContain('replayed_behavior')
    expect((await collect(a.body((await challengeFor(a)).challenge, withTrace()))).reasons).not.toContain('replayed_behavior')
    const replay = await collect(b.body((await challengeFor(b)).challenge, withTrace()))
    expect(replay.reasons).toContain('replayed_behavior')
    expect(replay.verdict).toBe('deny')
    // A long path, time-warped and moved elsewhere on the screen, is still the same path.
    const d = new TestDevice()
    expect((await collect(d.body((await challengeFor(d)).challenge, withTrace(LONG.events)))).reasons).not.toContain('replayed_behavior')
    const warped = LONG.events.map((e) => ({ ...e, t: Math.round(e.t * 1.2 * 10) / 10, ...(e.x === undefined ? {} : { x: e.x + 50, y: (e.y ?? 0) + 20 }) }))
    const c = new TestDevice()
    expect((await collect(c.body((await challengeFor(c)).challenge, withTrace(warped)))).reasons).toContain('replayed_behavior')
  })

  it('flags a trace that does not fit its challenge (interaction older than the challenge)', async () => {
    const device = new TestDevice()
    const c = await challengeFor(device)
    // A trace spanning a minute, ending at the click that asked for the token.
    const minute = HUMAN.events.map((e) => ({ ...e, t: Math.round(e.t * 60_000 / HUMAN.events[HUMAN.events.length - 1]!.t) }))
    const trace = compactTrace(minute)
    const last = minute[minute.length - 1]!.t
    // The page claims the challenge arrived 20 s before the last event; it is a few ms old.
    const claimed = await collect(device.body(c.challenge, { behavior: { trace, summary: {}, challengeAt: last - 20_000 } }))
    expect(claimed.reasons).toContain('replayed_behavior')
    t.clock.advance(25_000)
    const d = new TestDevice()
    const c2 = await challengeFor(d)
    t.clock.advance(25_000)
    const fits = await collect(d.body(c2.challenge, { behavior: { trace: compactTrace(minute.map((e) => ({ ...e, x: (e.x ?? 0) + 300 }))), summary: {}, challengeAt: last - 20_000 } }))
    expect(fits.status).toBe(200)
    expect(fits.reasons).not.toContain('replayed_behavior')
  })

  it('raises key_churn when one network keeps bringing new device keys', async () => {
    t = await makeTestApp({ store: kind, sites: siteRegistry([site({ limits: { newDevicesPerNetwork: 4 } })], { demo: true }) })
    const reasons: string[][] = []
    for (let i = 0; i < 5; i++) {
      const d = new TestDevice()
      reasons.push((await collect(d.body((await challengeFor(d, `192.0.2.${10 + i}`)).challenge, withTrace(HUMAN.events.map((e) => ({ ...e, x: (e.x ?? 0) + i * 97 })))), {}, `192.0.2.${10 + i}`)).reasons)
    }
    expect(reasons.slice(0, 3).some((r) => r.includes('key_churn'))).toBe(false)
    expect(reasons[3]).toContain('key_churn')
    expect(reasons[4]).toContain('key_churn')
    // Another network is not affected.
    const other = new TestDevice()
    expect((await collect(other.body((await challengeFor(other, '192.0.3.1')).challenge), {}, '192.0.3.1')).reasons).not.toContain('key_churn')
  })

  it('never allows a first-seen device on a sensitive action with no interaction and no work', async () => {
    t = await makeTestApp({ store: kind, sites: siteRegistry([site({ proofOfWork: { newDevice: 0 } })], { demo: true }) })
    const device = new TestDevice()
    const login = await collect(device.body((await challengeFor(device)).challenge, { action: 'login' }))
    expect(login.reasons).toEqual(expect.arrayContaining(['no_interaction', 'unproven_device']))
    expect(login.verdict).not.toBe('allow')
    // Browsing is not sensitive; with interaction, a login is fine.
    const other = new TestDevice()
    expect((await collect(other.body((await challengeFor(other)).challenge, { action: 'browse' }))).reasons).not.toContain('unproven_device')
    const person = new TestDevice()
    expect((await collect(person.body((await challengeFor(person)).challenge, { action: 'login', ...withTrace() }))).reasons).not.toContain('unproven_device')
  })

  it('never allows a sensitive action on a payload with no probe answer that checks out, even from a known device', async () => {
    // What a script sent to be allowed with nothing of a browser: the work, every probe "could
    // not run", no start-up signals, a lone key press.
    const device = new TestDevice()
    expect((await collect(device.body((await challengeFor(device)).challenge, withTrace()))).verdict).toBe('allow')
    const keys = withTrace([{ type: 'keydown', t: 0 }, { type: 'keyup', t: 80 }])
    const nothing = async (action: string) => {
      const c = await challengeFor(device)
      return collect(device.body(c.challenge, { action, ...keys, fp: null, proof: { ...answerChallenge(c.challenge)!, text: { e: 'canvas_unavailable' }, tz: { e: 'no_zone' } } }))
    }
    for (const action of ['login', 'checkout']) {
      const forged = await nothing(action)
      expect(forged.reasons).toContain('unproven_device')
      expect(forged.verdict).not.toBe('allow')
    }
    // Not on an action that is not sensitive; and one answer that checks out is enough.
    expect((await nothing('browse')).reasons).not.toContain('unproven_device')
    const c = await challengeFor(device)
    const textOnly = await collect(device.body(c.challenge, { action: 'login', ...keys, proof: { ...answerChallenge(c.challenge)!, tz: { e: 'no_zone' } } }))
    expect(textOnly.reasons).not.toContain('unproven_device')
  })

  it('counts time-zone offsets as proof only when there is a zone to check them against', async () => {
    await t.close()
    t = await makeTestApp({ store: kind, sites: siteRegistry([site({ probes: ['tz'] })], { demo: true }) })
    const device = new TestDevice()
    const c = await challengeFor(device)
    const plan = probePlan(c.seed)!
    // Offsets without the worker's zone: any would pass, so they prove nothing.
    const unchecked = await collect(device.body(c.challenge, { action: 'login', ...withTrace(), proof: { ...answerChallenge(c.challenge)!, tz: { o: plan.tz.map(() => 0) } } }))
    expect(unchecked.reasons).toContain('unproven_device')
    const signals = { ...capturedSignals(), worker: { value: { ...(capturedSignals()['worker'] as { value: object }).value, zone: 'America/New_York' }, duration: 1 } }
    const checked = await collect(device.body((await challengeFor(device)).challenge, { action: 'login', signals, ...withTrace() }), browserHeaders(signals))
    expect(checked.reasons).not.toContain('unproven_device')
    expect(checked.verdict).toBe('allow')
  })
})

describe('the replay sketch', () => {
  it('costs no more for a forged trace with absurd jumps than for a real one', async () => {
    const { traceSketch } = await import('../src/risk/replay')
    const events: TraceEvent[] = Array.from({ length: 40 }, (_, i) => ({ type: 'mousemove' as const, t: i * 16, x: i % 2 ? 883_012_918 : 0, y: i }))
    // Before the bound, resampling 883 million px every 24 px ran the collector out of memory
    // (found by test/e2e/fuzz.test.ts, seed 1416271728).
    const keys = traceSketch(events)
    // Straight back-and-forth strokes give no bands (no turns); the literal copy is still caught.
    expect(keys.filter((k) => k.startsWith('x:'))).toHaveLength(1)
    expect(keys.length).toBeLessThanOrEqual(1 + 8)
  })
})

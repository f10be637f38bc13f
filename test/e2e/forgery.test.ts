/**
 * Forgery and replay matrix over HTTP, against two collector processes on one Redis and
 * one data directory (as test/e2e/instances.test.ts starts them). Cases alternate between
 * instance A and instance B. Every forged collect and every forged token must be refused
 * with its stable code (docs/protocol.md, docs/tokens.md), and every case must show up in
 * the /metrics of the instance that answered it: vigil_collect_total{outcome} and
 * vigil_siteverify_total{outcome}. Genuine controls (accepted collects, successful
 * redemptions) make the matrix fail if verification broke the other way round. Each test
 * is independent: it mints its own genuine tokens and checks the counter deltas of its
 * own cases.
 *
 * Tokens are forged with what an attacker could plausibly hold: the site secret (the
 * merchant's own, or the demo's public one) to seal, an Ed25519 key of their own, the
 * public JWKS. Expired and over-long tokens are minted with the real signing key (read
 * from the shared data directory) so that only the claim under test is wrong.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHmac, randomBytes, sign } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startRedis, type RedisServer } from '../support/redis'
import { startCli, type CliCollector } from '../support/cli'
import { TestDevice } from '../support/device'
import { OTHER_SITE } from '../support/app'
import { DEMO_SITE } from '../../collector-server/src/config/sites'
import { generateSigningKey, keyringFrom, loadKeyring, signingKeysPath, type Keyring, type SigningKey } from '../../collector-server/src/config/keyring'
import { mintChallenge } from '../../collector-server/src/verify/challenge'
import { deviceIdOf } from '../../collector-server/src/verify/signature'
import { newTokenId, signJwt, type VerdictClaims } from '../../collector-server/src/tokens/issue'
import { COLLECT_SIGNING_CONTEXT, CHALLENGE_TTL_MS } from '@vigil-risk/core/protocol/payload'
import type { CollectBody } from '@vigil-risk/core/protocol/schema'
import { canonicalize } from '@vigil-risk/core/protocol/canonical'
import { TokenVerificationError, unsealToken, verifyToken, type Jwks } from '../../verify/src/index'
import { b64u, deriveSealKey, sealCompact } from '../../collector-server/src/tokens/seal'
import { recordResult } from '../support/results'
import { fetchMetrics } from '../support/metrics'

interface Instance {
  name: 'A' | 'B'
  cli: CliCollector
}
interface Case {
  name: string
  /** The counter line it must be counted under, e.g. vigil_collect_total{outcome="replayed"}. */
  counter: string
  at: Instance['name']
  /** A forgery or replay (else a genuine control). */
  forged: boolean
  /** The answer was the expected one (the refusal code, or success for a control). */
  asExpected: boolean
}

let redis: RedisServer
let dataDir: string
let a: Instance
let b: Instance
let keyring: Keyring
let jwks: Jwks
/** The current test's requests, with the outcome each must be counted under. */
let cases: Case[] = []
/** Over the whole file, for the reliability summary: counted only from tests whose cases all held. */
const totals = { cases: 0, forged: 0, controls: 0, refusedAsExpected: 0 }

const DEMO_SECRET = DEMO_SITE.secret
const OTHER_HOST = 'other.example'
const demoSealKey = deriveSealKey(DEMO_SECRET, 'demo')
/** The Ed25519 group order. */
const L = (1n << 252n) + 27742317777372353535851937790883648493n

const collectCounter = (outcome: string) => `vigil_collect_total{outcome="${outcome}"}`
const siteverifyCounter = (outcome: string) => `vigil_siteverify_total{outcome="${outcome}"}`

beforeAll(async () => {
  redis = await startRedis()
  dataDir = mkdtempSync(join(tmpdir(), 'vigil-forgery-'))
  writeFileSync(join(dataDir, 'sites.json'), JSON.stringify({ sites: [DEMO_SITE, OTHER_SITE] }))
  // Two signing keys in the JWKS (active and retiring), so a kid can be swapped for a real one.
  mkdirSync(join(dataDir, 'keys'), { recursive: true, mode: 0o700 })
  const retiring = { ...generateSigningKey(), status: 'retiring' as const }
  writeFileSync(signingKeysPath(dataDir), JSON.stringify({ keys: [generateSigningKey(), retiring] }), { mode: 0o600 })
  const [ca, cb] = await Promise.all([0, 1].map(() => startCli(['--data-dir', dataDir, '--demo', '--store', redis.url])))
  a = { name: 'A', cli: ca! }
  b = { name: 'B', cli: cb! }
  keyring = loadKeyring(dataDir)
  jwks = (await json(a, '/.well-known/jwks.json')).body as Jwks
})
afterAll(async () => {
  await Promise.all([a?.cli.stop(), b?.cli.stop()])
  await redis?.stop()
  if (dataDir) rmSync(dataDir, { recursive: true, force: true })
})

// ---------------------------------------------------------------- HTTP helpers

async function json(at: Instance, path: string, init?: RequestInit): Promise<{ status: number; body: Record<string, any> }> {
  const res = await fetch(`${at.cli.url}${path}`, init)
  return { status: res.status, body: (await res.json()) as Record<string, any> }
}
const post = (at: Instance, path: string, body: unknown) => json(at, path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })

async function challenge(at: Instance, siteKey = 'demo'): Promise<string> {
  const res = await json(at, `/v1/challenge?siteKey=${siteKey}`)
  expect(res.status).toBe(200)
  return res.body['challenge'] as string
}

/** The vigil_collect_total and vigil_siteverify_total counters of one instance, by line. */
async function counters(at: Instance): Promise<Map<string, number>> {
  const res = await fetchMetrics(at.cli.url, dataDir)
  expect(res.status).toBe(200)
  const out = new Map<string, number>()
  for (const m of (await res.text()).matchAll(/^(vigil_(?:collect|siteverify)_total\{outcome="[^"]+"\}) (\S+)$/gm)) out.set(m[1]!, Number(m[2]))
  return out
}

/** Counter deltas of one instance since `before`. */
async function deltas(at: Instance, before: Map<string, number>): Promise<Record<string, number>> {
  const delta: Record<string, number> = {}
  for (const [key, value] of await counters(at)) {
    const d = value - (before.get(key) ?? 0)
    if (d !== 0) delta[key] = d
  }
  return delta
}

/** How many cases each counter must have counted. */
function tally(entries: Case[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const e of entries) out[e.counter] = (out[e.counter] ?? 0) + 1
  return out
}

/**
 * A test of the matrix: runs its cases, then checks that each instance's counters moved
 * by exactly this test's cases, so a forgery that got through (or went uncounted) fails here.
 */
function matrix(title: string, fn: () => Promise<void>): void {
  it(title, async () => {
    cases = []
    const before = { A: await counters(a), B: await counters(b) }
    await fn()
    for (const at of [a, b]) expect(await deltas(at, before[at.name]), `counters of ${at.name}`).toEqual(tally(cases.filter((c) => c.at === at.name)))
    const forged = cases.filter((c) => c.forged)
    totals.cases += cases.length
    totals.forged += forged.length
    totals.controls += cases.length - forged.length
    totals.refusedAsExpected += forged.filter((c) => c.asExpected).length
    recordResult('forgery', { ...totals })
    if (process.env['VIGIL_PRINT_MATRIX']) console.log(cases.map((c) => `| ${c.name} | ${c.counter} | ${c.at} |`).join('\n'))
  })
}

// ---------------------------------------------------------------- the two sides of the matrix

/** A collect that must be refused with `code` (and HTTP `status`). */
async function refuseCollect(name: string, at: Instance, body: unknown, status: number, code: string): Promise<void> {
  const res = await post(at, '/v1/collect', body)
  const answer = [res.status, res.body['error']?.code, res.body['token']]
  cases.push({ name, counter: collectCounter(code), at: at.name, forged: true, asExpected: answer[0] === status && answer[1] === code && answer[2] === undefined })
  expect(answer, `${name} on ${at.name}`).toEqual([status, code, undefined])
}

/** A genuine collect (a control): must be accepted; returns the token. */
async function acceptCollect(name: string, at: Instance, body: unknown): Promise<string> {
  const res = await post(at, '/v1/collect', body)
  cases.push({ name, counter: collectCounter('accepted'), at: at.name, forged: false, asExpected: res.status === 200 })
  expect([res.status, res.body['error']], `${name} on ${at.name}`).toEqual([200, undefined])
  return res.body['token'] as string
}

/** A genuine demo token (a control collected on `at`), and the device that obtained it. */
async function demoToken(at: Instance): Promise<{ token: string; device: TestDevice }> {
  const device = new TestDevice()
  return { token: await acceptCollect('genuine demo collect', at, device.body(await challenge(at === a ? b : a))), device }
}

/** A genuine token for site 'other' (a control). */
async function otherSiteToken(at: Instance): Promise<string> {
  return acceptCollect("genuine collect for site 'other'", at, new TestDevice().body(await challenge(at === a ? b : a, OTHER_SITE.siteKey), { siteKey: OTHER_SITE.siteKey, hostname: OTHER_HOST }))
}

async function offlineCode(token: string, over: { secret?: string; siteKey?: string } = {}): Promise<string> {
  try {
    await verifyToken(token, { secret: DEMO_SECRET, siteKey: 'demo', jwks, clockToleranceS: 0, action: null, hostname: null, ...over })
    return 'accepted'
  } catch (err) {
    if (err instanceof TokenVerificationError) return err.code
    throw err
  }
}

/**
 * A token that siteverify must refuse with `code`. `offline`: the code vigil/verify's
 * verifyToken must give for it with the demo site's secret (null: not applicable, e.g.
 * single use and secret checks are siteverify's own).
 */
async function refuseToken(name: string, at: Instance, token: string, code: string, options: { secret?: string; offline?: string | null } = {}): Promise<void> {
  const res = await post(at, '/v1/siteverify', { secret: options.secret ?? DEMO_SECRET, token })
  const codes = res.body['errorCodes'] as unknown
  cases.push({ name, counter: siteverifyCounter(code), at: at.name, forged: true, asExpected: res.status === 200 && res.body['success'] === false && Array.isArray(codes) && codes.length === 1 && codes[0] === code })
  expect([res.status, res.body], `${name} on ${at.name}`).toEqual([200, { success: false, errorCodes: [code] }])
  const offline = options.offline === undefined ? code : options.offline
  if (offline !== null) expect(await offlineCode(token), `${name}, offline verifyToken`).toBe(offline)
}

/** A genuine redemption (a control): must succeed; returns the siteverify body. */
async function redeem(name: string, at: Instance, token: string, secret = DEMO_SECRET): Promise<Record<string, any>> {
  const res = await post(at, '/v1/siteverify', { secret, token })
  cases.push({ name, counter: siteverifyCounter('success'), at: at.name, forged: false, asExpected: res.status === 200 && res.body['success'] === true })
  expect([res.status, res.body['success'], res.body['errorCodes']], `${name} on ${at.name}`).toEqual([200, true, undefined])
  return res.body
}

// ---------------------------------------------------------------- forging material

const segment = (value: unknown): string => b64u(JSON.stringify(value))
const sealDemo = (jws: string): string => sealCompact(jws, demoSealKey, 'demo')

/** Canonical JSON with the keys in reverse order: a plausible "other" canonical form. */
function reverseCanonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(reverseCanonical).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>
    const keys = Object.keys(record).filter((k) => record[k] !== undefined).sort().reverse()
    return `{${keys.map((k) => `${JSON.stringify(k)}:${reverseCanonical(record[k])}`).join(',')}}`
  }
  return JSON.stringify(value)
}

/** The malleable twin of an Ed25519 signature: s + L instead of s (same R). */
function malleate(sig: string): string {
  const bytes = Buffer.from(sig, 'base64url')
  const s = BigInt(`0x${Buffer.from(bytes.subarray(32)).reverse().toString('hex')}`) + L
  const sBytes = Buffer.from(s.toString(16).padStart(64, '0'), 'hex').reverse()
  return Buffer.concat([bytes.subarray(0, 32), sBytes]).toString('base64url')
}

/** Same bytes, non-canonical base64url: the last character carries bits the 64 bytes do not use. */
function nonCanonicalB64u(sig: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  const last = alphabet.indexOf(sig.at(-1)!)
  return sig.slice(0, -1) + alphabet[last | 1]!
}

/** Decodes the claims of a genuine token (the attacker's view of it, given the site secret). */
async function openToken(token: string, secret = DEMO_SECRET, siteKey = 'demo'): Promise<{ jws: string; header: Record<string, unknown>; claims: VerdictClaims }> {
  const jws = await unsealToken(token, secret, siteKey)
  const [h, c] = jws.split('.') as [string, string, string]
  return { jws, header: JSON.parse(Buffer.from(h, 'base64url').toString()), claims: JSON.parse(Buffer.from(c, 'base64url').toString()) as VerdictClaims }
}

/** A key outside the JWKS, shaped like the collector's. */
const attackerKey = (): SigningKey => keyringFrom([generateSigningKey()], randomBytes(32)).active

// ---------------------------------------------------------------- the matrix

describe('forgery and replay matrix, two instances on one Redis', () => {
  matrix('collect: replays across instances are refused; the signature is not a replay key', async () => {
    const victim = new TestDevice()
    const attacker = new TestDevice()
    const genuine: CollectBody = victim.body(await challenge(b))
    await acceptCollect('genuine collect, challenge from B', a, genuine)
    await refuseCollect('same body replayed on the other instance', b, genuine, 409, 'replayed')
    await refuseCollect('same challenge, another device, freshly signed', a, attacker.body(genuine.payload.challenge), 409, 'replayed')
    // Ed25519 is malleable: s + L is the same signature to a lax verifier. Refused as a signature
    // (non-canonical s), never accepted as a "new" body.
    await refuseCollect('same body, malleated signature (s + L)', b, { ...genuine, sig: malleate(genuine.sig) }, 401, 'bad_signature')
  })

  matrix('collect: device identity and signature forgeries', async () => {
    // The victim is a known device. The attacker claims its id with their own key.
    const { device: victim } = await demoToken(b)
    const attacker = new TestDevice()
    const claimed = attacker.payload(await challenge(a), { device: { ...attacker.payload('').device, id: victim.id } })
    await refuseCollect("victim's device id, attacker's pub, signed by the attacker", a, { payload: claimed, sig: attacker.sign(claimed) }, 403, 'key_mismatch')

    const borrowed = victim.payload(await challenge(b))
    await refuseCollect("victim's id and pub, signed by the attacker", b, { payload: borrowed, sig: attacker.sign(borrowed) }, 401, 'bad_signature')

    // A small-order public key (the identity point) with R = identity, s = 0 "verifies" any
    // message under a lax Ed25519 verifier: a device key nobody holds. Not an Ed25519 public key
    // a device could have generated: bad_request, as any unusable device.pub.
    const identity = Buffer.alloc(32)
    identity[0] = 1
    const weakPub = identity.toString('base64url')
    const weak = attacker.payload(await challenge(b), { device: { id: deviceIdOf(weakPub)!, pub: weakPub, impl: 'webcrypto', persisted: true } })
    await refuseCollect('small-order device key, universal signature (R = identity, s = 0)', a, { payload: weak, sig: Buffer.concat([identity, Buffer.alloc(32)]).toString('base64url') }, 400, 'bad_request')
  })

  matrix('collect: a signature over anything but the canonical payload', async () => {
    const device = new TestDevice()
    const p1 = device.payload(await challenge(a))
    await refuseCollect('signed over JSON.stringify(payload)', b, { payload: p1, sig: device.sign(p1, COLLECT_SIGNING_CONTEXT + JSON.stringify(p1)) }, 401, 'bad_signature')
    const p2 = device.payload(await challenge(b))
    await refuseCollect('signed over the keys in reverse order', a, { payload: p2, sig: device.sign(p2, COLLECT_SIGNING_CONTEXT + reverseCanonical(p2)) }, 401, 'bad_signature')
    const p3 = device.payload(await challenge(a))
    await refuseCollect('signed over the canonical payload without the context prefix', b, { payload: p3, sig: device.sign(p3, canonicalize(p3)) }, 401, 'bad_signature')
    const p4 = device.payload(await challenge(b))
    const sig4 = device.sign(p4)
    await refuseCollect('action changed after signing', a, { payload: { ...p4, action: 'login' }, sig: sig4 }, 401, 'bad_signature')
    await refuseCollect('signals added after signing', b, { payload: { ...p4, signals: { webdriver: false } }, sig: sig4 }, 401, 'bad_signature')
    // Refusals spend nothing: the untouched body still goes through, on the other instance.
    await acceptCollect('the untouched body of the refused edits', a, { payload: p4, sig: sig4 })
  })

  matrix('collect: challenges from another site, expired, edited or forged', async () => {
    const device = new TestDevice()
    await refuseCollect("a challenge minted for site 'other', used for 'demo'", a, device.body(await challenge(b, OTHER_SITE.siteKey)), 400, 'bad_challenge')
    await refuseCollect("a challenge minted for 'demo', used for 'other'", b, device.body(await challenge(a), { siteKey: OTHER_SITE.siteKey, hostname: OTHER_HOST }), 400, 'bad_challenge')

    const stale = mintChallenge(keyring.challengeKey, 'demo', Date.now() - CHALLENGE_TTL_MS - 1_000, { difficulty: 0, deviceId: null, probes: ['text', 'tz'] }).challenge
    await refuseCollect('a genuine challenge past its expiry', a, device.body(stale), 400, 'challenge_expired')

    const [body, mac] = stale.split('.') as [string, string]
    const extended = b64u(JSON.stringify({ ...JSON.parse(Buffer.from(body, 'base64url').toString()), e: Date.now() + 60_000 }))
    await refuseCollect('an expired challenge with its expiry edited, MAC kept', b, device.body(`${extended}.${mac}`), 400, 'bad_challenge')

    await refuseCollect('random bytes as a challenge', a, device.body(randomBytes(48).toString('base64url')), 400, 'bad_challenge')
    const fresh = await challenge(b)
    await refuseCollect('a genuine challenge with one MAC character changed', b, device.body(fresh.slice(0, -2) + (fresh.endsWith('AA') ? 'BA' : 'AA')), 400, 'bad_challenge')
    const ownBody = b64u(JSON.stringify({ s: 'demo', n: randomBytes(16).toString('base64url'), e: Date.now() + 60_000 }))
    const ownMac = createHmac('sha256', randomBytes(32)).update('vigil/challenge/v1\n').update(ownBody).digest('base64url')
    await refuseCollect("a well-formed challenge MACed with the attacker's key", a, device.body(`${ownBody}.${ownMac}`), 400, 'bad_challenge')
    await refuseCollect('a challenge whose body decodes to a non-object', b, device.body(`${b64u('[]')}.${ownMac}`), 400, 'bad_challenge')
  })

  matrix('collect: a missing, truncated or mis-encoded signature', async () => {
    const device = new TestDevice()
    const good = device.body(await challenge(a))
    await refuseCollect('sig missing', b, { payload: good.payload }, 400, 'bad_request')
    await refuseCollect('sig truncated (85 characters)', a, { ...good, sig: good.sig.slice(0, -1) }, 400, 'bad_request')
    await refuseCollect('sig as padded standard base64 (88 characters)', b, { ...good, sig: Buffer.from(good.sig, 'base64url').toString('base64') }, 400, 'bad_request')
    await refuseCollect('sig as hex (128 characters)', a, { ...good, sig: Buffer.from(good.sig, 'base64url').toString('hex') }, 400, 'bad_request')
    await refuseCollect('sig with non-canonical base64url (same bytes to a lax decoder)', b, { ...good, sig: nonCanonicalB64u(good.sig) }, 401, 'bad_signature')
    await refuseCollect('sig of 64 zero bytes', a, { ...good, sig: Buffer.alloc(64).toString('base64url') }, 401, 'bad_signature')
    // Nothing above spent the challenge.
    await acceptCollect('the untouched body of the refused signatures', b, good)
  })

  matrix('siteverify: secrets, seals and garbage', async () => {
    const { token } = await demoToken(a)
    const otherToken = await otherSiteToken(b)
    await refuseToken("a demo token with site 'other''s secret", a, token, 'invalid_secret', { secret: OTHER_SITE.secret, offline: null })
    await refuseToken('a demo token with a wrong secret', b, token, 'invalid_secret', { secret: `${DEMO_SECRET}-x`, offline: null })
    await refuseToken("an 'other' token with the demo secret", a, otherToken, 'invalid_secret', { offline: 'wrong_audience' })
    // The 'other' merchant re-seals its own genuine, collector-signed JWS for the demo site.
    await refuseToken("the 'other' token's signed JWS re-sealed for demo", b, sealDemo((await openToken(otherToken, OTHER_SITE.secret, OTHER_SITE.siteKey)).jws), 'wrong_audience')

    const parts = token.split('.')
    const reheaded = [segment({ ...JSON.parse(Buffer.from(parts[0]!, 'base64url').toString()), kid: OTHER_SITE.siteKey }), ...parts.slice(1)].join('.')
    await refuseToken("the seal header's kid changed to 'other', with other's secret", a, reheaded, 'bad_seal', { secret: OTHER_SITE.secret, offline: 'wrong_audience' })
    const ct = Buffer.from(parts[3]!, 'base64url')
    ct[0]! ^= 1
    await refuseToken('one ciphertext bit flipped', b, [...parts.slice(0, 3), ct.toString('base64url'), parts[4]].join('.'), 'bad_seal')

    await refuseToken('garbage', a, 'nonsense', 'malformed')
    await refuseToken('truncated by 6 characters (inside the GCM tag)', b, token.slice(0, -6), 'malformed')
    await refuseToken('truncated to half its length', a, token.slice(0, token.length >> 1), 'malformed')
    await refuseToken('a sixth segment appended', b, `${token}.AAAA`, 'malformed')
  })

  matrix('siteverify: algorithm confusion, kids and foreign keys', async () => {
    const { jws, header, claims } = await openToken((await demoToken(b)).token)
    const [h, c, s] = jws.split('.') as [string, string, string]
    const active = keyring.active
    const retiring = keyring.all.find((k) => k.status === 'retiring')!
    expect(header).toEqual({ alg: 'EdDSA', typ: 'JWT', kid: active.kid })

    await refuseToken('alg none, signature stripped', a, sealDemo(`${segment({ ...header, alg: 'none' })}.${c}.`), 'unsupported_alg')
    const hs = (key: Buffer | string) => {
      const input = `${segment({ ...header, alg: 'HS256' })}.${c}`
      return sealDemo(`${input}.${createHmac('sha256', key).update(input).digest('base64url')}`)
    }
    await refuseToken('HS256 MACed with the site secret', b, hs(DEMO_SECRET), 'unsupported_alg')
    await refuseToken("HS256 MACed with the signing key's raw public bytes", a, hs(Buffer.from(active.publicJwk.x!, 'base64url')), 'unsupported_alg')
    await refuseToken("HS256 MACed with the signing key's JWK x string", b, hs(active.publicJwk.x!), 'unsupported_alg')
    await refuseToken('alg EdDSA, signature stripped', a, sealDemo(`${h}.${c}.`), 'bad_signature')
    await refuseToken('kid swapped for the retiring key in the JWKS, signature kept', b, sealDemo(`${segment({ ...header, kid: retiring.kid })}.${c}.${s}`), 'bad_signature')

    const own = attackerKey()
    await refuseToken("signed by the attacker's key under its own kid (not in the JWKS)", a, sealDemo(signJwt(own, claims)), 'unknown_kid')
    await refuseToken("signed by the attacker's key under the real kid", b, sealDemo(signJwt({ ...own, kid: active.kid }, claims)), 'bad_signature')
    const embedded = `${segment({ ...header, jwk: own.publicJwk })}.${c}`
    await refuseToken("attacker's key embedded as a jwk header, real kid", a, sealDemo(`${embedded}.${sign(null, Buffer.from(embedded), own.privateKey).toString('base64url')}`), 'bad_signature')
    const kidless = `${segment({ alg: 'EdDSA', typ: 'JWT' })}.${c}`
    await refuseToken('a real signature with no kid', b, sealDemo(`${kidless}.${sign(null, Buffer.from(kidless), active.privateKey).toString('base64url')}`), 'malformed')
    await refuseToken('a genuine token with a malleated signature (s + L)', a, sealDemo(`${h}.${c}.${malleate(s)}`), 'bad_signature')
  })

  matrix('siteverify: edited claims keep no signature; claims under test minted with the real key', async () => {
    const { claims } = await openToken((await demoToken(a)).token)
    const now = Math.floor(Date.now() / 1000)
    const denied: VerdictClaims = { ...claims, jti: newTokenId(now * 1000), iat: now, exp: now + 300, verdict: 'deny', score: 0.97, reasons: ['automation'] }
    const denyJws = signJwt(keyring.active, denied)
    const [h, , s] = denyJws.split('.') as [string, string, string]
    const edit = (over: Partial<VerdictClaims>) => sealDemo(`${h}.${segment({ ...denied, ...over })}.${s}`)

    await refuseToken('verdict deny → allow, signature kept', b, edit({ verdict: 'allow', score: 0.01, reasons: [] }), 'bad_signature')
    await refuseToken('score lowered, signature kept', a, edit({ score: 0 }), 'bad_signature')
    await refuseToken("aud changed to 'other', signature kept", b, edit({ aud: OTHER_SITE.siteKey }), 'bad_signature')
    await refuseToken('exp extended by 120 s, signature kept', a, edit({ exp: denied.exp + 120 }), 'bad_signature')
    await refuseToken('claims re-encoded (same values, other key order), signature kept', b, sealDemo(`${h}.${b64u(reverseCanonical(denied))}.${s}`), 'bad_signature')

    const mint = (over: Partial<VerdictClaims>) => sealDemo(signJwt(keyring.active, { ...claims, jti: newTokenId(Date.now()), ...over }))
    await refuseToken('signed by the real key, expired 100 s ago', a, mint({ iat: now - 400, exp: now - 100 }), 'expired')
    await refuseToken('signed by the real key, exp an hour after iat', b, mint({ iat: now, exp: now + 3600 }), 'lifetime_too_long')
    await refuseToken('signed by the real key, issued a minute in the future', a, mint({ iat: now + 60, exp: now + 300 }), 'not_yet_valid')

    // Control: the unedited deny token is genuine and redeems, with its verdict intact.
    expect(await redeem('the unedited minted deny token', b, sealDemo(denyJws))).toMatchObject({ verdict: 'deny', score: 0.97, reasons: ['automation'] })
  })

  matrix('siteverify: single use across instances (with genuine controls)', async () => {
    const { token, device: victim } = await demoToken(a)
    const otherToken = await otherSiteToken(b)
    expect(await offlineCode(token)).toBe('accepted')
    const first = await redeem('the genuine demo token', a, token)
    expect(first).toMatchObject({ siteKey: 'demo', deviceId: victim.id, action: 'checkout', hostname: '127.0.0.1' })
    await refuseToken('the same token again, on the other instance', b, token, 'already_redeemed', { offline: 'accepted' })
    await refuseToken('the same token again, on the first instance', a, token, 'already_redeemed', { offline: 'accepted' })
    expect(await redeem("the genuine 'other' token with its own secret", b, otherToken, OTHER_SITE.secret)).toMatchObject({ siteKey: OTHER_SITE.siteKey, hostname: OTHER_HOST })
  })

  matrix('siteverify: requests that are not {secret, token} are 400 bad_request', async () => {
    const { token } = await demoToken(b)
    const requests: Array<[string, Instance, string]> = [
      ['no secret', a, JSON.stringify({ token })],
      ['an empty token', b, JSON.stringify({ secret: DEMO_SECRET, token: '' })],
      ['not JSON', a, '{"secret":"demo-secret","token":'],
    ]
    for (const [name, at, body] of requests) {
      const res = await json(at, '/v1/siteverify', { method: 'POST', headers: { 'content-type': 'application/json' }, body })
      cases.push({ name: `siteverify with ${name}`, counter: siteverifyCounter('bad_request'), at: at.name, forged: true, asExpected: res.status === 400 && res.body['error']?.code === 'bad_request' })
      expect([res.status, res.body['error']?.code], name).toEqual([400, 'bad_request'])
    }
  })
})

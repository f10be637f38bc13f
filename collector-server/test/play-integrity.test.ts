/**
 * Google Play Integrity, verified by the collector: tokens a stand-in for Play signs and
 * encrypts with the app's own keys, decoded locally or through a stand-in for Google's
 * decodeIntegrityToken API; genuine ones verify, each forgery is refused with its reason.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { compactDecrypt, compactVerify, createLocalJWKSet, exportJWK, jwtVerify } from 'jose'
import { makeTestApp, testSecret, type TestApp } from '../../test/support/app'
import { PACKAGE, TestPlay, collectWithEvidence } from '../../test/support/platform'
import { DEMO_SITE, makeSite, siteRegistry, type SiteConfig } from '../src/config/sites'

const play = new TestPlay()
const site = (siteKey: string, playIntegrity: Record<string, unknown>): SiteConfig & { secret: string } => ({
  siteKey,
  secret: testSecret('app'),
  origins: ['http://127.0.0.1:*'],
  attestation: { playIntegrity: { packageNames: [PACKAGE], ...play.keys, ...playIntegrity } },
})
const SITE = site('app', {})
const LENIENT = site('lenient', { deviceIntegrity: 'MEETS_BASIC_INTEGRITY', requireLicensed: false })
const PINNED = site('pinned', { certificateDigests: ['the-release-certificate-digest'] })

describe('Play Integrity through the collector (local decryption)', () => {
  let t: TestApp
  beforeEach(async () => {
    t = await makeTestApp({ sites: siteRegistry([DEMO_SITE, SITE, LENIENT, PINNED], { demo: true }) })
  })
  afterEach(async () => {
    await t.close()
  })

  /** A collect whose app answers with a Play Integrity token for the verdict `make` builds from the nonce. */
  const send = (make: (nonce: string, now: number) => Promise<string>, siteKey = 'app') =>
    collectWithEvidence(t, { siteKey, secret: SITE.secret, attest: async (nonce) => ({ platform: 'android', kind: 'play_integrity', token: await make(nonce, t.clock.now()) }) })

  const refused = async (make: (nonce: string, now: number) => Promise<string>, reason: string, siteKey = 'app') => {
    const r = await send(make, siteKey)
    expect(r.evidence).toEqual([expect.objectContaining({ kind: 'play_integrity', status: 'failed', reason })])
    expect(r.reasons).toContain('attestation_failed')
  }

  it('a genuine token: verified, and the score drops', async () => {
    const plain = await collectWithEvidence(t, { siteKey: 'app', secret: SITE.secret })
    const r = await send((nonce, now) => play.token(play.verdict(nonce, now - 2000)))
    expect(r.attestation).toBe('verified')
    expect(r.evidence).toEqual([{ kind: 'play_integrity', status: 'verified', by: PACKAGE }])
    expect(r.score).toBeCloseTo(plain.score! * 0.5, 3)
  })

  it('wrong package: requested by another app, or the verdict names another app', async () => {
    await refused((nonce, now) => play.token(play.verdict(nonce, now, { requestDetails: { requestPackageName: 'com.repackaged.shop', nonce, timestampMillis: String(now) } })), 'wrong_package')
    await refused(
      (nonce, now) => play.token(play.verdict(nonce, now, { appIntegrity: { appRecognitionVerdict: 'PLAY_RECOGNIZED', packageName: 'com.other.app', certificateSha256Digest: [] } })),
      'wrong_package',
    )
  })

  it('stale token: older than maxAgeS (120 s), or from the future', async () => {
    await refused((nonce, now) => play.token(play.verdict(nonce, now - 121_000)), 'stale')
    await refused((nonce, now) => play.token(play.verdict(nonce, now + 5 * 60_000)), 'stale')
    expect((await send((nonce, now) => play.token(play.verdict(nonce, now - 119_000)))).evidence[0]).toMatchObject({ status: 'verified' })
  })

  it('wrong nonce: a verdict for another request', async () => {
    await refused((_nonce, now) => play.token(play.verdict('another-requests-nonce', now)), 'nonce_mismatch')
  })

  it('forged tokens: signed by another key, or encrypted for another app', async () => {
    const forger = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
    await refused((nonce, now) => play.token(play.verdict(nonce, now), { signing: forger.privateKey }), 'bad_token')
    await refused((nonce, now) => play.token(play.verdict(nonce, now), { encryption: randomBytes(32) }), 'bad_token')
    await refused(async () => 'not.a.jwe.at.all', 'bad_token')
  })

  it("the verdicts: app not recognised, device integrity, licence — each below the site's bar", async () => {
    await refused((nonce, now) => play.token(play.verdict(nonce, now, { appIntegrity: { appRecognitionVerdict: 'UNRECOGNIZED_VERSION' } })), 'app_unrecognized')
    await refused((nonce, now) => play.token(play.verdict(nonce, now, { appIntegrity: { appRecognitionVerdict: 'UNEVALUATED' } })), 'app_unevaluated')
    const basicOnly = { deviceIntegrity: { deviceRecognitionVerdict: ['MEETS_BASIC_INTEGRITY'] } }
    await refused((nonce, now) => play.token(play.verdict(nonce, now, basicOnly)), 'device_integrity')
    await refused((nonce, now) => play.token(play.verdict(nonce, now, { deviceIntegrity: {} })), 'device_integrity')
    const unlicensed = { accountDetails: { appLicensingVerdict: 'UNLICENSED' } }
    await refused((nonce, now) => play.token(play.verdict(nonce, now, unlicensed)), 'unlicensed')
    // A site that asks for less accepts both.
    expect((await send((nonce, now) => play.token(play.verdict(nonce, now, { ...basicOnly, ...unlicensed })), 'lenient')).evidence[0]).toMatchObject({ status: 'verified' })
    // A site that pins its signing certificate refuses a re-signed app.
    await refused((nonce, now) => play.token(play.verdict(nonce, now)), 'app_unrecognized', 'pinned')
  })
})

describe('Play Integrity decoded through Google (a local stand-in for its API)', () => {
  const account = generateKeyPairSync('rsa', { modulusLength: 2048 })
  let google: Server
  let url = ''
  let dir = ''
  let down = false
  const issued = `ya29.${randomBytes(12).toString('hex')}`
  const calls: string[] = []

  beforeAll(async () => {
    const jwks = createLocalJWKSet({ keys: [{ ...(await exportJWK(account.publicKey)), alg: 'RS256' }] })
    google = createServer((req, res) => {
      let body = ''
      req.on('data', (d: Buffer) => (body += d.toString()))
      req.on('end', () => {
        void (async () => {
          const reply = (status: number, json: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json))
          calls.push(req.url!)
          if (down) return reply(503, { error: { status: 'UNAVAILABLE' } })
          if (req.url === '/token') {
            const assertion = new URLSearchParams(body).get('assertion')!
            const { payload } = await jwtVerify(assertion, jwks, { issuer: 'vigil@shop.iam.gserviceaccount.com', audience: `${url}/token` })
            if (payload['scope'] !== 'https://www.googleapis.com/auth/playintegrity') return reply(400, { error: 'invalid_scope' })
            return reply(200, { access_token: issued, expires_in: 3599, token_type: 'Bearer' })
          }
          if (req.url !== `/v1/${PACKAGE}:decodeIntegrityToken` || req.headers.authorization !== `Bearer ${issued}`) return reply(401, { error: { status: 'UNAUTHENTICATED' } })
          try {
            // Google holds the app's keys: decrypt and verify as it would.
            const { plaintext } = await compactDecrypt((JSON.parse(body) as { integrity_token: string }).integrity_token, play.decryptionKey)
            const verifying = (await import('node:crypto')).createPublicKey({ key: Buffer.from(play.keys.verificationKey, 'base64'), format: 'der', type: 'spki' })
            const { payload } = await compactVerify(new TextDecoder().decode(plaintext), verifying)
            return reply(200, { tokenPayloadExternal: JSON.parse(new TextDecoder().decode(payload)) as unknown })
          } catch {
            return reply(400, { error: { status: 'INVALID_ARGUMENT' } })
          }
        })()
      })
    })
    await new Promise<void>((resolve) => google.listen(0, '127.0.0.1', resolve))
    url = `http://127.0.0.1:${(google.address() as AddressInfo).port}`
    dir = mkdtempSync(join(tmpdir(), 'vigil-play-'))
    writeFileSync(
      join(dir, 'service-account.json'),
      JSON.stringify({ type: 'service_account', client_email: 'vigil@shop.iam.gserviceaccount.com', private_key: account.privateKey.export({ type: 'pkcs8', format: 'pem' }), token_uri: `${url}/token` }),
    )
  })
  afterAll(async () => {
    await new Promise((resolve) => google.close(resolve))
    rmSync(dir, { recursive: true, force: true })
  })

  let t: TestApp
  beforeEach(async () => {
    down = false
    const viaGoogle: SiteConfig = { ...SITE, attestation: { playIntegrity: { packageNames: [PACKAGE], google: { serviceAccountFile: join(dir, 'service-account.json'), apiUrl: url } } } }
    t = await makeTestApp({ sites: siteRegistry([DEMO_SITE, viaGoogle], { demo: true }) })
  })
  afterEach(async () => {
    await t.close()
  })

  const send = (make: (nonce: string, now: number) => Promise<string>) =>
    collectWithEvidence(t, { siteKey: 'app', secret: SITE.secret, attest: async (nonce) => ({ platform: 'android', kind: 'play_integrity', token: await make(nonce, t.clock.now()) }) })

  it('a genuine token verifies; the access token is fetched once and reused', async () => {
    calls.length = 0
    expect((await send((nonce, now) => play.token(play.verdict(nonce, now)))).evidence).toEqual([{ kind: 'play_integrity', status: 'verified', by: PACKAGE }])
    expect((await send((nonce, now) => play.token(play.verdict(nonce, now)))).evidence[0]).toMatchObject({ status: 'verified' })
    expect(calls.filter((c) => c === '/token')).toHaveLength(1)
  })

  it("the same checks apply to Google's answer (a stale token), and a token Google cannot decode is bad_token", async () => {
    expect((await send((nonce, now) => play.token(play.verdict(nonce, now - 10 * 60_000)))).evidence[0]).toMatchObject({ status: 'failed', reason: 'stale' })
    expect((await send((nonce, now) => play.token(play.verdict(nonce, now), { encryption: randomBytes(32) }))).evidence[0]).toMatchObject({ status: 'failed', reason: 'bad_token' })
  })

  it('Google unavailable: unverified (decode_unavailable), and no penalty', async () => {
    down = true
    const r = await send((nonce, now) => play.token(play.verdict(nonce, now)))
    expect(r.evidence[0]).toMatchObject({ status: 'unverified', reason: 'decode_unavailable' })
    expect(r.reasons).not.toContain('attestation_failed')
  })
})

describe('Play Integrity settings', () => {
  it('refuses settings that cannot work, naming the field', () => {
    const make = (playIntegrity: unknown) => () => makeSite({ ...SITE, attestation: { playIntegrity: playIntegrity as never } }, randomBytes(32))
    expect(make({ packageNames: [], ...play.keys })).toThrow(/packageNames/)
    expect(make({ packageNames: [PACKAGE] })).toThrow(/decryptionKey/)
    expect(make({ packageNames: [PACKAGE], decryptionKey: play.keys.decryptionKey, verificationKey: 'AAAA' })).toThrow(/verificationKey/)
    expect(make({ packageNames: [PACKAGE], ...play.keys, deviceIntegrity: 'MEETS_ANY' })).toThrow(/deviceIntegrity/)
    expect(make({ packageNames: [PACKAGE], ...play.keys, maxAgeS: 0 })).toThrow(/maxAgeS/)
    expect(() => makeSite({ ...SITE, attestation: { playIntegrity: { packageNames: [PACKAGE], ...play.keys }, safetyNet: {} } as never }, randomBytes(32))).toThrow(/unknown setting safetyNet/)
  })
})

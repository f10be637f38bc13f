/**
 * Apple App Attest, verified by the collector: the shipped root, then genuine attestations
 * and assertions through the collect route, and each forgery refused with its own reason.
 * A test CA plays Apple (test/support/app-attest.ts); the collector trusts its root.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { X509Certificate, createHash, generateKeyPairSync } from 'node:crypto'
import { makeTestApp, STORE_KINDS, testSecret, type TestApp } from '../../test/support/app'
import { TestApple, TestAppAttestDevice } from '../../test/support/app-attest'
import { APP_ID, BUNDLE_ID, TEAM_ID, collectWithEvidence } from '../../test/support/platform'
import { TestDevice } from '../../test/support/device'
import { DEMO_SITE, siteRegistry, type SiteConfig } from '../src/config/sites'
import { APPLE_APP_ATTESTATION_ROOT_CA, APPLE_APP_ATTESTATION_ROOT_SHA256 } from '../src/evidence/apple-root'

const SITE: SiteConfig & { secret: string } = {
  siteKey: 'app',
  secret: testSecret('app'),
  origins: ['http://127.0.0.1:*'],
  attestation: { appAttest: { teamId: TEAM_ID, bundleIds: [BUNDLE_ID], environment: 'production' } },
}

/** An app-only site: every action needs App Attest (issue 13's "attestation can simply be left out"). */
const REQUIRED_SITE: SiteConfig = { ...SITE, siteKey: 'app-only', policy: { requireAttestation: ['app_attest'] } }
const DEV_SITE: SiteConfig = { ...SITE, siteKey: 'app-dev', attestation: { appAttest: { teamId: TEAM_ID, bundleIds: [BUNDLE_ID], environment: 'development' } } }

describe("Apple's App Attestation root, as shipped", () => {
  it('is the certificate Apple publishes: its fingerprint, self-signed, valid until 2045', () => {
    const root = new X509Certificate(APPLE_APP_ATTESTATION_ROOT_CA)
    expect(createHash('sha256').update(root.raw).digest('hex')).toBe(APPLE_APP_ATTESTATION_ROOT_SHA256)
    expect(root.subject).toContain('CN=Apple App Attestation Root CA')
    expect(root.ca).toBe(true)
    expect(root.verify(root.publicKey)).toBe(true)
    expect(Date.parse(root.validTo)).toBe(Date.parse('2045-03-15T00:00:00Z'))
  })

  it('is what the collector trusts by default: a chain from a test CA is refused', async () => {
    const t = await makeTestApp({ sites: siteRegistry([DEMO_SITE, SITE], { demo: true }) })
    try {
      const iphone = new TestAppAttestDevice(new TestApple(), APP_ID)
      const r = await collectWithEvidence(t, { siteKey: 'app', secret: SITE.secret, attest: (nonce) => ({ platform: 'ios', kind: 'app_attest', token: iphone.attest(nonce) }) })
      expect(r.evidence).toEqual([expect.objectContaining({ kind: 'app_attest', status: 'failed', reason: 'bad_chain' })])
    } finally {
      await t.close()
    }
  })
})

describe.each(STORE_KINDS)('App Attest through the collector on %s', (kind) => {
  const apple = new TestApple()
  let t: TestApp
  let iphone: TestAppAttestDevice
  beforeEach(async () => {
    t = await makeTestApp({ store: kind, sites: siteRegistry([DEMO_SITE, SITE, DEV_SITE, REQUIRED_SITE], { demo: true }), appAttestRoots: [apple.rootPem] })
    iphone = new TestAppAttestDevice(apple, APP_ID)
  })
  afterEach(async () => {
    await t.close()
  })

  const send = (token: (nonce: string) => string, device?: TestDevice) =>
    collectWithEvidence(t, { siteKey: 'app', secret: SITE.secret, ...(device ? { device } : {}), attest: (nonce) => ({ platform: 'ios', kind: 'app_attest', token: token(nonce) }) })

  it('a genuine attestation, then assertions with a rising counter: verified, and the score drops', async () => {
    const device = new TestDevice()
    const plain = await collectWithEvidence(t, { siteKey: 'app', secret: SITE.secret })
    const first = await send((n) => iphone.attest(n), device)
    expect(first.attestation).toBe('verified')
    expect(first.evidence).toEqual([{ kind: 'app_attest', status: 'verified', by: APP_ID }])
    expect(first.reasons).not.toContain('attestation_failed')
    // Same reasons (no_interaction), half the risk: the trust side of the engine.
    expect(plain.reasons).toEqual(first.reasons)
    expect(first.score).toBeCloseTo(plain.score! * 0.5, 3)
    for (let i = 0; i < 3; i++) {
      const later = await send((n) => iphone.assert(n), device)
      expect(later.evidence).toEqual([{ kind: 'app_attest', status: 'verified', by: APP_ID }])
    }
  })

  it('a development build on a production site: wrong_environment; a development site accepts it', async () => {
    expect((await send((n) => iphone.attest(n, { environment: 'development' }))).evidence[0]).toMatchObject({ status: 'failed', reason: 'wrong_environment' })
    const dev = await collectWithEvidence(t, { siteKey: 'app-dev', secret: SITE.secret, attest: (nonce) => ({ platform: 'ios', kind: 'app_attest', token: iphone.attest(nonce, { environment: 'development' }) }) })
    expect(dev.evidence[0]).toMatchObject({ status: 'verified' })
    expect((await send((n) => new TestAppAttestDevice(apple, APP_ID).attest(n, { environment: 'production' }))).evidence[0]).toMatchObject({ status: 'verified' })
  })

  describe('forgeries, each refused with its own reason', () => {
    const refused = async (token: (nonce: string) => string, reason: string) => {
      const r = await send(token)
      expect(r.evidence).toEqual([expect.objectContaining({ kind: 'app_attest', status: 'failed', reason })])
      expect(r.reasons).toContain('attestation_failed')
      expect(r.verdict).toBe('deny')
    }

    it('wrong chain: a key certified by another CA', async () => {
      await refused((n) => new TestAppAttestDevice(new TestApple('Not Apple'), APP_ID).attest(n), 'bad_chain')
    })

    it('wrong chain: a credential certificate that has expired', async () => {
      await refused((n) => iphone.attest(n, { validity: { notBefore: new Date('2020-01-01T00:00:00Z'), notAfter: new Date('2021-01-01T00:00:00Z') } }), 'bad_chain')
    })

    it('wrong nonce: an attestation whose certificate nonce is not SHA-256(authData ‖ clientDataHash)', async () => {
      await refused((n) => iphone.attest(n, { certificateNonce: createHash('sha256').update('another request').digest() }), 'nonce_mismatch')
    })

    it('wrong nonce: an attestation made for another payload', async () => {
      const r = await send(() => iphone.attest('the nonce of some other payload'))
      expect(r.evidence[0]).toMatchObject({ status: 'failed', reason: 'nonce_mismatch' })
      // …and one that claims that other payload's nonce fails the payload binding outright.
      const claimed = await collectWithEvidence(t, {
        siteKey: 'app',
        secret: SITE.secret,
        attest: () => ({ platform: 'ios', kind: 'app_attest', token: iphone.attest('other'), nonce: 'other' }),
      })
      expect(claimed.attestation).toBe('nonce_mismatch')
      expect(claimed.reasons).toContain('attestation_failed')
    })

    it('replayed assertion counter: the same assertion twice, and an older counter after a newer one', async () => {
      await send((n) => iphone.attest(n))
      expect((await send((n) => iphone.assert(n, { counter: 5 }))).evidence[0]).toMatchObject({ status: 'verified' })
      await refused((n) => iphone.assert(n, { counter: 5 }), 'counter_replayed')
      await refused((n) => iphone.assert(n, { counter: 3 }), 'counter_replayed')
      expect((await send((n) => iphone.assert(n, { counter: 6 }))).evidence[0]).toMatchObject({ status: 'verified' })
    })

    it('an attestation for another app', async () => {
      await refused((n) => iphone.attest(n, { appId: `${TEAM_ID}.com.other.app` }), 'wrong_app')
    })

    it('an attested key whose counter is not 0', async () => {
      await refused((n) => iphone.attest(n, { counter: 1 }), 'bad_counter')
    })

    it('a key id that is not the certified key', async () => {
      const other = new TestAppAttestDevice(apple, APP_ID)
      await refused((n) => JSON.stringify({ ...(JSON.parse(iphone.attest(n)) as object), keyId: other.keyId.toString('base64') }), 'key_mismatch')
    })

    it('the same key attested twice', async () => {
      await send((n) => iphone.attest(n))
      await refused((n) => iphone.attest(n), 'replayed')
    })

    it('an assertion signed by another key', async () => {
      await send((n) => iphone.attest(n))
      await refused((n) => iphone.assert(n, { key: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey }), 'bad_signature')
    })

    it('an assertion for another app', async () => {
      await send((n) => iphone.attest(n))
      await refused((n) => iphone.assert(n, { appId: `${TEAM_ID}.com.other.app` }), 'wrong_app')
    })

    it('garbage', async () => {
      await refused(() => 'not json', 'malformed')
      await refused(() => JSON.stringify({ keyId: iphone.keyId.toString('base64'), attestation: Buffer.from('not cbor').toString('base64') }), 'malformed')
    })
  })

  it('attestation left out where the site requires it: attestation_missing; present and genuine: none', async () => {
    const leftOut = await collectWithEvidence(t, { siteKey: 'app-only', secret: SITE.secret })
    expect(leftOut.reasons).toContain('attestation_missing')
    expect(leftOut.verdict).toBe('review')
    const attested = await collectWithEvidence(t, { siteKey: 'app-only', secret: SITE.secret, attest: (nonce) => ({ platform: 'ios', kind: 'app_attest', token: iphone.attest(nonce) }) })
    expect(attested.reasons).not.toContain('attestation_missing')
    // A forged one is a failure, not a missing one.
    const forged = await collectWithEvidence(t, { siteKey: 'app-only', secret: SITE.secret, attest: () => ({ platform: 'ios', kind: 'app_attest', token: 'forged' }) })
    expect(forged.reasons).toContain('attestation_failed')
    expect(forged.reasons).not.toContain('attestation_missing')
  })

  it('an assertion for a key the collector never saw attested: unverified, no penalty', async () => {
    const r = await send((n) => iphone.assert(n))
    expect(r.evidence).toEqual([expect.objectContaining({ status: 'unverified', reason: 'unknown_key' })])
    expect(r.reasons).not.toContain('attestation_failed')
  })
})

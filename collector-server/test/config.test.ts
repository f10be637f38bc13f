import { describe, expect, it } from 'vitest'
import { mkdtempSync, readFileSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { makeSite, loadSites, DEMO_SITE } from '../src/config/sites'
import { testSecret } from '../../test/support/app'
import { randomBytes } from 'node:crypto'
import { loadKeyring, rotateSigningKey, retireSigningKey, thumbprint } from '../src/config/keyring'
import { createOnce } from '../src/config/files'

const tmp = () => mkdtempSync(join(tmpdir(), 'vigil-config-'))

describe('site origin patterns', () => {
  const secret = testSecret('shop')
  const site = makeSite({ siteKey: 'shop', secret, origins: ['https://shop.example', 'https://*.shop.example', 'http://localhost:*'] }, randomBytes(32))

  it.each([
    ['https://shop.example', true],
    ['https://shop.example:443', false], // not a serialised origin
    ['https://m.shop.example', true],
    ['https://a.b.shop.example', true],
    ['https://evilshop.example', false],
    ['https://shop.example.evil.com', false],
    ['http://shop.example', false],
    ['https://shop.example:8443', false],
    ['http://localhost:3000', true],
    ['http://localhost', true],
    ['https://localhost:3000', false],
    ['null', false],
    ['not a url', false],
  ])('%s → %s', (origin, allowed) => {
    expect(site.allowsOrigin(origin)).toBe(allowed)
  })

  it('matches hostnames for clients that send no Origin', () => {
    expect(site.allowsHostname('shop.example')).toBe(true)
    expect(site.allowsHostname('M.Shop.Example')).toBe(true)
    expect(site.allowsHostname('shop.example.evil.com')).toBe(false)
    expect(site.allowsHostname('')).toBe(false)
  })

  it('takes the opaque origin, and a page without a hostname, only where the site lists "null"', () => {
    const webview = makeSite({ siteKey: 'app', secret, origins: ['https://shop.example', 'null'] }, randomBytes(32))
    expect(webview.allowsOrigin('null')).toBe(true)
    expect(webview.allowsOrigin('https://shop.example')).toBe(true)
    expect(webview.allowsOrigin('https://evil.example')).toBe(false)
    expect(webview.allowsHostname('')).toBe(true)
    expect(webview.allowsHostname('evil.example')).toBe(false)
  })

  it('compares secrets in constant time and exactly', () => {
    expect(site.secretMatches('siteverify', secret, 0)).toBe(true)
    expect(site.secretMatches('siteverify', secret.slice(0, -1) + 'x', 0)).toBe(false)
    expect(site.secretMatches('siteverify', '', 0)).toBe(false)
  })

  it('refuses unusable configuration at load', () => {
    const key = randomBytes(32)
    expect(() => makeSite({ siteKey: 'bad key', secret, origins: ['https://a.example'] }, key)).toThrow(/siteKey/)
    expect(() => makeSite({ siteKey: 'ok', secret: 'short', origins: ['https://a.example'] }, key)).toThrow(/weak/)
    expect(() => makeSite({ siteKey: 'ok', origins: ['https://a.example'] }, key)).toThrow(/no seal secret/)
    expect(() => makeSite({ siteKey: 'ok', secret, origins: ['ftp://a.example'] }, key)).toThrow(/origin/)
    expect(() => makeSite({ siteKey: 'ok', secret, origins: ['https://a.example'], policy: { review: 0.8, deny: 0.5 } }, key)).toThrow(/review/)
    expect(() => makeSite({ siteKey: 'ok', secret, origins: ['https://a.example'], policy: { weights: { automation: 1.5 } } }, key)).toThrow(/weight/)
    expect(() => makeSite({ siteKey: 'ok', secret, origins: ['https://a.example'], policy: { weights: { robots: 0.5 } as never } }, key)).toThrow(/unknown reason/)
    expect(() => makeSite({ siteKey: 'ok', secret, origins: ['https://a.example'], policy: { limits: { newDevicesPerNetwork: 5000 } } }, key)).toThrow(/limits.newDevicesPerNetwork/)
    expect(() => makeSite({ siteKey: 'ok', secret, origins: ['https://a.example'], policy: { limits: { accountsPerIp: 2.5 } } }, key)).toThrow(/limits.accountsPerIp/)
    expect(() => makeSite({ siteKey: 'ok', secret, origins: ['https://a.example'], policy: { proofOfWork: { badDenies: 5000 } } }, key)).toThrow(/badDenies/)
    expect(makeSite({ ...DEMO_SITE, tokenTtlS: 9999 }, key).tokenTtlS).toBe(300)
    const site = { siteKey: 'ok', secret, origins: ['https://a.example'] }
    expect(() => makeSite({ ...site, policy: { trust: { app_attest: 2 } } }, key)).toThrow(/trust of app_attest/)
    expect(() => makeSite({ ...site, policy: { trust: { safetynet: 0.5 } as never } }, key)).toThrow(/unknown evidence/)
    expect(() => makeSite({ ...site, policy: { requireAttestation: ['safetynet'] as never } }, key)).toThrow(/requireAttestation/)
    expect(() => makeSite({ ...site, policy: { actions: { pay: { requireAttestation: 'yes' as never } } } }, key)).toThrow(/actions\["pay"\]\.requireAttestation/)
    expect(() => makeSite({ ...site, attestation: { appAttest: { teamId: 'abc', bundleIds: ['com.x'] } } }, key)).toThrow(/teamId/)
    expect(makeSite({ ...site, policy: { requireAttestation: ['app_attest'] } }, key).policy.default.requireAttestation).toEqual(['app_attest'])
  })

  it('creates an empty sites.json on first start: the demo site exists only in development mode', () => {
    const dir = tmp()
    expect(loadSites(dir).get('demo')).toBeUndefined()
    expect(JSON.parse(readFileSync(join(dir, 'sites.json'), 'utf8'))).toEqual({ sites: [] })
    expect(loadSites(dir, undefined, { demo: true }).get('demo')?.allowsOrigin('http://127.0.0.1:8080')).toBe(true)
    expect(JSON.parse(readFileSync(join(dir, 'sites.json'), 'utf8'))).toEqual({ sites: [] })
  })
})

describe('keyring', () => {
  it('generates keys once, privately, and reloads the same ones', () => {
    const dir = tmp()
    const first = loadKeyring(dir)
    const again = loadKeyring(dir)
    expect(again.active.kid).toBe(first.active.kid)
    expect(again.challengeKey).toEqual(first.challengeKey)
    expect(first.active.kid).toBe(thumbprint(first.active.publicJwk.x!))
    expect(first.jwks.keys[0]).toEqual({ kty: 'OKP', crv: 'Ed25519', x: first.active.publicJwk.x, kid: first.active.kid, alg: 'EdDSA', use: 'sig' })
    expect(JSON.stringify(first.jwks)).not.toMatch(/"d"/)
    expect(statSync(join(dir, 'keys', 'signing-keys.json')).mode & 0o077).toBe(0)
  })

  it('rotates: the new key signs, the old one still verifies until retired', () => {
    const dir = tmp()
    const before = loadKeyring(dir)
    const { added, retiring } = rotateSigningKey(dir)
    expect(retiring).toEqual([before.active.kid])
    const after = loadKeyring(dir)
    expect(after.active.kid).toBe(added)
    expect(after.jwks.keys.map((k) => k.kid)).toEqual([added, before.active.kid])
    expect(() => retireSigningKey(dir, added)).toThrow(/active/)
    retireSigningKey(dir, before.active.kid)
    expect(loadKeyring(dir).jwks.keys.map((k) => k.kid)).toEqual([added])
  })

  it('createOnce keeps the first writer when two race', () => {
    const dir = tmp()
    const path = join(dir, 'x', 'file')
    const a = createOnce(path, () => 'first')
    const b = createOnce(path, () => 'second')
    expect([a, b]).toEqual(['first', 'first'])
  })
})

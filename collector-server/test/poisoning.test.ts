/**
 * Finding 2: link counts were keyed on what clients claim (the visitorId, account hashes
 * anyone can compute), so an attacker could push real shoppers into deny: five collects
 * from fresh keys naming a victim's visitorId, with throwaway accounts, made the victim's
 * device `deny` (click_farm, multi_account) for a day; twenty collects naming bob@ put Bob
 * into review. A claim now counts toward another device only from the same network or
 * from an established device. The detections the counts exist for still fire.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { makeTestApp, STORE_KINDS, type TestApp } from '../../test/support/app'
import { TestDevice } from '../../test/support/device'
import { accountHash } from 'vigil/verify'
import { ESTABLISHED_AFTER_MS } from '../src/risk/velocity'

const VICTIM_NET = '198.51.100'
const ATTACKER_NET = '203.0.113'
const FP = 'aaaabbbbccccddddeeeeffff00001111'

describe.each(STORE_KINDS)('link poisoning on %s', (kind) => {
  let t: TestApp
  beforeEach(async () => {
    t = await makeTestApp({ store: kind })
  })
  afterEach(async () => {
    await t.close()
  })

  /** One token: the verdict and reasons siteverify reports for it. */
  async function act(device: TestDevice, ip: string, { action = 'login', account, visitorId = FP }: { action?: string; account?: string; visitorId?: string } = {}) {
    const challenge = (await t.app.inject({ url: '/v1/challenge?siteKey=demo', remoteAddress: ip })).json<{ challenge: string }>().challenge
    const overrides = { action, fp: { visitorId, confidence: 0.6, ms: 10 }, ...(account ? { account: accountHash(account, t.sites.get('demo')!.accountSalt) } : {}) }
    const res = await t.app.inject({ method: 'POST', url: '/v1/collect', payload: device.body(challenge, overrides), remoteAddress: ip })
    expect(res.statusCode).toBe(200)
    const { token } = res.json<{ token: string }>()
    return (await t.app.inject({ method: 'POST', url: '/v1/siteverify', payload: { secret: 'demo-secret', token } })).json<{ verdict: string; reasons: string[] }>()
  }

  /** A device seen once now: established once aDayLater() has passed. */
  async function established(ip: string, account: string, visitorId = FP): Promise<TestDevice> {
    const device = new TestDevice()
    await act(device, ip, { account, visitorId })
    return device
  }
  const aDayLater = () => t.clock.advance(ESTABLISHED_AFTER_MS + 3600_000)

  it("five fresh keys naming a shopper's visitorId with throwaway accounts no longer deny the shopper", async () => {
    const victim = await established(`${VICTIM_NET}.7`, 'victim@example.com')
    aDayLater()
    const attackers: Array<{ verdict: string; reasons: string[] }> = []
    for (let i = 0; i < 5; i++) attackers.push(await act(new TestDevice(), `${ATTACKER_NET}.${10 + i}`, { account: `throwaway${i}@example.com` }))
    const after = await act(victim, `${VICTIM_NET}.7`, { account: 'victim@example.com' })
    expect(after.reasons).not.toContain('click_farm')
    expect(after.reasons).not.toContain('multi_account')
    expect(after.verdict).toBe('allow')
    // The attackers' own devices share a network: their counts add up, for them.
    expect(attackers.at(-1)!.reasons).toEqual(expect.arrayContaining(['click_farm', 'multi_account']))
  })

  it('accounts behind one IPv6 /64 add up as behind one address, spread over its addresses or not', async () => {
    const verdicts: Array<{ verdict: string; reasons: string[] }> = []
    // Twelve devices, twelve fingerprints, twelve accounts, twelve addresses of one /64.
    for (let i = 0; i < 12; i++) verdicts.push(await act(new TestDevice(), `2001:db8:7:9::${(i + 1).toString(16)}`, { account: `claimer${i}@example.com`, visitorId: `fp-${i}-0000000000000000000000000` }))
    expect(verdicts.slice(0, 9).map((v) => v.reasons)).not.toContainEqual(expect.arrayContaining(['click_farm']))
    expect(verdicts.slice(9).every((v) => v.reasons.includes('click_farm') && v.verdict !== 'allow')).toBe(true)
    // Another /64 is another subscriber.
    expect((await act(new TestDevice(), '2001:db8:7:a::1', { account: 'claimer0@example.com', visitorId: 'fp-x-0000000000000000000000000' })).reasons).not.toContain('click_farm')
  })

  it('twenty collects naming bob@ from elsewhere leave Bob allowed', async () => {
    const bob = await established(`${VICTIM_NET}.20`, 'bob@example.com', 'bob-fingerprint-0000000000000000')
    aDayLater()
    for (let i = 0; i < 20; i++) await act(new TestDevice(), `${ATTACKER_NET}.${30 + (i % 5)}`, { account: 'bob@example.com', visitorId: `attacker-${i}` })
    const after = await act(bob, `${VICTIM_NET}.20`, { account: 'bob@example.com', visitorId: 'bob-fingerprint-0000000000000000' })
    expect(after.reasons).toEqual(expect.not.arrayContaining(['velocity', 'new_device', 'multi_account', 'click_farm']))
    expect(after.verdict).toBe('allow')
  })

  it('a fresh device is not poisoned from another network either', async () => {
    for (let i = 0; i < 6; i++) await act(new TestDevice(), `${ATTACKER_NET}.${50 + i}`, { account: `throwaway${i}@example.com` })
    const newcomer = await act(new TestDevice(), `${VICTIM_NET}.8`, { account: 'newcomer@example.com' })
    expect(newcomer.reasons).toEqual(expect.not.arrayContaining(['click_farm', 'multi_account']))
  })

  describe('what the counts are for still fires', () => {
    it('a farm of fresh keys on one network, one fingerprint, many accounts: click_farm', async () => {
      const verdicts = []
      for (let i = 0; i < 6; i++) verdicts.push(await act(new TestDevice(), `${ATTACKER_NET}.${60 + i}`, { account: `farm${i}@example.com` }))
      expect(verdicts.at(-1)!.reasons).toContain('click_farm')
    })

    it('established devices on different networks sharing a fingerprint with many accounts: click_farm', async () => {
      const aged: TestDevice[] = []
      for (let i = 0; i < 5; i++) aged.push(await established(`10.${i}.0.1`, `aged${i}@example.com`))
      aDayLater()
      // Back a day later, each from its own network, with another account.
      for (const [i, device] of aged.entries()) await act(device, `10.${i}.0.1`, { account: `aged${i}b@example.com` })
      // Their claims now count everywhere: a new key on yet another network sees them.
      const next = await act(new TestDevice(), '10.99.0.1', { account: 'another@example.com' })
      expect(next.reasons).toEqual(expect.arrayContaining(['click_farm', 'multi_account']))
    })

    it("account takeover: Bob's account, on three devices that came back a day later, on a stranger's new device: new_device", async () => {
      const bobs: TestDevice[] = []
      for (let i = 0; i < 3; i++) bobs.push(await established(`${VICTIM_NET}.${40 + i}`, 'bob@example.com', `bob-device-${i}`))
      aDayLater()
      for (const [i, device] of bobs.entries()) await act(device, `${VICTIM_NET}.${40 + i}`, { account: 'bob@example.com', visitorId: `bob-device-${i}` })
      const taker = await act(new TestDevice(), `${ATTACKER_NET}.99`, { account: 'bob@example.com', visitorId: 'taker' })
      expect(taker.reasons).toContain('new_device')
    })
  })
})

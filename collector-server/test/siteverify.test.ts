/**
 * Finding 3: siteverify ignored action and hostname, so a token minted for `browse`
 * redeemed with success at a checkout backend that only checked success and verdict.
 * The backend now names what it expects; each mismatch is its own error code, and a
 * refused token is not spent. vigil/verify requires the choice.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { makeTestApp, type TestApp } from '../../test/support/app'
import { TestDevice } from '../../test/support/device'
import { accountHash, verifyToken } from 'vigil/verify'

let t: TestApp
beforeEach(async () => {
  t = await makeTestApp()
})
afterEach(async () => {
  await t.close()
})

async function mint(action: string, account?: string): Promise<string> {
  const overrides = { action, ...(account ? { account: accountHash(account, t.sites.get('demo')!.accountSalt) } : {}) }
  const res = await t.app.inject({ method: 'POST', url: '/v1/collect', payload: new TestDevice().body(await t.challenge(), overrides) })
  expect(res.statusCode).toBe(200)
  return res.json<{ token: string }>().token
}

const siteverify = async (body: Record<string, unknown>) => {
  const res = await t.app.inject({ method: 'POST', url: '/v1/siteverify', payload: { secret: 'demo-secret', ...body } })
  return { status: res.statusCode, body: res.json<{ success: boolean; errorCodes?: string[]; action?: string; error?: { code: string; message: string } }>() }
}

describe('siteverify checks what the backend names', () => {
  it('a browse token at a checkout backend: wrong_action, and the token is not spent', async () => {
    const token = await mint('browse')
    expect(await siteverify({ token, action: 'checkout' })).toEqual({ status: 200, body: { success: false, errorCodes: ['wrong_action'] } })
    // Not consumed by the refusal: the backend it was meant for still redeems it, once.
    expect((await siteverify({ token, action: 'browse' })).body).toMatchObject({ success: true, action: 'browse' })
    expect((await siteverify({ token, action: 'browse' })).body).toEqual({ success: false, errorCodes: ['already_redeemed'] })
  })

  it('another hostname: wrong_hostname', async () => {
    const token = await mint('checkout')
    expect((await siteverify({ token, action: 'checkout', hostname: 'shop.example' })).body).toEqual({ success: false, errorCodes: ['wrong_hostname'] })
    expect((await siteverify({ token, action: 'checkout', hostname: '127.0.0.1' })).body.success).toBe(true)
  })

  it('another account, or none: wrong_account; the right one, however written, succeeds', async () => {
    const token = await mint('checkout', 'bob@example.com')
    expect((await siteverify({ token, account: 'mallory@example.com' })).body).toEqual({ success: false, errorCodes: ['wrong_account'] })
    const anonymous = await mint('checkout')
    expect((await siteverify({ token: anonymous, account: 'bob@example.com' })).body).toEqual({ success: false, errorCodes: ['wrong_account'] })
    expect((await siteverify({ token, action: 'checkout', hostname: '127.0.0.1', account: ' Bob@Example.com' })).body.success).toBe(true)
  })

  it('without the fields the answer still names action and hostname, and a malformed one is a 400', async () => {
    const token = await mint('browse')
    expect((await siteverify({ token, action: 'not an action' })).body.error?.code).toBe('bad_request')
    // The message names where, once: Fastify's own prefix, not ours on top of it.
    expect((await siteverify({ token, action: 'not an action' })).body.error?.message).toMatch(/^body\/action must /)
    expect((await siteverify({ token })).body).toMatchObject({ success: true, action: 'browse', hostname: '127.0.0.1' })
  })
})

describe('verifyToken makes the backend choose', () => {
  const opts = () => ({ secret: 'demo-secret', siteKey: 'demo', jwks: t.keyring.jwks, now: t.clock.now() })

  it('refuses to run without action and hostname (null accepts any, on purpose)', async () => {
    const token = await mint('browse')
    await expect(verifyToken(token, opts() as never)).rejects.toThrow(/options.action is required/)
    await expect(verifyToken(token, { ...opts(), action: 'checkout' } as never)).rejects.toThrow(/options.hostname is required/)
    await expect(verifyToken(token, { ...opts(), action: 'checkout', hostname: '127.0.0.1' })).rejects.toMatchObject({ code: 'wrong_action' })
    expect((await verifyToken(token, { ...opts(), action: null, hostname: null })).action).toBe('browse')
  })
})

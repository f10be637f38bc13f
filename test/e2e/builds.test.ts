/**
 * The published builds: the ESM build works in a browser through an import (with its
 * lazy chunk beside it), does nothing at import time (safe to import during SSR), and
 * ships types; the IIFE exposes window.Vigil; the verifier runs where there is WebCrypto
 * and nothing of Node (a module Web Worker, as on an edge runtime).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, normalize } from 'node:path'
import { createRequire } from 'node:module'
import type { Browser } from 'playwright-core'
import { launchChromium } from '../support/browser'
import { startTestCollector, type TestCollector } from '../support/collector'
import { TestDevice } from '../support/device'

let collector: TestCollector
let browser: Browser

beforeAll(async () => {
  collector = await startTestCollector({ workBits: 12 })
  browser = await launchChromium()
})
afterAll(async () => {
  await browser?.close()
  await collector?.close()
})

describe('ESM build (dist/sdk)', () => {
  it('imports in Node without touching browser globals', async () => {
    const built = '../../dist/sdk/index.js'
    const sdk = (await import(built)) as Record<string, unknown>
    expect(Object.keys(sdk).sort()).toEqual(['VigilError', 'init', 'version'])
    expect(typeof sdk['version']).toBe('string')
  })

  it('holds no require() a bundler would try to resolve (esbuild and webpack take it as is)', () => {
    const files = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : /\.(m?js)$/.test(e.name) ? [join(dir, e.name)] : []))
    const offending = ['dist/sdk', 'dist/browser'].flatMap(files).flatMap((file) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .filter((line) => /\brequire\(/.test(line) && !/^\s*(\/\/|\*)/.test(line))
        .map((line) => `${file}: ${line.trim().slice(0, 120)}`),
    )
    expect(offending).toEqual([])
  })

  it('requires in Node as CommonJS, also without touching browser globals', () => {
    const require = createRequire(import.meta.url)
    expect(Object.keys(require('../../dist/sdk/index.cjs') as object).sort()).toEqual(['VigilError', 'init', 'version'])
    expect(Object.keys(require('../../dist/sdk/react.cjs') as object).sort()).toEqual(['VigilError', 'VigilProvider', 'useVigil'])
    expect(typeof (require('../../dist/verify/index.cjs') as { verifyToken?: unknown }).verifyToken).toBe('function')
  })

  it('ships declarations for the SDK and the verifier, for import and for require', () => {
    // The SDK's entries share their types through a chunk: read them together.
    const declarations = (ext: string) =>
      ['dist/sdk', 'dist/sdk/chunks'].flatMap((dir) => readdirSync(dir).filter((f) => f.endsWith(ext)).map((f) => readFileSync(join(dir, f), 'utf8'))).join('\n')
    expect(declarations('.d.cts')).toMatch(/declare function init\(options: VigilOptions\): VigilClient/)
    expect(readFileSync('dist/sdk/react.d.ts', 'utf8')).toMatch(/declare function useVigil\(\): UseVigil/)
    expect(readFileSync('dist/verify/index.d.cts', 'utf8')).toBe(readFileSync('dist/verify/index.d.ts', 'utf8'))
    const sdkTypes = declarations('.d.ts')
    expect(sdkTypes).toMatch(/declare function init\(options: VigilOptions\): VigilClient/)
    expect(sdkTypes).toMatch(/getToken\(action: string, options\?: GetTokenOptions\): Promise<string>/)
    expect(sdkTypes).toMatch(/account\?: string/)
    expect(readFileSync('dist/verify/index.d.ts', 'utf8')).toMatch(/declare function verifyToken\(token: string, options: VerifyOptions\): Promise<VerifiedToken>/)
  })

  it('gets a token in Chromium through an import, with tweetnacl as a lazy chunk', async () => {
    const context = await browser.newContext()
    // An older browser without Ed25519, so the lazy chunk must load.
    await context.addInitScript(`SubtleCrypto.prototype.generateKey = () => Promise.reject(new DOMException('no', 'NotSupportedError'))`)
    const page = await context.newPage()
    const served: string[] = []
    await page.route(`${collector.url}/esm/**`, (route) => {
      const rel = normalize(new URL(route.request().url()).pathname.slice('/esm/'.length))
      const file = join('dist/sdk', rel)
      if (rel.startsWith('..') || !existsSync(file)) return route.fulfill({ status: 404 })
      served.push(rel)
      return route.fulfill({ contentType: 'text/javascript', body: readFileSync(file, 'utf8') })
    })
    await page.route(`${collector.url}/esm-page`, (route) => route.fulfill({ contentType: 'text/html', body: '<!doctype html><p>app</p>' }))
    await page.goto(`${collector.url}/esm-page`)
    // A string, so the test runner does not rewrite the page's import().
    const result = await page.evaluate(`(async () => {
      const { init } = await import('/esm/index.js')
      const token = await init({ endpoint: location.origin, siteKey: 'demo' }).getToken('login')
      return token.split('.').length
    })()`)
    expect(result).toBe(5)
    expect(served[0]).toBe('index.js')
    expect(served.some((f) => f.startsWith('chunks/nacl'))).toBe(true)
    await context.close()
  })
})

describe('IIFE build (dist/browser)', () => {
  it('exposes window.Vigil with init, VigilError and version', async () => {
    const page = await browser.newPage()
    await page.route(`${collector.url}/iife-page`, (route) => route.fulfill({ contentType: 'text/html', body: '<!doctype html><script src="/sdk/vigil.min.js"></script>' }))
    await page.goto(`${collector.url}/iife-page`)
    expect(await page.evaluate(() => Object.keys((window as unknown as { Vigil: object }).Vigil).sort())).toEqual(['VigilError', 'init', 'version'])
    await page.close()
  })
})

describe('the verifier (dist/verify)', () => {
  it('holds nothing of Node: no node: import, no require, no Buffer', () => {
    for (const file of ['dist/verify/index.js', 'dist/verify/index.cjs']) expect(readFileSync(file, 'utf8'), file).not.toMatch(/node:|\brequire\(|\bBuffer\b/)
  })

  it('verifies a real token inside a module Web Worker (WebCrypto only), and refuses a forged one', async () => {
    const { challenge } = (await (await fetch(`${collector.url}/v1/challenge?siteKey=demo`)).json()) as { challenge: string }
    const collected = await fetch(`${collector.url}/v1/collect`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(new TestDevice().body(challenge)) })
    const { token } = (await collected.json()) as { token: string }
    const forged = token.slice(0, -3) + (token.endsWith('A') ? 'B' : 'A') + token.slice(-2)
    const page = await browser.newPage()
    await page.route(`${collector.url}/edge/verify.js`, (route) => route.fulfill({ contentType: 'text/javascript', body: readFileSync('dist/verify/index.js', 'utf8') }))
    await page.route(`${collector.url}/edge/worker.js`, (route) =>
      route.fulfill({
        contentType: 'text/javascript',
        body: `import { verifyToken, remoteJwks } from './verify.js'
          const jwks = remoteJwks(new URL('/.well-known/jwks.json', location.origin).href)
          onmessage = async ({ data }) => {
            const check = (t) => verifyToken(t, { secret: 'demo-secret', siteKey: 'demo', jwks, action: 'checkout', hostname: null }).then((v) => v.verdict, (e) => 'refused ' + e.code)
            postMessage([typeof Buffer, typeof process, await check(data.token), await check(data.forged)])
          }`,
      }),
    )
    await page.route(`${collector.url}/edge/`, (route) => route.fulfill({ contentType: 'text/html', body: '<!doctype html><p>edge</p>' }))
    await page.goto(`${collector.url}/edge/`)
    const result = await page.evaluate(
      `new Promise((resolve) => { const w = new Worker('/edge/worker.js', { type: 'module' }); w.onmessage = (e) => resolve(e.data); w.postMessage(${JSON.stringify({ token, forged })}) })`,
    )
    expect(result).toEqual(['undefined', 'undefined', expect.stringMatching(/^(allow|review|deny)$/), 'refused bad_seal'])
    await page.close()
  })
})

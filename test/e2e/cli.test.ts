/**
 * The built collector as users run it: it starts, serves the SDK and the JWKS, and two
 * instances started together on one fresh data directory agree on one set of keys. And
 * the demo app (`npm start`), which mounts the shop in a collector it starts.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { startCli, startDemo, type CliCollector } from '../support/cli'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createHash } from 'node:crypto'

const running: CliCollector[] = []
afterEach(async () => {
  for (const c of running.splice(0)) await c.kill()
})

async function start(args: string[], run = startCli): Promise<CliCollector> {
  const c = await run(args)
  running.push(c)
  return c
}

describe('vigil-collector (built)', () => {
  it('the demo app serves the shop, the SDK and the JWKS, and stops cleanly on SIGTERM', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'vigil-cli-'))
    const c = await start(['--data-dir', dataDir], startDemo)
    const url = c.url
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    const home = await fetch(`${url}/`)
    expect(home.status).toBe(200)
    expect(await home.text()).toContain('<script defer src="/sdk/vigil.min.js"></script>')
    const sdk = await fetch(`${url}/sdk/vigil.min.js`, { headers: { 'accept-encoding': 'br, gzip' } })
    expect([sdk.status, sdk.headers.get('content-type'), sdk.headers.get('content-encoding')]).toEqual([200, 'application/javascript; charset=utf-8', 'br'])
    expect(await sdk.text()).toMatch(/^(\/\*![\s\S]*?\*\/\n)*var Vigil=/) // after the licence notices
    expect(sdk.headers.get('cache-control')).toBe('public, max-age=300')
    // The versioned URL: the same bytes, immutable, and the hash the build printed.
    const { version, files } = (await (await fetch(`${url}/sdk/sri.json`)).json()) as { version: string; files: Record<string, string> }
    const pinned = await fetch(`${url}/sdk/${version}/vigil.min.js`)
    expect([pinned.status, pinned.headers.get('cache-control')]).toEqual([200, 'public, max-age=31536000, immutable'])
    expect(`sha384-${createHash('sha384').update(Buffer.from(await pinned.arrayBuffer())).digest('base64')}`).toBe(files['vigil.min.js'])
    expect((await fetch(`${url}/sdk/0.0.0/vigil.min.js`)).status).toBe(404)
    expect(((await (await fetch(`${url}/.well-known/jwks.json`)).json()) as { keys: unknown[] }).keys).toHaveLength(1)
    expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: 'ok', store: 'sqlite' })
    expect(await c.stop()).toBe(0)
  })

  it('the collector alone serves no shop, with or without the demo site', async () => {
    for (const args of [[], ['--demo']]) {
      const { url } = await start(['--data-dir', mkdtempSync(join(tmpdir(), 'vigil-cli-')), ...args])
      expect((await fetch(`${url}/`)).status).toBe(404)
      expect((await fetch(`${url}/dashboard/`)).status).toBe(200)
    }
  })

  it('two instances started at once on a fresh data directory share one keyring', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'vigil-cli-'))
    const [a, b] = await Promise.all([start(['--data-dir', dataDir]), start(['--data-dir', dataDir])])
    const jwks = await Promise.all([a, b].map(async ({ url }) => (await fetch(`${url}/.well-known/jwks.json`)).json()))
    expect(jwks[0]).toEqual(jwks[1])
  })

  it('refuses a bad port or retention with a clear message', async () => {
    await expect(start(['--port', 'eighty'])).rejects.toThrow(/bad port/)
    await expect(start(['--events-days', '0'])).rejects.toThrow(/--events-days \(VIGIL_EVENTS_DAYS\) must be a whole number ≥ 1/)
  })
})

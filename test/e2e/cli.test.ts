/**
 * The built collector as users run it: it starts, serves the SDK and the JWKS, and two
 * instances started together on one fresh data directory agree on one set of keys. And
 * the demo app (`npm start`), which mounts the shop in a collector it starts.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { runCli, startCli, startDemo, type CliCollector } from '../support/cli'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { DEMO_SITE } from '../../collector-server/src/config/sites'
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
    // The static files' own refusals keep their status, in the envelope.
    const listing = await fetch(`${url}/sdk/`)
    expect([listing.status, ((await listing.json()) as { error: { code: string } }).error.code]).toEqual([404, 'not_found'])
    const beyond = await fetch(`${url}/sdk/vigil.min.js`, { headers: { range: 'bytes=999999999-' } })
    expect([beyond.status, ((await beyond.json()) as { error: { code: string } }).error.code]).toEqual([416, 'range_not_satisfiable'])
    // …and say how long the file is.
    expect(beyond.headers.get('content-range')).toBe(`bytes */${(await (await fetch(`${url}/sdk/vigil.min.js`)).arrayBuffer()).byteLength}`)
    expect(((await (await fetch(`${url}/.well-known/jwks.json`)).json()) as { keys: unknown[] }).keys).toHaveLength(1)
    expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: 'ok', store: 'sqlite' })
    expect(await c.stop()).toBe(0)
  })

  it('logs refusals and failures, not every request, unless asked to (--access-log, VIGIL_ACCESS_LOG)', async () => {
    const messages = async (args: string[], env: Record<string, string> = {}): Promise<string[]> => {
      const c = await startCli(['--data-dir', mkdtempSync(join(tmpdir(), 'vigil-cli-')), ...args], { VIGIL_LOG_LEVEL: 'info', ...env })
      running.push(c)
      expect((await fetch(`${c.url}/healthz`)).status).toBe(200)
      expect((await fetch(`${c.url}/v1/challenge?siteKey=nope`)).status).toBeGreaterThanOrEqual(400)
      expect(await c.stop()).toBe(0)
      // Not Fastify's nor Node's: a warning at every start is noise the operator cannot act on.
      expect(c.output()).not.toMatch(/Deprecation|\bDEP\d{4}\b/)
      return c
        .output()
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { msg: string; route?: string; code?: string })
        .map((line) => (line.msg === 'request refused' ? `request refused: ${line.code} on ${line.route}` : line.msg))
    }
    const quiet = await messages([])
    // No address and no query string: the route's pattern and the code.
    expect(quiet).toContain('request refused: unknown_site on /v1/challenge')
    expect(quiet).not.toContain('incoming request')
    expect(quiet).not.toContain('request completed')
    for (const [args, env] of [[['--access-log'], {}], [[], { VIGIL_ACCESS_LOG: '1' }]] as const) {
      const loud = await messages([...args], env)
      expect(loud.filter((m) => m === 'incoming request')).toHaveLength(2)
      expect(loud.filter((m) => m === 'request completed')).toHaveLength(2)
      expect(loud).toContain('request refused: unknown_site on /v1/challenge')
    }
    await expect(startCli(['--data-dir', mkdtempSync(join(tmpdir(), 'vigil-cli-'))], { VIGIL_ACCESS_LOG: 'maybe' })).rejects.toThrow('VIGIL_ACCESS_LOG must be 1 or 0')
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

  it('has no demo site unless started with --demo, and refuses development sites without it (finding 7)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'vigil-cli-'))
    const production = await start(['--data-dir', dataDir])
    const refused = await fetch(`${production.url}/v1/challenge?siteKey=demo`)
    expect([refused.status, ((await refused.json()) as { error: { code: string } }).error.code]).toEqual([400, 'unknown_site'])
    expect(production.output()).toMatch(/No sites yet: vigil-collector sites add/)
    expect(await production.stop()).toBe(0)
    expect(JSON.parse(readFileSync(join(dataDir, 'sites.json'), 'utf8'))).toEqual({ sites: [] })

    const development = await start(['--data-dir', dataDir, '--demo'])
    expect((await fetch(`${development.url}/v1/challenge?siteKey=demo`)).status).toBe(200)
    expect(development.output()).toMatch(/DEVELOPMENT MODE/)
    expect(await development.stop()).toBe(0)
    // The demo site was never written to sites.json…
    expect(JSON.parse(readFileSync(join(dataDir, 'sites.json'), 'utf8'))).toEqual({ sites: [] })
    // …and a development site put there by hand stops a production start.
    writeFileSync(join(dataDir, 'sites.json'), JSON.stringify({ sites: [DEMO_SITE] }))
    await expect(start(['--data-dir', dataDir])).rejects.toThrow(/development site/)
  })

  it('sites add, list and rotate: generated secrets the running collector takes up (finding 4)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'vigil-cli-'))
    const added = runCli(['sites', 'add', 'shop', '--origin', 'https://shop.example', '--data-dir', dataDir])
    expect(added.status, added.stderr).toBe(0)
    const secret = (role: string, text: string) => new RegExp(`${role}_[A-Za-z0-9_-]{43}`).exec(text)?.[0]
    const siteverify = secret('siteverify', added.stdout)!
    expect([secret('seal', added.stdout), siteverify, secret('dashboard', added.stdout)].every(Boolean)).toBe(true)
    expect(runCli(['sites', 'add', 'shop', '--origin', 'https://shop.example', '--data-dir', dataDir]).status).not.toBe(0)
    const listed = runCli(['sites', 'list', '--data-dir', dataDir])
    expect(listed.stdout).toMatch(/^shop {2}https:\/\/shop\.example {2}seal 1, siteverify 1, dashboard 1$/m)
    expect(listed.stdout).not.toMatch(/_[A-Za-z0-9_-]{43}/)

    const c = await start(['--data-dir', dataDir])
    // A well-formed seal for shop that opens under no key: a matching secret gets as far as
    // opening it (bad_seal), a wrong one stops at the secret (invalid_secret).
    const b64u = (x: string | Buffer) => Buffer.from(x).toString('base64url')
    const token = `${b64u(JSON.stringify({ alg: 'dir', enc: 'A256GCM', cty: 'JWT', kid: 'shop' }))}..${b64u(Buffer.alloc(12))}.${b64u('sealed')}.${b64u(Buffer.alloc(16))}`
    const verify = async (s: string) => ((await (await fetch(`${c.url}/v1/siteverify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ secret: s, token }) })).json()) as { errorCodes: string[] }).errorCodes
    expect(await verify(siteverify)).toEqual(['bad_seal'])
    const rotated = runCli(['sites', 'rotate', 'shop', 'siteverify', '--grace', '0', '--data-dir', dataDir])
    expect(rotated.status, rotated.stderr).toBe(0)
    const fresh = secret('siteverify', rotated.stdout)!
    // The running collector picks sites.json up within a second: poll until it has.
    await expect.poll(() => verify(fresh), { timeout: 10_000, interval: 200 }).toEqual(['bad_seal'])
    expect(await verify(siteverify)).toEqual(['invalid_secret'])
    expect(runCli(['sites', 'rotate', 'shop', 'nothing', '--data-dir', dataDir]).status).not.toBe(0)
  })

  it('refuses a bad port or retention with a clear message', async () => {
    await expect(start(['--port', 'eighty'])).rejects.toThrow(/bad port/)
    await expect(start(['--events-days', '0'])).rejects.toThrow(/--events-days \(VIGIL_EVENTS_DAYS\) must be a whole number ≥ 1/)
  })
})

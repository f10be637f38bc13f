/**
 * The published packages, as a new user gets them: `npm pack` each one (prepack builds what
 * is stale), install the tarballs into an empty project outside the repository, then
 * import and require them (types included), bundle the SDK with esbuild and with Vite,
 * run `npx vigil-collector --help`, start the collector and fetch its dashboard, and follow
 * the README's "From npm" steps to a verdict the backend verified, in Chromium.
 *
 * One shortcut, for time only: better-sqlite3 is linked from this repository's install (same
 * version, already compiled) instead of being compiled again, and install scripts are off
 * (none of our packages has one). Everything else comes from the tarballs and the registry.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { build as esbuild } from 'esbuild'
import { build as vite } from 'vite'
import type { Browser } from 'playwright-core'
import { launchChromium } from '../support/browser'

const ROOT = resolve('.')
const README = readFileSync('README.md', 'utf8')
/** The README's "From npm" blocks, in order: the shell steps, the page, the backend. */
const [STEPS, PAGE, BACKEND] = (() => {
  const blocks: Array<{ attrs: Record<string, string>; code: string }> = []
  for (const m of README.matchAll(/^```\S*[ \t]*(.*)\n([\s\S]*?)^```$/gm)) {
    const attrs = Object.fromEntries([...m[1]!.matchAll(/(\w+)=(\S+)/g)].map((a) => [a[1]!, a[2]!]))
    blocks.push({ attrs, code: m[2]! })
  }
  return blocks.filter((b) => b.attrs['run'] === 'published').map((b) => b.code)
})()

const PACKAGES = { '@vigil-risk/sdk': 'sdk', '@vigil-risk/verify': 'verify', '@vigil-risk/collector': 'collector-server' } as const

let project: string
let packs: string
let tarballs: Record<string, string>
let browser: Browser
/** Collectors started through npx: each a process group (npx, a shell, node), stopped as one. */
const running: Array<{ child: ChildProcess; exited: Promise<void> }> = []

function run(command: string, args: string[], cwd: string, env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 180_000 })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

beforeAll(async () => {
  packs = mkdtempSync(join(tmpdir(), 'vigil-packs-'))
  const packed = run('npm', ['pack', ...Object.values(PACKAGES).flatMap((w) => ['-w', w]), '--pack-destination', packs, '--json'], ROOT)
  expect(packed.status, packed.stderr).toBe(0)
  const manifest = JSON.parse(packed.stdout) as Array<{ name: string; filename: string; files: Array<{ path: string }> }>
  tarballs = Object.fromEntries(manifest.map((p) => [p.name, join(packs, p.filename)]))
  expect(Object.keys(tarballs).sort()).toEqual(Object.keys(PACKAGES).sort())
  const files = Object.fromEntries(manifest.map((p) => [p.name, p.files.map((f) => f.path)]))
  expect(files['@vigil-risk/sdk']).toEqual(expect.arrayContaining(['LICENSE', 'THIRD_PARTY_NOTICES.md', 'dist/index.js', 'dist/index.cjs', 'dist/index.d.ts', 'dist/index.d.cts', 'dist/react.js', 'dist/browser/vigil.min.js']))
  expect(files['@vigil-risk/collector']).toEqual(expect.arrayContaining(['LICENSE', 'bin/vigil-collector.js', 'dist/main.js', 'dashboard/index.html']))
  expect(files['@vigil-risk/verify']).toEqual(expect.arrayContaining(['LICENSE', 'dist/index.js', 'dist/index.cjs', 'dist/index.d.cts']))
  // postpack took the licence copies away again.
  expect(existsSync(join('sdk', 'LICENSE'))).toBe(false)

  // An empty project, outside the repository: nothing resolves into this checkout.
  project = mkdtempSync(join(tmpdir(), 'vigil-shop-'))
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ name: 'shop', version: '1.0.0', private: true, type: 'module', overrides: { 'better-sqlite3': `file:${join(ROOT, 'node_modules', 'better-sqlite3')}` } }, null, 2),
  )
  // The README's install line, with each package name pointing at its tarball.
  const install = STEPS!.split('\n').find((l) => l.startsWith('npm install'))!.replace(/#.*$/, '').trim().split(/\s+/).slice(2)
  expect(install.sort()).toEqual(Object.keys(PACKAGES).sort())
  // --engine-strict: every dependency a user gets must run on the Node the packages claim
  // (engines: >=20); npm otherwise only warns, and a CI with engine-strict on fails.
  const installed = run('npm', ['install', ...install.map((name) => tarballs[name]!), 'react@19.2.0', 'react-dom@19.2.0', '@types/react@19.3.3', '@types/node@20.19.43', '--engine-strict', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund'], project)
  expect(installed.status, installed.stderr).toBe(0)
  browser = await launchChromium()
}, 240_000)

afterAll(async () => {
  for (const { child, exited } of running) {
    if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGTERM')
    await exited
  }
  await browser?.close()
  for (const dir of [project, packs]) if (dir) rmSync(dir, { recursive: true, force: true })
})

/** What the last collector started printed. */
let banner = ''

/** Starts `npx vigil-collector …` in the project; resolves with its URL. */
function startCollector(args: string[]): Promise<string> {
  const child = spawn('npx', ['vigil-collector', ...args, '--port', '0', '--data-dir', join(project, 'data')], { cwd: project, detached: true, env: { ...process.env, VIGIL_LOG_LEVEL: 'warn' } })
  running.push({ child, exited: new Promise((resolve) => child.once('exit', () => resolve())) })
  let out = ''
  return new Promise((ok, fail) => {
    const onData = (d: Buffer) => {
      out += d.toString()
      banner = out
      const m = /Vigil collector on (http:\/\/\S+)/.exec(out)
      if (m) ok(m[1]!)
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.once('exit', (code) => fail(new Error(`vigil-collector exited with ${code}: ${out}`)))
  })
}

describe('the packed packages, installed into an empty project', () => {
  it('import and require, without browser globals, with types for both', () => {
    const esm = `
      const sdk = await import('@vigil-risk/sdk'); const react = await import('@vigil-risk/sdk/react')
      const verify = await import('@vigil-risk/verify'); const collector = await import('@vigil-risk/collector')
      console.log(JSON.stringify([Object.keys(sdk).sort(), Object.keys(react).sort(), typeof verify.verifyToken, typeof collector.startServer]))`
    const cjs = `
      const sdk = require('@vigil-risk/sdk'); const react = require('@vigil-risk/sdk/react'); const verify = require('@vigil-risk/verify')
      console.log(JSON.stringify([Object.keys(sdk).sort(), Object.keys(react).sort(), typeof verify.verifyToken, typeof verify.remoteJwks]))`
    writeFileSync(join(project, 'esm.mjs'), esm)
    writeFileSync(join(project, 'cjs.cjs'), cjs)
    expect(JSON.parse(run(process.execPath, ['esm.mjs'], project).stdout)).toEqual([['VigilError', 'init', 'version'], ['VigilError', 'VigilProvider', 'useVigil'], 'function', 'function'])
    expect(JSON.parse(run(process.execPath, ['cjs.cjs'], project).stdout)).toEqual([['VigilError', 'init', 'version'], ['VigilError', 'VigilProvider', 'useVigil'], 'function', 'function'])

    // TypeScript in node16 resolution picks .d.ts for import and .d.cts for require.
    writeFileSync(
      join(project, 'types.mts'),
      `import { init, type VigilClient } from '@vigil-risk/sdk'\nimport { verifyToken, type VerifiedToken } from '@vigil-risk/verify'\nimport { useVigil } from '@vigil-risk/sdk/react'\nexport const c: VigilClient = init({ siteKey: 'demo' })\nexport const v: Promise<VerifiedToken> = verifyToken('t', { secret: 's', siteKey: 'demo', jwks: { keys: [] }, action: 'checkout', hostname: null })\nexport const u: () => { ready: boolean } = useVigil\n`,
    )
    writeFileSync(join(project, 'types.cts'), `import sdk = require('@vigil-risk/sdk')\nimport verify = require('@vigil-risk/verify')\nexport const c: sdk.VigilClient = sdk.init({ siteKey: 'demo' })\nexport const code: verify.TokenErrorCode = 'test_token'\n`)
    const compilerOptions = { module: 'node16', moduleResolution: 'node16', strict: true, noEmit: true, skipLibCheck: false }
    // A page's project (DOM, no Node types), and a Node backend's (Node types, no DOM): the
    // verifier's declarations need neither.
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions: { ...compilerOptions, lib: ['ES2022', 'DOM'], types: [] }, files: ['types.mts', 'types.cts'] }))
    writeFileSync(join(project, 'backend.mts'), `import { verifyToken, remoteJwks } from '@vigil-risk/verify'\nexport const v = verifyToken('t', { secret: 's', siteKey: 'demo', jwks: remoteJwks('https://c.example/jwks'), action: 'checkout', hostname: null })\n`)
    writeFileSync(join(project, 'backend.cts'), `import verify = require('@vigil-risk/verify')\nexport const hash: string = verify.accountHash('ann@example.com', 'salt')\n`)
    writeFileSync(join(project, 'tsconfig.node.json'), JSON.stringify({ compilerOptions: { ...compilerOptions, lib: ['ES2022'], types: ['node'] }, files: ['backend.mts', 'backend.cts'] }))
    for (const config of ['tsconfig.json', 'tsconfig.node.json']) {
      const tsc = run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', config], project)
      expect(tsc.stdout + tsc.stderr, config).toBe('')
      expect(tsc.status).toBe(0)
    }
  })

  it('the collector: npx vigil-collector --help, then it starts and serves the dashboard and the SDK', async () => {
    const help = run('npx', ['vigil-collector', '--help'], project)
    expect(help.status, help.stderr).toBe(0)
    expect(help.stdout).toMatch(/^usage: vigil-collector/)
    const url = await startCollector(['--demo'])
    const dashboard = await fetch(`${url}/dashboard/`)
    expect(dashboard.status).toBe(200)
    expect(await dashboard.text()).toContain('Vigil · risk dashboard')
    expect((await fetch(`${url}/dashboard/vendor/chart.umd.js`)).status).toBe(200)
    expect((await fetch(`${url}/sdk/vigil.min.js`)).status).toBe(200)
    expect(((await (await fetch(`${url}/.well-known/jwks.json`)).json()) as { keys: unknown[] }).keys).toHaveLength(1)
  })

  it("the README's steps: a page bundled with esbuild and with Vite gets a token the backend verifies", async () => {
    expect(STEPS).toMatch(/^npx vigil-collector --demo/m)
    // With a scoring thread: its module is found in the installed package, not only in the repository's build.
    const collector = await startCollector(['--demo', '--scoring-threads', '1'])
    expect(banner).toContain('scoring threads: 1)')
    const app = join(project, 'app')
    mkdirSync(app, { recursive: true })
    const local = (code: string) => code.split('http://127.0.0.1:8080').join(collector)
    writeFileSync(join(app, 'page.js'), local(PAGE!))
    writeFileSync(join(project, 'backend.mjs'), local(BACKEND!))
    writeFileSync(join(app, 'index.html'), '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><button id="checkout">Checkout</button><p id="result"></p><script type="module" src="./page.js"></script>')

    await esbuild({ entryPoints: [join(app, 'page.js')], bundle: true, splitting: true, format: 'esm', outdir: join(project, 'out-esbuild'), absWorkingDir: project, logLevel: 'silent' })
    writeFileSync(join(project, 'out-esbuild', 'index.html'), readFileSync(join(app, 'index.html'), 'utf8'))
    await vite({ root: app, logLevel: 'silent', configFile: false, build: { outDir: join(project, 'out-vite'), emptyOutDir: true } })
    // Both split off the SDK's lazy chunks.
    for (const out of ['out-esbuild', join('out-vite', 'assets')]) expect(readdirSync(join(project, out)).filter((f) => f.endsWith('.js')).length, out).toBeGreaterThan(1)

    // The backend: the README's module behind /api/checkout, beside the built page.
    const { checkVigil } = (await import(join(project, 'backend.mjs'))) as { checkVigil: (token: string) => Promise<string> }
    for (const out of ['out-esbuild', 'out-vite']) {
      const server = await serve(join(project, out), checkVigil)
      try {
        const page = await browser.newPage()
        const errors: string[] = []
        page.on('pageerror', (e) => errors.push(String(e)))
        await page.goto(`${server.url}/index.html`)
        await page.click('#checkout')
        await page.waitForFunction(() => document.querySelector('#result')!.textContent !== '')
        expect(await page.textContent('#result'), out).toMatch(/^(allow|review|deny)$/)
        expect(server.verified, out).toHaveLength(1)
        expect(errors).toEqual([])
        await page.close()
      } finally {
        await server.close()
      }
    }
  })
})

/** A static server for a built page, and the shop's POST /api/checkout calling the README's backend. */
async function serve(dir: string, checkVigil: (token: string) => Promise<string>): Promise<{ url: string; verified: string[]; close(): Promise<void> }> {
  const verified: string[] = []
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname
    if (req.method === 'POST' && path === '/api/checkout') {
      let body = ''
      req.on('data', (d: Buffer) => (body += d.toString()))
      req.on('end', () => {
        checkVigil((JSON.parse(body) as { token: string }).token).then(
          (verdict) => {
            verified.push(verdict)
            res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ verdict }))
          },
          (err: unknown) => res.writeHead(403, { 'content-type': 'application/json' }).end(JSON.stringify({ verdict: `refused: ${String(err)}` })),
        )
      })
      return
    }
    const file = join(dir, path)
    if (!file.startsWith(dir) || !existsSync(file)) return void res.writeHead(404).end()
    res.writeHead(200, { 'content-type': path.endsWith('.html') ? 'text/html' : 'text/javascript' }).end(readFileSync(file))
  })
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, verified, close: () => new Promise((ok) => server.close(() => ok())) }
}

/**
 * Every fenced code block in README.md and docs/ runs here, as written, against a real
 * collector (https://collector.example points at it), in Node, Python, Chromium or a shell.
 * A block says how in its info string:
 *   run=<runner>     executed below (node, browser, csp, bundle, react, python, http, output, sql, sites, cli, quickstart, feed, attest, nginx,
 *                    merchant, playwright; published: test/e2e/packages.test.ts runs these from packed tarballs)
 *   covered=<file>   another test runs it; that file must name what the block runs
 *   norun="<why>"    cannot run here (Kotlin, Swift, a directory listing); the reason is printed
 * A block with none of these fails the test, so a new snippet cannot slip in untested.
 * Verification snippets run twice: with a genuine token (must succeed) and a forged one
 * (must not), so a snippet that checks nothing fails.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { connect, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { randomBytes } from 'node:crypto'
import Database from 'better-sqlite3'
import { Redis } from 'ioredis'
import { build } from 'esbuild'
import type { Browser } from 'playwright-core'
import { CHROMIUM_FLAGS, findChromium, launchChromium } from '../support/browser'
import { TEST_SECRET } from '../../collector-server/src/config/test-keys'
import { startTestCollector, type TestCollector } from '../support/collector'
import { startRedis, type RedisServer } from '../support/redis'
import { connectCluster, startRedisCluster, type RedisClusterHandle } from '../support/redis-cluster'
import { TestDevice } from '../support/device'
import { DEMO_SITE, generateSecret, loadSites, type CredentialRole } from '../../collector-server/src/config/sites'
import { testSecret } from '../support/app'
import { REASON_CODES } from '@vigil-risk/core/protocol/reasons'
import { REASON_WEIGHTS, TRUST_WEIGHTS } from '../../collector-server/src/risk/engine'
import { EVIDENCE_KINDS } from '@vigil-risk/core/protocol/evidence'
import { accountHash, remoteJwks, verifyToken, type VerifiedToken } from '../../verify/src/index'
import { inOneRateWindow } from '../support/rate-window'
import { freePort } from '../support/ports'

const ROOT = resolve('.')
/**
 * A page here does the work a first-time device does (17 bits), as a shopper's would, and
 * no more. By default a network that asks for many challenges, or earns denies, gets 2 bits
 * more each: this file's pages all come from 127.0.0.1, headless (denied), so late cases
 * were asked for 19–21 bits, seconds of work with a long tail on a loaded machine, and a
 * snippet could time out. Escalation has its own test (collector-server/test/proof.test.ts).
 */
const STEADY_WORK = { busy: 0, bad: 0 }
/** The shop's three credentials, as `vigil-collector sites add` would generate them. */
const SHOP_SECRETS = { seal: testSecret('seal-shop'), siteverify: testSecret('siteverify-shop'), dashboard: testSecret('dashboard-shop') }
const SHOP = {
  siteKey: 'shop',
  secrets: { seal: [SHOP_SECRETS.seal], siteverify: [SHOP_SECRETS.siteverify], dashboard: [SHOP_SECRETS.dashboard] },
  origins: ['https://shop.example', 'http://127.0.0.1:*'],
  policy: { proofOfWork: STEADY_WORK },
}
const DEMO = { ...DEMO_SITE, policy: { proofOfWork: STEADY_WORK } }
const RUNNERS = ['node', 'browser', 'csp', 'bundle', 'react', 'python', 'http', 'output', 'sql', 'sites', 'cli', 'quickstart', 'feed', 'attest', 'nginx', 'merchant', 'playwright', 'published'] as const

interface Block {
  file: string
  line: number
  lang: string
  attrs: Record<string, string>
  code: string
}

function parseBlocks(file: string): Block[] {
  const blocks: Block[] = []
  const lines = readFileSync(file, 'utf8').split('\n')
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*(.*)$/.exec(lines[i]!)
    if (!open) continue
    const attrs: Record<string, string> = {}
    for (const m of open[2]!.matchAll(/(\w+)=(?:"([^"]*)"|(\S+))/g)) attrs[m[1]!] = m[2] ?? m[3]!
    const start = i
    const body: string[] = []
    while (++i < lines.length && !/^```\s*$/.test(lines[i]!)) body.push(lines[i]!)
    blocks.push({ file, line: start + 1, lang: open[1]!, attrs, code: body.join('\n') })
  }
  return blocks
}

/** The guides, and the READMEs npm shows for each published package. */
const DOCS = ['README.md', 'sdk/README.md', 'verify/README.md', 'collector-server/README.md', ...readdirSync('docs').filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)]
const BLOCKS = DOCS.flatMap(parseBlocks)
const runs = (runner: string) => BLOCKS.filter((b) => b.attrs['run'] === runner)
const where = (b: Block) => `${b.file}:${b.line}`

let collector: TestCollector
/** The shop's public account salt (from a challenge, as the SDK gets it). */
let shopSalt: string
let browser: Browser
let scratch: string
let pages: PageServer

beforeAll(async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'vigil-docs-'))
  writeFileSync(join(dataDir, 'sites.json'), JSON.stringify({ sites: [DEMO, SHOP] }))
  collector = await startTestCollector({ dataDir })
  shopSalt = ((await (await fetch(`${collector.url}/v1/challenge?siteKey=shop`)).json()) as { accountSalt: string }).accountSalt
  // Inside the package, so that `import 'vigil/verify'` resolves as it does for a user.
  scratch = join(ROOT, '.scratch', `docs-${randomBytes(4).toString('hex')}`)
  mkdirSync(scratch, { recursive: true })
  browser = await launchChromium()
  pages = await startPageServer()
})
afterAll(async () => {
  await browser?.close()
  await pages?.close()
  await collector?.close()
  if (scratch) rmSync(scratch, { recursive: true, force: true })
})

/** A token for the `shop` site, minted as a page on https://shop.example would get it. */
async function mintToken(action: string, account?: string): Promise<string> {
  const headers = { 'content-type': 'application/json', origin: 'https://shop.example' }
  const { challenge, accountSalt } = (await (await fetch(`${collector.url}/v1/challenge?siteKey=shop`, { headers })).json()) as { challenge: string; accountSalt: string }
  const device = new TestDevice()
  const overrides = { siteKey: 'shop', action, hostname: 'shop.example', ...(account ? { account: accountHash(account, accountSalt) } : {}) }
  const res = await fetch(`${collector.url}/v1/collect`, { method: 'POST', headers, body: JSON.stringify(device.body(challenge, overrides)) })
  expect(res.status).toBe(200)
  return ((await res.json()) as { token: string }).token
}

/** The same token with one ciphertext character changed: what a forger holds. */
function forge(token: string): string {
  const parts = token.split('.')
  const c = parts[3]!
  parts[3] = c.slice(0, 10) + (c[10] === 'A' ? 'B' : 'A') + c.slice(11)
  return parts.join('.')
}

const substitute = (code: string, extra: Record<string, string> = {}): string =>
  Object.entries({ 'https://collector.example': collector.url, ...extra }).reduce((s, [from, to]) => s.split(from).join(to), code)

interface Ran {
  status: number | null
  stdout: string
  stderr: string
}

function runFile(command: string, args: string[], env: Record<string, string> = {}, cwd = ROOT, timeoutMs = 30_000): Promise<Ran> {
  return new Promise((done) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, VIGIL_LOG_LEVEL: 'warn', ...env } })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('exit', (status) => {
      clearTimeout(timer)
      done({ status, stdout, stderr })
    })
  })
}

const NODE_PRELUDE = `const token = process.env.DOC_TOKEN
const secret = process.env.VIGIL_SEAL_SECRET
const SEAL_SECRET = secret
const siteKey = 'shop'
`

describe('every code block in the docs', () => {
  it('says how it is exercised', () => {
    const unmarked = BLOCKS.filter((b) => !b.attrs['run'] && !b.attrs['covered'] && !('norun' in b.attrs))
    expect(unmarked.map(where), 'add run=…, covered=… or norun="why" to these blocks').toEqual([])
    expect(BLOCKS.filter((b) => b.attrs['run'] && !(RUNNERS as readonly string[]).includes(b.attrs['run'])).map(where)).toEqual([])
    for (const b of BLOCKS.filter((x) => 'norun' in x.attrs)) {
      expect(b.attrs['norun']!.length, `${where(b)} needs a reason`).toBeGreaterThan(10)
      console.log(`not run: ${where(b)} (${b.lang}): ${b.attrs['norun']}`)
    }
    expect(BLOCKS.length).toBeGreaterThanOrEqual(20)
  })

  it('covered blocks are run by the test they name', () => {
    for (const b of BLOCKS.filter((x) => x.attrs['covered'])) {
      const file = b.attrs['covered']!
      expect(existsSync(file), where(b)).toBe(true)
      const scripts = [...b.code.matchAll(/npm run(?: -s)? ([\w:]+)/g)].map((m) => m[1]!)
      expect(scripts.length, where(b)).toBeGreaterThan(0)
      for (const s of scripts) expect(readFileSync(file, 'utf8'), `${file} runs ${s}`).toContain(s)
    }
  })

  it.each(runs('node').map((b) => [where(b), b] as const))('node: %s verifies a genuine token and refuses a forged one', async (_, block) => {
    const file = join(scratch, `snippet-${block.line}-${block.file.replace(/\W/g, '_')}.mjs`)
    writeFileSync(file, NODE_PRELUDE + substitute(block.code))
    const token = await mintToken('checkout', /account: 'ann@example.com'|account: expected.account/.test(block.code) ? 'ann@example.com' : undefined)
    const env = { VIGIL_SEAL_SECRET: SHOP_SECRETS.seal }
    const good = await runFile(process.execPath, [file], { ...env, DOC_TOKEN: token })
    expect(good.stderr).toBe('')
    expect(good.status, good.stderr).toBe(0)
    expect(good.stdout).toMatch(/allow|review|deny|proceed|step-up|reject/)
    const bad = await runFile(process.execPath, [file], { ...env, DOC_TOKEN: forge(token) })
    expect(bad.status !== 0 || bad.stdout !== good.stdout, `${where(block)} accepted a forged token: ${bad.stdout}`).toBe(true)
    if (bad.status === 0) expect(bad.stdout).toMatch(/reject|deny/)
  })

  it.each(runs('python').map((b) => [where(b), b] as const))('python: %s verifies a genuine token and refuses a forged one', async (_, block) => {
    const python = ['python3', '/usr/bin/python3'].find((py) => spawnSync(py, ['-c', 'import jwcrypto, cryptography'], { stdio: 'ignore' }).status === 0)
    if (!python) {
      console.warn(`skipped ${where(block)}: no Python with jwcrypto (apt-get install python3-jwcrypto, or pip install jwcrypto)`)
      return
    }
    const prelude = [
      'import os, urllib.request',
      'token = os.environ["DOC_TOKEN"]',
      'secret = os.environ["VIGIL_SEAL_SECRET"]',
      'site_key = "shop"',
      `jwks_json = urllib.request.urlopen("${collector.url}/.well-known/jwks.json").read().decode()`,
      '',
    ].join('\n')
    const file = join(scratch, `snippet-${block.line}.py`)
    writeFileSync(file, prelude + substitute(block.code))
    const token = await mintToken('checkout')
    const env = { VIGIL_SEAL_SECRET: SHOP_SECRETS.seal }
    const good = await runFile(python, [file], { ...env, DOC_TOKEN: token })
    expect(good.status, good.stderr).toBe(0)
    expect(good.stdout).toMatch(/^(allow|review|deny) \[/)
    const bad = await runFile(python, [file], { ...env, DOC_TOKEN: forge(token) })
    expect(bad.status).not.toBe(0)
  })

  it.each(runs('http').map((b) => [where(b), b] as const))('http: %s answers as the doc shows, and once', async (_, block) => {
    const [head, body] = block.code.split(/\n\s*\n/) as [string, string]
    const [requestLine, ...headerLines] = head.split('\n')
    const [method, path] = requestLine!.split(' ') as [string, string]
    const headers = Object.fromEntries(headerLines.map((h) => h.split(/:\s*/, 2) as [string, string]))
    const token = await mintToken('checkout', 'ann@example.com')
    const send = async () => (await fetch(`${collector.url}${path}`, { method, headers, body: body.replace('<siteverify secret>', SHOP_SECRETS.siteverify).replace('<token>', token) })).json()
    const answer = (await send()) as Record<string, unknown>
    expect(answer['success']).toBe(true)
    const shown = BLOCKS.find((b) => b.file === block.file && b.attrs['run'] === 'output' && b.line > block.line)!
    const doc = JSON.parse(shown.code) as Record<string, unknown>
    // Same fields as the doc shows, with the same types, nested objects included.
    // (The behaviour scores are null here, as for any token without pointer behaviour.)
    const shape = (o: unknown): unknown =>
      o === null ? 'number' : o && typeof o === 'object' && !Array.isArray(o) ? Object.fromEntries(Object.entries(o).map(([k, v]) => [k, shape(v)]).sort()) : typeof o
    expect(shape(answer)).toEqual(shape(doc))
    expect(await send()).toEqual({ success: false, errorCodes: ['already_redeemed'] })
  })

  it.each(runs('sites').map((b) => [where(b), b] as const))('sites: %s is a sites.json the collector accepts', (_, block) => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-docs-sites-'))
    // The placeholders stand for generated secrets, and are themselves refused.
    const placeholders = /"(seal|siteverify|dashboard)_<[a-z]+>"/g
    writeFileSync(join(dir, 'sites.json'), block.code)
    if (/_<[a-z]+>"/.test(block.code)) expect(() => loadSites(dir)).toThrow(/weak/)
    writeFileSync(join(dir, 'sites.json'), block.code.replace(placeholders, (_, role: string) => JSON.stringify(generateSecret(role as CredentialRole))))
    const sites = loadSites(dir)
    const keys = (JSON.parse(block.code) as { sites: Array<{ siteKey: string }> }).sites.map((s) => s.siteKey)
    for (const key of keys) expect(sites.get(key)?.siteKey).toBe(key)
    rmSync(dir, { recursive: true, force: true })
  })

  it.each(runs('sql').map((b) => [where(b), b] as const))('sql: %s runs against a live collector database', async (_, block) => {
    const token = await mintToken('checkout', 'ann@example.com')
    await mintToken('login', 'bob@example.com')
    const { jti } = await verifyToken(token, { secret: SHOP_SECRETS.seal, siteKey: 'shop', jwks: remoteJwks(`${collector.url}/.well-known/jwks.json`), action: 'checkout', hostname: 'shop.example' })
    const db = new Database(join(collector.dataDir, 'vigil.db'), { readonly: true })
    try {
      const statements = block.code
        .split('\n')
        .filter((l) => !l.trim().startsWith('--'))
        .join('\n')
        .split(';')
        .map((s) => s.trim())
        .filter(Boolean)
      expect(statements.length).toBeGreaterThanOrEqual(3)
      for (const sql of statements) {
        const rows = db.prepare(sql.replace("'the-jti'", `'${jti}'`)).all()
        expect(rows.length, sql).toBeGreaterThan(0)
      }
    } finally {
      db.close()
    }
  })

  it.each(runs('browser').map((b) => [where(b), b] as const))('browser: %s gets a token the backend verifies', async (_, block) => {
    pages.html = `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>docs</title></head><body><button id="checkout">Checkout</button>\n${substitute(block.code)}\n</body></html>`
    const page = await browser.newPage()
    const errors: string[] = []
    page.on('pageerror', (e) => errors.push(String(e)))
    page.on('console', (m) => m.type() === 'error' && errors.push(`console: ${m.text()}`))
    await page.goto(pages.url)
    await page.waitForFunction(() => 'Vigil' in window)
    const received = pages.next('checkout')
    await page.click('#checkout')
    const v = await received
    expect(v).toMatchObject({ action: 'checkout', hostname: '127.0.0.1', account: accountHash('ann@example.com', shopSalt) })
    expect(errors).toEqual([])
    await page.close()
  })

  it.each(runs('csp').map((b) => [where(b), b] as const))('csp: %s gets a verified token under its policy, pinned by SRI, with no violation', async (_, block) => {
    const sri = JSON.parse(readFileSync('dist/browser/sri.json', 'utf8')) as { version: string; files: Record<string, string> }
    const hashes: Record<string, string> = { VIGIL: 'vigil.min.js', NACL: 'vigil-nacl.mjs', CLASSIFIER: 'vigil-classifier.mjs', COMMON: 'vigil-common.mjs' }
    const fill = (code: string, tamper?: string) =>
      Object.entries(hashes).reduce((c, [placeholder, file]) => c.split(`sha384-${placeholder}`).join(placeholder === tamper ? `sha384-${'A'.repeat(64)}` : sri.files[file]!), substitute(code).replace(/\/sdk\/\d+\.\d+\.\d+\//g, `/sdk/${sri.version}/`))
    const policy = /^<!-- Content-Security-Policy: (.+) -->/.exec(block.code)?.[1]
    expect(policy, 'the block opens with the policy it is served with').toBeDefined()
    for (const file of Object.values(hashes)) expect(sri.files[file], file).toMatch(/^sha384-/)
    const run = async (tamper?: string, editPolicy = (p: string) => p) => {
      pages.html = `<!doctype html><html><head><meta charset="utf-8"><title>csp</title></head><body><button id="checkout">Checkout</button>\n${fill(block.code, tamper)}\n</body></html>`
      pages.headers = { 'content-security-policy': editPolicy(substitute(policy!)) }
      // Without WebCrypto Ed25519, so that the tweetnacl chunk has to load too.
      const context = await browser.newContext()
      await context.addInitScript(`SubtleCrypto.prototype.generateKey = () => Promise.reject(new DOMException('no', 'NotSupportedError'))
        window.__csp = []; document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(e.effectiveDirective + ' ' + e.blockedURI))`)
      const page = await context.newPage()
      const problems: string[] = []
      page.on('pageerror', (e) => problems.push(String(e)))
      page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`))
      await page.goto(pages.url)
      return { page, context, problems }
    }
    try {
      const { page, context, problems } = await run()
      const started = page.waitForEvent('worker') // the SDK's blob: worker, allowed by worker-src
      await page.waitForFunction(() => 'Vigil' in window)
      const received = pages.next('checkout')
      await page.click('#checkout')
      expect(await received).toMatchObject({ action: 'checkout', hostname: '127.0.0.1' })
      await page.waitForFunction(() => performance.getEntriesByName('vigil:classifier').length > 0)
      await started
      expect(await page.evaluate(() => (window as unknown as { __csp: string[] }).__csp)).toEqual([])
      expect(problems).toEqual([])
      await context.close()

      // The hashes are checked: a tampered script does not run, a tampered chunk is not loaded.
      const blocked = await run('VIGIL')
      await blocked.page.waitForFunction(() => document.readyState === 'complete')
      expect(await blocked.page.evaluate(() => 'Vigil' in window)).toBe(false)
      await blocked.context.close()
      const chunk = await run('CLASSIFIER')
      await chunk.page.waitForFunction(() => 'Vigil' in window)
      const again = pages.next('checkout')
      await chunk.page.click('#checkout')
      expect(await again).toMatchObject({ action: 'checkout' }) // the SDK works on without its classifier
      await expect.poll(() => chunk.problems.join('\n'), { timeout: 15_000 }).toMatch(/integrity/i)
      expect(await chunk.page.evaluate(() => performance.getEntriesByName('vigil:classifier').length)).toBe(0)
      await chunk.context.close()

      // What the table says of worker-src. Under a host-based script-src (no 'strict-dynamic')
      // and no worker-src, the blob: worker is refused, and the SDK gets its token without it.
      const hostBased = await run(undefined, (p) => p.replace(/'nonce-r4nd0m' 'strict-dynamic'/, `'nonce-r4nd0m' ${collector.url}`).replace(/; worker-src [^;]+/, ''))
      const workers: unknown[] = []
      hostBased.page.on('worker', (w) => workers.push(w))
      await hostBased.page.waitForFunction(() => 'Vigil' in window)
      const third = pages.next('checkout')
      await hostBased.page.click('#checkout')
      expect(await third).toMatchObject({ action: 'checkout' })
      // Both of the SDK's blob workers are refused (identity facts, proof of work), nothing else.
      await expect.poll(() => hostBased.page.evaluate(() => (window as unknown as { __csp: string[] }).__csp.length), { timeout: 15_000 }).toBeGreaterThan(0)
      const refused = await hostBased.page.evaluate(() => (window as unknown as { __csp: string[] }).__csp)
      expect(refused.every((v) => /^worker-src blob/.test(v)), refused.join(', ')).toBe(true)
      expect(workers).toHaveLength(0)
      await hostBased.context.close()
    } finally {
      pages.headers = {}
    }
  })

  /** The merchant backend of docs/testing.md, as a module file; run with the test key settings unless `env` says otherwise. */
  function writeMerchant(block: Block): string {
    const file = join(scratch, `merchant-${block.line}.mjs`)
    writeFileSync(file, substitute(block.code))
    return file
  }
  const CI_ENV = { VIGIL_SEAL_SECRET: TEST_SECRET, VIGIL_ACCEPT_TEST_TOKENS: 'yes' }

  /** A test key's token, as a page on a CI origin gets it. */
  async function mintTest(siteKey: string): Promise<string> {
    const origin = 'http://localhost:3000'
    const { challenge } = (await (await fetch(`${collector.url}/v1/challenge?siteKey=${siteKey}`, { headers: { origin } })).json()) as { challenge: string }
    const res = await fetch(`${collector.url}/v1/collect`, { method: 'POST', headers: { 'content-type': 'application/json', origin }, body: JSON.stringify(new TestDevice().body(challenge, { siteKey, hostname: 'localhost' })) })
    expect(res.status).toBe(200)
    return ((await res.json()) as { token: string }).token
  }

  it.each(runs('merchant').map((b) => [where(b), b] as const))('merchant: %s gives the test key\'s verdict in CI, and refuses test tokens without the CI setting', async (_, block) => {
    const backend = writeMerchant(block)
    const check = join(scratch, `merchant-check-${block.line}.mjs`)
    writeFileSync(check, `import { verdictFor } from ${JSON.stringify(backend)}\ntry { console.log(await verdictFor(process.env.DOC_TOKEN, 'checkout')) } catch (err) { console.log('refused', err.code); process.exit(3) }\n`)
    const run = async (siteKey: string, token: string, env: Record<string, string> = CI_ENV) => {
      const ran = await runFile(process.execPath, [check], { VIGIL_SITE_KEY: siteKey, SHOP_HOSTNAME: 'localhost', DOC_TOKEN: token, ...env })
      return `${ran.status} ${ran.stdout.trim()}`
    }
    const allow = await mintTest('test-allow')
    expect(await run('test-allow', allow)).toBe('0 allow')
    expect(await run('test-deny', await mintTest('test-deny'))).toBe('0 deny')
    expect(await run('test-allow', allow, { VIGIL_SEAL_SECRET: TEST_SECRET })).toBe('3 refused test_token') // production: no CI setting
    expect(await run('test-allow', forge(allow))).toMatch(/^3 refused (bad_seal|malformed)$/)
  })

  it.each(runs('playwright').map((b) => [where(b), b] as const))('playwright: %s passes against a shop on the test key, and fails where test tokens are refused', async (_, block) => {
    const merchant = BLOCKS.find((b) => b.file === block.file && b.attrs['run'] === 'merchant')
    expect(merchant, `${block.file} has the merchant backend the spec runs against`).toBeDefined()
    const dir = join(scratch, `playwright-${block.line}`)
    mkdirSync(dir, { recursive: true })
    const backend = writeMerchant(merchant!)
    // The merchant's app: a page with the SDK on VIGIL_SITE_KEY, and the doc's backend behind /api/checkout.
    writeFileSync(
      join(dir, 'shop.mjs'),
      `import { createServer } from 'node:http'
import { verdictFor } from ${JSON.stringify(backend)}
const collector = ${JSON.stringify(collector.url)}
const page = \`<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><button id="pay">Checkout</button><p id="status"></p>
<script src="\${collector}/sdk/vigil.min.js"></script>
<script>
  const vigil = Vigil.init({ endpoint: \${JSON.stringify(collector)}, siteKey: \${JSON.stringify(process.env.VIGIL_SITE_KEY)} })
  document.getElementById('pay').onclick = async () => {
    const token = await vigil.getToken('checkout')
    const res = await fetch('/api/checkout', { method: 'POST', body: JSON.stringify({ token }) })
    document.getElementById('status').textContent = (await res.json()).message
  }
</script>\`
const messages = { allow: 'Order placed', review: 'Confirm it is you', deny: 'Sorry, we cannot take this order' }
createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/') return res.writeHead(200, { 'content-type': 'text/html' }).end(page)
  let body = ''
  req.on('data', (d) => (body += d)).on('end', async () => {
    try {
      const verdict = await verdictFor(JSON.parse(body).token, 'checkout')
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ message: messages[verdict] }))
    } catch (err) {
      res.writeHead(403, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'refused: ' + err.code }))
    }
  })
}).listen(0, '127.0.0.1', function () { console.log('shop on http://127.0.0.1:' + this.address().port) })
`,
    )
    writeFileSync(join(dir, 'checkout.spec.ts'), block.code)
    const runSpec = async (env: Record<string, string>) => {
      const shop = spawn(process.execPath, [join(dir, 'shop.mjs')], { env: { ...process.env, VIGIL_SITE_KEY: 'test-allow', SHOP_HOSTNAME: '127.0.0.1', ...env } })
      try {
        const url = await new Promise<string>((ok, fail) => {
          shop.stdout.on('data', (d: Buffer) => {
            const m = /shop on (\S+)/.exec(d.toString())
            if (m) ok(m[1]!)
          })
          shop.once('exit', (code) => fail(new Error(`shop exited with ${code}`)))
        })
        writeFileSync(
          join(dir, 'playwright.config.mjs'),
          `export default { testDir: '.', outputDir: './results', workers: 1, reporter: 'line', expect: { timeout: 5000 }, use: { baseURL: ${JSON.stringify(url)}, browserName: 'chromium', launchOptions: { executablePath: ${JSON.stringify(findChromium().path)}, args: ${JSON.stringify(CHROMIUM_FLAGS)} } } }\n`,
        )
        return await runFile(join(ROOT, 'node_modules', '.bin', 'playwright'), ['test', '--config', join(dir, 'playwright.config.mjs')], {}, dir, 90_000)
      } finally {
        shop.kill()
      }
    }
    const ci = await runSpec(CI_ENV)
    expect(ci.status, ci.stdout + ci.stderr).toBe(0)
    expect(ci.stdout).toMatch(/1 passed/)
    const production = await runSpec({ VIGIL_SEAL_SECRET: TEST_SECRET })
    expect(production.status).not.toBe(0)
    // Playwright's page snapshot of the failure shows what the shop answered.
    const snapshots = readdirSync(join(dir, 'results'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('error-context.md'))
    expect(snapshots.map((f) => readFileSync(join(dir, 'results', f), 'utf8')).join('\n')).toMatch(/refused: test_token/)
  }, 180_000)

  it('published: the npm instructions are run, in order, by test/e2e/packages.test.ts', () => {
    const published = runs('published')
    expect(published.map((b) => b.file)).toEqual(['README.md', 'README.md', 'README.md'])
    expect(published.map((b) => b.lang)).toEqual(['sh', 'js', 'js'])
    expect(readFileSync('test/e2e/packages.test.ts', 'utf8')).toContain("b.attrs['run'] === 'published'")
  })

  it.each(runs('bundle').map((b) => [where(b), b] as const))('bundle: %s, bundled with esbuild, gets a token the backend verifies', async (_, block) => {
    const dir = join(scratch, `bundle-${block.line}`)
    mkdirSync(dir, { recursive: true })
    writeFileSync(join(dir, 'snippet.js'), substitute(block.code))
    const exported = /export async function (\w+)/.exec(block.code)![1]!
    writeFileSync(join(dir, 'entry.js'), `import { ${exported} } from './snippet.js'\nwindow.docResult = ${exported}('ann@example.com', 'not sent to Vigil').then((r) => JSON.stringify(r), (e) => 'error ' + e)\n`)
    await bundle(dir, 'entry.js')
    pages.html = `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"></head><body><script type="module" src="/bundle/${block.line}/entry.js"></script></body></html>`
    pages.bundleDir = join(dir, 'out')
    const page = await browser.newPage()
    const received = pages.next('login')
    await page.goto(pages.url)
    const outcome = page.waitForFunction(() => (window as unknown as { docResult?: Promise<string> }).docResult).then((h) => h.jsonValue())
    // A snippet that fails never reaches the backend: say why, rather than wait out the test's timeout.
    const failed = await Promise.race([received.then(() => null), outcome.then((r) => (r?.startsWith('error') ? r : null))])
    if (failed !== null) throw new Error(`the snippet failed before the backend got its token: ${failed}`)
    const v = await received
    expect(v).toMatchObject({ action: 'login', hostname: '127.0.0.1', account: accountHash('ann@example.com', shopSalt) })
    expect(await outcome).toMatch(/"outcome":"(allowed|step-up|blocked)"/)
    // The lazily loaded chunks were split out, not inlined.
    expect(readdirSync(join(dir, 'out')).filter((f) => f.endsWith('.js')).length).toBeGreaterThan(1)
    await page.close()
  })

  it.each(runs('react').map((b) => [where(b), b] as const))('react: %s renders, and its click gets a token the backend verifies', async (_, block) => {
    const dir = join(scratch, `react-${block.line}`)
    mkdirSync(dir, { recursive: true })
    writeFileSync(join(dir, 'snippet.jsx'), substitute(block.code))
    const component = /export function (\w+)/.exec(block.code)![1]!
    writeFileSync(
      join(dir, 'entry.jsx'),
      `import { createRoot } from 'react-dom/client'\nimport { ${component} } from './snippet.jsx'\ncreateRoot(document.getElementById('root')).render(<${component} account="ann@example.com" />)\n`,
    )
    await bundle(dir, 'entry.jsx')
    pages.html = `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"></head><body><div id="root"></div><script type="module" src="/bundle/${block.line}/entry.js"></script></body></html>`
    pages.bundleDir = join(dir, 'out')
    const page = await browser.newPage()
    const errors: string[] = []
    page.on('pageerror', (e) => errors.push(String(e)))
    await page.goto(pages.url)
    await page.waitForSelector('#root button')
    const received = pages.next('coupon/claim')
    await page.click('#root button')
    const v = await received
    expect(v).toMatchObject({ action: 'coupon/claim', hostname: '127.0.0.1', account: accountHash('ann@example.com', shopSalt) })
    await page.waitForFunction(() => /: (allowed|step-up|blocked)$/.test(document.querySelector('#root button')!.textContent ?? ''))
    expect(errors).toEqual([])
    await page.close()
  })

  it.each(runs('attest').map((b) => [where(b), b] as const))('attest: %s starts a collector with the verifier plugged in', async (_, block) => {
    // Google's decodeIntegrityToken needs Google credentials: a stand-in answers as it would.
    const prelude = `const decodeWithGoogle = async (_token: string) => ({ requestDetails: { requestHash: 'n' }, appIntegrity: { appRecognitionVerdict: 'PLAY_RECOGNIZED' } })\n`
    const file = join(scratch, `attest-${block.line}.ts`)
    writeFileSync(file, `${prelude}${block.code}\nconsole.log('started')\nprocess.exit(0)\n`)
    const cwd = mkdtempSync(join(tmpdir(), 'vigil-docs-attest-'))
    const ran = await runFile(join(ROOT, 'node_modules', '.bin', 'tsx'), [file], { PORT: '0' }, cwd)
    expect(ran.status, ran.stderr).toBe(0)
    expect(ran.stdout).toContain('started')
    expect(existsSync(join(cwd, 'data', 'sites.json'))).toBe(true)
    rmSync(cwd, { recursive: true, force: true })
  })

  describe('with Redis', () => {
    let redis: RedisServer
    /** Started by the first block that needs one (a Cluster is 6 processes and a few seconds). */
    let cluster: RedisClusterHandle | undefined
    const redisCluster = async (): Promise<RedisClusterHandle> => (cluster ??= await startRedisCluster())
    /** The docs' example seed nodes, replaced by the test cluster's. */
    const DOC_CLUSTER = 'redis+cluster://10.0.0.1:6379,10.0.0.2:6379,10.0.0.3:6379'
    beforeAll(async () => {
      redis = await startRedis()
    })
    afterAll(async () => {
      await redis?.stop()
      await cluster?.stop()
    })

    const feeds = runs('feed').flatMap((b) => (['redis', 'redis-cluster'] as const).map((kind) => [where(b), kind, b] as const))
    it.each(feeds)('feed: %s consumes the events a collector on %s appends, and claims a crashed consumer\'s', async (_, kind, block) => {
      const dataDir = mkdtempSync(join(tmpdir(), 'vigil-docs-feed-'))
      writeFileSync(join(dataDir, 'sites.json'), JSON.stringify({ sites: [DEMO] }))
      const store = kind === 'redis' ? redis.url : (await redisCluster()).url
      const onRedis = await startTestCollector({ dataDir, store })
      try {
        const collectOnce = async (): Promise<void> => {
          const { challenge } = (await (await fetch(`${onRedis.url}/v1/challenge?siteKey=demo`)).json()) as { challenge: string }
          const res = await fetch(`${onRedis.url}/v1/collect`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(new TestDevice().body(challenge)) })
          expect(res.status).toBe(200)
        }
        // A consumer that read two events and crashed before acknowledging them; then one new event.
        for (let i = 0; i < 2; i++) await collectOnce()
        const crashed = kind === 'redis' ? new Redis(redis.url) : await connectCluster(store)
        try {
          const read = (await crashed.xreadgroup('GROUP', 'risk', 'crashed-1', 'COUNT', 10, 'STREAMS', 'vigil:events', '>')) as Array<[string, unknown[]]>
          expect(read[0]![1]).toHaveLength(2)
        } finally {
          crashed.disconnect()
        }
        await collectOnce()
        // The doc's `handle` is the reader's risk backend: here it checks each event and stops after
        // three, which it gets only by claiming the crashed consumer's two (idle for 0 ms here).
        const prelude = `let handled = 0\nasync function handle(event) {\n  if (typeof event.id !== 'string' || !['allow', 'review', 'deny'].includes(event.verdict)) throw new Error('not an event: ' + JSON.stringify(event))\n  if (++handled === 3) { console.log('handled', handled); process.exit(0) }\n}\n`
        const code = substitute(block.code, { 'redis://redis:6379': redis.url, 'const CLAIM_AFTER_MS = 60_000': 'const CLAIM_AFTER_MS = 0' })
        expect(code).toContain('const CLAIM_AFTER_MS = 0')
        const file = join(scratch, `feed-${block.line}-${kind}.mjs`)
        const seed = new URL(store.replace('redis+cluster://', 'redis://').split(',')[0]!)
        // On the Cluster, the consumer connects as the doc says to: new Cluster([seed nodes]).
        const source = kind === 'redis' ? code : code.replace(`new Redis('${redis.url}')`, `new Cluster([{ host: '${seed.hostname}', port: ${seed.port} }])`).replace("import { Redis } from 'ioredis'", "import { Cluster } from 'ioredis'")
        if (kind === 'redis-cluster') expect(source).toMatch(/import \{ Cluster \} from 'ioredis'[\s\S]*new Cluster\(/)
        writeFileSync(file, prelude + source)
        const ran = await runFile(process.execPath, [file], {}, ROOT, 20_000)
        expect(ran.status, ran.stderr).toBe(0)
        expect(ran.stdout.trim()).toBe('handled 3')
      } finally {
        await onRedis.close()
      }
    })

    it.each(runs('cli').map((b) => [where(b), b] as const))('cli: %s, line by line', async (_, block) => {
      const dataDir = mkdtempSync(join(tmpdir(), 'vigil-docs-cli-'))
      let oldKid: string | undefined
      for (const raw of block.code.split('\n')) {
        const uncommented = raw.replace(/\s+#.*$/, '')
        const clusterUrl = uncommented.includes(DOC_CLUSTER) ? (await redisCluster()).url : DOC_CLUSTER
        const line = substitute(uncommented, { '/var/lib/vigil': dataDir, '--port 8080': '--port 0', 'redis://redis:6379': redis.url, [DOC_CLUSTER]: clusterUrl })
          .split('<old-kid>')
          .join(oldKid ?? '<old-kid>')
        if (!line.trim()) continue
        if (/ (keys|sites) /.test(line)) {
          // A line without --data-dir (the quick start's) must not touch the repository's ./data.
          const ran = spawnSync('sh', ['-c', line], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, VIGIL_DATA_DIR: dataDir } })
          expect(ran.status, `${line}\n${ran.stderr}`).toBe(0)
          if (/keys list/.test(line)) oldKid ??= ran.stdout.split(/\s+/)[0]
          if (/keys retire/.test(line)) expect(ran.stdout + ran.stderr).toContain(oldKid!)
          if (/sites (add|rotate)/.test(line)) expect(ran.stdout).toMatch(/(seal|siteverify|dashboard)_[A-Za-z0-9_-]{43}/)
          if (/sites list/.test(line)) expect(ran.stdout).not.toMatch(/_[A-Za-z0-9_-]{43}/)
        } else {
          const server = await startShell(line)
          expect(await (await fetch(`${server.url}/healthz`)).json()).toMatchObject({ status: 'ok', store: /redis(\+cluster)?:\/\//.test(line) ? 'redis' : 'sqlite' })
          await server.stop()
        }
      }
      rmSync(dataDir, { recursive: true, force: true })
    })
  })

  it.each(runs('quickstart').map((b) => [where(b), b] as const))('quickstart: %s serves the shop and the dashboard', async (_, block) => {
    // `npm install` and `npm test` are what CI does (.ci/run) before this test can run at all;
    // `npm start` runs here, on a free port and a fresh data directory.
    expect(block.code).toMatch(/npm install && npm start/)
    const dataDir = mkdtempSync(join(tmpdir(), 'vigil-docs-start-'))
    const server = await startShell('npm start', { PORT: '0', VIGIL_DATA_DIR: dataDir })
    try {
      expect(await (await fetch(`${server.url}/`)).text()).toContain('Vigil demo shop')
      expect(await (await fetch(`${server.url}/dashboard/`)).text()).toContain('Vigil · risk dashboard')
      expect((await fetch(`${server.url}/sdk/vigil.min.js`)).status).toBe(200)
    } finally {
      await server.stop()
      rmSync(dataDir, { recursive: true, force: true })
    }
  })

  it.each(runs('nginx').map((b) => [where(b), b] as const))('nginx: %s in front of a collector with --trust-proxy 1 ignores forged X-Forwarded-For', async (_, block) => {
    const nginx = ['/usr/sbin/nginx', 'nginx'].find((bin) => spawnSync(bin, ['-v'], { stdio: 'ignore' }).status === 0)
    if (!nginx) {
      console.warn(`skipped ${where(block)}: no nginx (apt-get install nginx)`)
      return
    }
    const dataDir = mkdtempSync(join(tmpdir(), 'vigil-docs-nginx-'))
    writeFileSync(join(dataDir, 'sites.json'), JSON.stringify({ sites: [{ ...DEMO, policy: { rateLimits: { ipPerMinute: 5 } } }] }))
    const behind = await startTestCollector({ dataDir, trustProxy: 1 })
    const dir = mkdtempSync(join(tmpdir(), 'vigil-nginx-'))
    const port = await freePort()
    const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((k) => `${k}_temp_path ${dir}/${k};`).join(' ')
    const snippet = substitute(block.code, { '127.0.0.1:8080': new URL(behind.url).host, 'listen 80;': `listen 127.0.0.1:${port};` })
    writeFileSync(
      join(dir, 'nginx.conf'),
      `${process.getuid?.() === 0 ? 'user root;\n' : ''}daemon off;\npid ${dir}/nginx.pid;\nerror_log ${dir}/error.log;\nevents {}\nhttp {\naccess_log off;\n${temp}\n${snippet}\n}\n`,
    )
    const child = spawn(nginx, ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'ignore' })
    const exited = new Promise<void>((r) => child.once('exit', () => r()))
    try {
      await waitForPort(port, exited)
      const statuses: number[] = []
      await inOneRateWindow()
      for (let i = 0; i < 20; i++) {
        // What a client behind nginx writes itself: a different address each time.
        const res = await fetch(`http://127.0.0.1:${port}/v1/challenge?siteKey=demo`, { headers: { 'x-forwarded-for': `198.51.100.${i}` } })
        statuses.push(res.status)
      }
      expect(statuses.filter((s) => s === 200)).toHaveLength(5)
      expect(statuses.slice(5).every((s) => s === 429)).toBe(true)
    } finally {
      child.kill('SIGTERM')
      await exited
      await behind.close()
      rmSync(dir, { recursive: true, force: true })
      rmSync(dataDir, { recursive: true, force: true })
    }
  })

  it('docs/reasons.md lists exactly the reason codes the collector uses, with their weights', () => {
    const rows = [...readFileSync('docs/reasons.md', 'utf8').matchAll(/^\| `(\w+)` \| ([\d.]+) \|/gm)].map((m) => [m[1]!, Number(m[2])] as const)
    expect(rows.map(([code]) => code).sort()).toEqual([...REASON_CODES].sort())
    for (const [code, weight] of rows) expect(weight, code).toBe(REASON_WEIGHTS[code as keyof typeof REASON_WEIGHTS])
  })

  it('docs/reasons.md lists every kind of evidence with the trust the engine gives it', () => {
    const rows = [...readFileSync('docs/reasons.md', 'utf8').matchAll(/^\| [^|`]+\(`(\w+)`\) \| ([\d.]+) \|/gm)].map((m) => [m[1]!, Number(m[2])] as const)
    expect(rows.map(([kind]) => kind).sort()).toEqual([...EVIDENCE_KINDS].sort())
    for (const [kind, trust] of rows) expect(trust, kind).toBe(TRUST_WEIGHTS[kind as keyof typeof TRUST_WEIGHTS])
  })
})

/** Resolves once something accepts connections on the port; rejects if `exited` settles first. */
async function waitForPort(port: number, exited: Promise<void>): Promise<void> {
  let gone = false
  void exited.then(() => (gone = true))
  for (;;) {
    if (gone) throw new Error(`nothing listens on ${port}: the process exited`)
    const open = await new Promise<boolean>((done) => {
      const socket = connect(port, '127.0.0.1')
      socket.once('connect', () => {
        socket.end()
        done(true)
      })
      socket.once('error', () => {
        socket.destroy()
        done(false)
      })
    })
    if (open) return
    await new Promise<void>((r) => setTimeout(r, 25)) // polls readiness; no result depends on it
  }
}

async function bundle(dir: string, entry: string): Promise<void> {
  await build({
    entryPoints: [join(dir, entry)],
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    outdir: join(dir, 'out'),
    jsx: 'automatic',
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'silent',
  })
}

interface PageServer {
  url: string
  html: string
  /** Extra response headers for the page (a Content-Security-Policy). */
  headers: Record<string, string>
  bundleDir: string
  /** Resolves with the next token the page posts to /api/<action>, verified as the shop's backend would. */
  next(action: string): Promise<VerifiedToken>
  close(): Promise<void>
}

/** The shop's own origin in the browser snippets: serves the page and verifies what it posts. */
async function startPageServer(): Promise<PageServer> {
  const waiting = new Map<string, { resolve: (v: VerifiedToken) => void; reject: (err: unknown) => void }>()
  const jwks = remoteJwks(`${collector.url}/.well-known/jwks.json`)
  const state: PageServer = {
    url: '',
    html: '',
    headers: {},
    bundleDir: '',
    next: (action) => new Promise((resolve, reject) => waiting.set(action, { resolve, reject })),
    close: () => new Promise((res) => server.close(() => res())),
  }
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x')
    if (req.method === 'GET' && url.pathname === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', ...state.headers }).end(state.html)
      return
    }
    if (req.method === 'GET' && url.pathname.startsWith('/bundle/')) {
      const file = join(state.bundleDir, url.pathname.split('/').pop()!)
      if (existsSync(file)) res.writeHead(200, { 'content-type': 'text/javascript' }).end(readFileSync(file))
      else res.writeHead(404).end()
      return
    }
    if (req.method === 'POST' && url.pathname.startsWith('/api/')) {
      const action = { '/api/checkout': 'checkout', '/api/login': 'login', '/api/coupon': 'coupon/claim' }[url.pathname]
      let raw = ''
      req.on('data', (d: Buffer) => (raw += d.toString()))
      req.on('end', () => {
        void (async () => {
          const body = JSON.parse(raw) as { token: string; account?: string; email?: string }
          const v = await verifyToken(body.token, { secret: SHOP_SECRETS.seal, siteKey: 'shop', jwks, action: action!, hostname: '127.0.0.1', account: body.account ?? body.email ?? 'ann@example.com' })
          waiting.get(action!)?.resolve(v)
          const outcome = { allow: 'allowed', review: 'step-up', deny: 'blocked' }[v.verdict]
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ outcome }))
        })().catch((err: unknown) => {
          waiting.get(action!)?.reject(err)
          res.writeHead(403, { 'content-type': 'application/json' }).end(JSON.stringify({ error: String(err) }))
        })
      })
      return
    }
    res.writeHead(404).end()
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
  return state
}

/** A shell command that starts a collector: resolves with its URL once it listens. */
function startShell(command: string, env: Record<string, string> = {}): Promise<{ url: string; stop(): Promise<void> }> {
  const child: ChildProcess = spawn('sh', ['-c', command], { cwd: ROOT, detached: true, env: { ...process.env, VIGIL_LOG_LEVEL: 'warn', ...env } })
  const exited = new Promise<void>((r) => child.once('exit', () => r()))
  let out = ''
  return new Promise((resolveStart, reject) => {
    const timer = setTimeout(() => {
      process.kill(-child.pid!, 'SIGKILL')
      reject(new Error(`${command} did not start: ${out}`))
    }, 60_000)
    const onData = (d: Buffer) => {
      out += d.toString()
      const m = /Vigil collector on (http:\/\/\S+)/.exec(out)
      if (!m) return
      clearTimeout(timer)
      resolveStart({
        url: m[1]!,
        async stop() {
          process.kill(-child.pid!, 'SIGTERM')
          await exited
        },
      })
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
    child.once('exit', (code) => reject(new Error(`${command} exited with ${code}: ${out}`)))
  })
}

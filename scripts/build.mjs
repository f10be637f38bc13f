// `node scripts/build.mjs` builds dist/ with rollup, then copies each published package's part
// into its own directory (sdk/dist, verify/dist, collector-server/dist: npm packs a package from
// its directory only); `ensureBuilt()` (npm start, prepack) builds only when dist/ is missing or
// older than its sources.
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { brotliCompressSync, gzipSync, constants } from 'node:zlib'
import { join } from 'node:path'
import { createHash } from 'node:crypto'
import { spawnSync } from 'node:child_process'

const SOURCES = ['core/src', 'sdk/src', 'collector-server/src', 'verify/src', 'collector-server/dashboard', 'model/artifacts', 'rollup.config.mjs', 'scripts/licenses.mjs', 'package.json', 'sdk/package.json', 'verify/package.json', 'collector-server/package.json']
const STAMP = 'dist/.build-stamp'

function newestMtime(path) {
  if (!existsSync(path)) return 0
  const st = statSync(path)
  if (!st.isDirectory()) return st.mtimeMs
  let newest = st.mtimeMs
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)))
  return newest
}

export function isStale() {
  if (!existsSync(STAMP)) return true
  const built = statSync(STAMP).mtimeMs
  return SOURCES.some((s) => newestMtime(s) > built)
}

/** The collector serves .br/.gz siblings as they are (no compression per request). */
function precompress(dir) {
  for (const name of readdirSync(dir)) {
    if (!/\.(m?js)$/.test(name)) continue
    const data = readFileSync(join(dir, name))
    writeFileSync(join(dir, `${name}.gz`), gzipSync(data, { level: 9 }))
    writeFileSync(join(dir, `${name}.br`), brotliCompressSync(data, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }))
  }
}

/** What each published package's dist/ holds, from the repository's dist/. */
export const PACKAGE_DIST = {
  sdk: { 'dist/sdk': 'sdk/dist', 'dist/browser': 'sdk/dist/browser' },
  verify: { 'dist/verify': 'verify/dist' },
  'collector-server': { 'dist/collector': 'collector-server/dist' },
}

/**
 * Copies dist/ into the package directories, each marked with the build it came from; a copy
 * already from this build is left alone (tests may be reading it while another packs).
 */
export function stagePackages() {
  const stamp = readFileSync(STAMP, 'utf8')
  for (const copies of Object.values(PACKAGE_DIST)) {
    const target = Object.values(copies)[0]
    const marker = join(target, '.build-stamp')
    if (existsSync(marker) && readFileSync(marker, 'utf8') === stamp) continue
    rmSync(target, { recursive: true, force: true })
    for (const [from, to] of Object.entries(copies)) cpSync(from, to, { recursive: true })
    writeFileSync(marker, stamp)
  }
}

/**
 * Subresource Integrity hashes of the browser build, for pages that pin the versioned URL
 * (docs/csp.md): written to dist/browser/sri.json, which the collector serves beside the SDK.
 */
function writeSri(dir, log) {
  const { version } = JSON.parse(readFileSync('sdk/package.json', 'utf8'))
  const files = {}
  for (const name of readdirSync(dir).filter((f) => /\.m?js$/.test(f)).sort()) {
    files[name] = `sha384-${createHash('sha384').update(readFileSync(join(dir, name))).digest('base64')}`
  }
  writeFileSync(join(dir, 'sri.json'), JSON.stringify({ version, files }, null, 2) + '\n')
  log(`SDK ${version}: versioned, immutable URLs (collector: /sdk/${version}/…) and their SRI hashes`)
  for (const [name, integrity] of Object.entries(files)) log(`  ${version}/${name.padEnd(34)} ${integrity}`)
}

/** Builds dist/; `quiet` sends what it prints to stderr (npm pack --json owns stdout). */
export function build({ quiet = false } = {}) {
  const log = quiet ? console.error : console.log
  rmSync('dist', { recursive: true, force: true })
  const result = spawnSync(process.execPath, ['node_modules/rollup/dist/bin/rollup', '-c', '--silent'], { stdio: ['inherit', quiet ? 'ignore' : 'inherit', 'inherit'] })
  if (result.status !== 0) process.exit(result.status ?? 1)
  precompress('dist/browser')
  writeSri('dist/browser', log)
  writeFileSync(STAMP, new Date().toISOString() + '\n')
  stagePackages()
}

export function ensureBuilt({ quiet = false } = {}) {
  if (!isStale()) return
  ;(quiet ? console.error : console.log)('Building Vigil (dist/ is missing or older than its sources)…')
  build({ quiet })
}

if (import.meta.url === `file://${process.argv[1]}`) build()

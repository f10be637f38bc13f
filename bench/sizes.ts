/**
 * What each SDK entry weighs, gzip -9, as a page downloads it: the IIFE script, the ESM
 * build bundled the way a site's bundler would (esbuild, minified, lazy chunks split
 * off), and the two lazy chunks. A missing build file is an error, never a skipped check.
 */
import { existsSync, readFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import { build } from 'esbuild'
import { BUDGETS } from './budgets'

export interface SizeEntry {
  name: string
  bytes: number
  budget: number
}

function gz(path: string): number {
  if (!existsSync(path)) throw new Error(`${path} is missing: run npm run build`)
  return gzipSync(readFileSync(path), { level: 9 }).length
}

/** The ESM build's entry chunk after a bundler has minified it (the lazy chunks split off). */
async function esmCore(): Promise<number> {
  if (!existsSync('dist/sdk/index.js')) throw new Error('dist/sdk/index.js is missing: run npm run build')
  const out = await build({
    stdin: { contents: "export { init } from './dist/sdk/index.js'", resolveDir: process.cwd() },
    bundle: true,
    splitting: true,
    format: 'esm',
    minify: true,
    write: false,
    outdir: 'esm-size',
    metafile: true,
    logLevel: 'silent',
  })
  // The chunk the entry imports statically is the core; the lazy chunks are only imported dynamically.
  const entry = Object.values(out.metafile.outputs).find((o) => o.entryPoint !== undefined)!
  const statics = new Set(entry.imports.filter((i) => i.kind === 'import-statement').map((i) => i.path))
  return out.outputFiles
    .filter((f) => statics.has(f.path.slice(process.cwd().length + 1)) || f.path.endsWith('/stdin.js'))
    .reduce((sum, f) => sum + gzipSync(f.contents, { level: 9 }).length, 0)
}

export async function sdkSizes(): Promise<SizeEntry[]> {
  return [
    { name: 'core IIFE (vigil.min.js)', bytes: gz('dist/browser/vigil.min.js'), budget: BUDGETS.coreGzipBytes },
    { name: 'core ESM, bundled and minified', bytes: await esmCore(), budget: BUDGETS.esmGzipBytes },
    { name: 'lazy tweetnacl chunk (only without WebCrypto Ed25519)', bytes: gz('dist/browser/vigil-nacl.mjs'), budget: BUDGETS.naclGzipBytes },
    { name: 'lazy classifier chunk incl. weights', bytes: gz('dist/browser/vigil-classifier.mjs'), budget: BUDGETS.classifierGzipBytes },
  ]
}

// Builds everything in dist/ (scripts/build.mjs then copies each package's part into its
// directory: sdk/dist, verify/dist, collector-server/dist):
//   dist/sdk/        the SDK as ES modules (index.js, react.js) and CommonJS (.cjs), lazy chunks
//                    separate, with .d.ts and .d.cts
//   dist/browser/    IIFE SDK `window.Vigil` (vigil.js, vigil.min.js) and its lazy ES module chunks
//   dist/verify/     the zero-dependency backend verifier, ESM and CommonJS, with types
//   dist/collector/  the collector server (index.js), its command line (main.js) and its
//                    trace scoring thread (scoring-worker.js)
import { readFileSync, existsSync } from 'node:fs'
import { rollup } from 'rollup'
import { builtinModules } from 'node:module'
import { resolve } from 'node:path'
import esbuild from 'rollup-plugin-esbuild'
import { nodeResolve } from '@rollup/plugin-node-resolve'
import commonjs from '@rollup/plugin-commonjs'
import terser from '@rollup/plugin-terser'
import json from '@rollup/plugin-json'
import { dts } from 'rollup-plugin-dts'
import { licenses } from './scripts/licenses.mjs'

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'))
const define = { __VIGIL_VERSION__: JSON.stringify(pkg.version) }
const ts = () => esbuild({ target: 'es2020', define, tsconfig: 'tsconfig.base.json' })

/** The IIFE cannot code-split: swap `x.ts` for `x.iife.ts` where one exists (lazy loaders, script URL). */
function iifeVariants() {
  return {
    name: 'vigil-iife-variants',
    async resolveId(source, importer, options) {
      if (!importer || !source.startsWith('.')) return null
      const resolved = await this.resolve(source, importer, { ...options, skipSelf: true })
      if (!resolved || resolved.external) return resolved
      const variant = resolved.id.replace(/\.ts$/, '.iife.ts')
      return variant !== resolved.id && existsSync(variant) ? variant : resolved
    },
  }
}

/**
 * tfjs-core and seedrandom carry Node-only `require()` calls (util, node-fetch, crypto) that
 * a browser never runs but every bundler tries to resolve: esbuild and webpack then fail on
 * our ESM build. Swap them for what the browser has, so dist/ holds no `require` at all.
 */
const TYPE_CHECKS = '{ isFloat32Array: (a) => a instanceof Float32Array, isInt32Array: (a) => a instanceof Int32Array, isUint8Array: (a) => a instanceof Uint8Array, isUint8ClampedArray: (a) => a instanceof Uint8ClampedArray }'
const NODE_REQUIRES = {
  "require('util')": `({ TextEncoder: globalThis.TextEncoder, TextDecoder: globalThis.TextDecoder, types: ${TYPE_CHECKS} })`,
  "require('node-fetch')": '((...args) => globalThis.fetch(...args))',
  "require('crypto')": 'undefined',
}
function browserOnlyRequires() {
  return {
    name: 'vigil-browser-only-requires',
    transform(code, id) {
      if (/node_modules[\\/]long[\\/]src[\\/]long\.js$/.test(id)) return withoutWasmProbe(code, id)
      if (!/node_modules[\\/](@tensorflow[\\/]tfjs-core|seedrandom)[\\/]/.test(id)) return null
      let out = code
      for (const [from, to] of Object.entries(NODE_REQUIRES)) out = out.split(from).join(to)
      return out === code ? null : { code: out, map: null }
    },
  }
}

/**
 * `long` (tfjs-core's 64-bit integers, which our classifier never uses) compiles a small
 * WebAssembly module when it loads, and falls back to plain JS when that fails. Under a
 * Content Security Policy without 'wasm-unsafe-eval' the attempt is a violation report on
 * every page (docs/csp.md): the build takes the fallback directly.
 */
function withoutWasmProbe(code, id) {
  const probe = /wasm = new WebAssembly\.Instance\(new WebAssembly\.Module\(new Uint8Array\(\[[\d,\s]*\]\)\), \{\}\)\.exports;/
  if (!probe.test(code)) throw new Error(`${id}: the WebAssembly probe to remove was not found (long changed?)`)
  return { code: code.replace(probe, 'wasm = null;'), map: null }
}

/**
 * `vigil:proof-worker`: the proof worker (sdk/src/proof/worker.ts), bundled and
 * minified on its own and inlined as a string. A worker must come from the page's own
 * origin, and the SDK is served from the collector's, so the SDK starts it from a blob URL.
 */
function proofWorker() {
  const ID = '\0vigil:proof-worker'
  let code
  return {
    name: 'vigil-proof-worker',
    resolveId: (source) => (source === 'vigil:proof-worker' ? ID : null),
    async load(id) {
      if (id !== ID) return null
      if (!code) {
        const bundle = await rollup({ input: 'sdk/src/proof/worker.ts', plugins: [nodeResolve({ browser: true }), ts()] })
        const { output } = await bundle.generate({ format: 'iife', plugins: [terser(terserOptions)] })
        await bundle.close()
        code = output[0].code
      }
      this.addWatchFile('sdk/src/proof/worker.ts')
      return `export default ${JSON.stringify(code)}`
    },
  }
}

/** Inside the repository, `vigil/verify` is its source (the collector imports it by the public name). */
const selfReference = () => ({
  name: 'vigil-self-reference',
  resolveId: (source) => (source === 'vigil/verify' ? resolve('verify/src/index.ts') : null),
})

// One instance for every build below: dist/licenses.json lists what all of them bundled.
const legal = licenses()
const sdkBanner = legal.banner(`Vigil SDK ${pkg.version}`)

const terserOptions = { ecma: 2020, module: false, compress: { passes: 2 }, format: { comments: false } }
const browserPlugins = (extra = []) => [legal.collect, ...extra, proofWorker(), browserOnlyRequires(), json({ compact: true, preferConst: true }), nodeResolve({ browser: true }), commonjs(), ts()]
/** The collector's runtime dependencies stay imports (npm installs them beside it); everything else is bundled. */
const collectorPkg = JSON.parse(readFileSync(new URL('./collector-server/package.json', import.meta.url), 'utf8'))
const nodeExternal = (id) =>
  builtinModules.includes(id) || id.startsWith('node:') || Object.keys(collectorPkg.dependencies ?? {}).some((d) => id === d || id.startsWith(d + '/'))
/** React is the React entry's peer dependency: the page brings its own. */
const reactExternal = (id) => id === 'react' || id.startsWith('react/')
/** Declaration files for ESM (.d.ts) and CommonJS (.d.cts) consumers: the same types under both names. */
const declarations = (dir, chunkDir = 'chunks/') => [
  { dir, format: 'es', entryFileNames: '[name].d.ts', chunkFileNames: `${chunkDir}[name]-[hash].d.ts` },
  { dir, format: 'es', entryFileNames: '[name].d.cts', chunkFileNames: `${chunkDir}[name]-[hash].d.cts` },
]
const sdkEntries = { index: 'sdk/src/index.ts', react: 'sdk/src/react.ts' }

export default [
  // SDK for bundlers and Node (server rendering): ES modules and CommonJS, lazy chunks kept
  // separate in both (CommonJS keeps import() for them), plus the React entry.
  {
    input: sdkEntries,
    external: reactExternal,
    output: [
      { dir: 'dist/sdk', format: 'es', entryFileNames: '[name].js', chunkFileNames: 'chunks/[name]-[hash].js', plugins: [sdkBanner] },
      { dir: 'dist/sdk', format: 'cjs', entryFileNames: '[name].cjs', chunkFileNames: 'chunks/[name]-[hash].cjs', plugins: [sdkBanner] },
    ],
    plugins: browserPlugins(),
  },
  // SDK as a classic script exposing window.Vigil.
  {
    input: 'sdk/src/index.ts',
    output: [
      { file: 'dist/browser/vigil.js', format: 'iife', name: 'Vigil', plugins: [sdkBanner] },
      { file: 'dist/browser/vigil.min.js', format: 'iife', name: 'Vigil', plugins: [terser(terserOptions), sdkBanner] },
    ],
    plugins: browserPlugins([iifeVariants()]),
  },
  // Lazy chunks the IIFE loads beside itself with import().
  {
    input: { 'vigil-nacl': 'sdk/src/keys/nacl.ts', 'vigil-classifier': 'sdk/src/classifier/chunk.ts' },
    output: { dir: 'dist/browser', format: 'es', entryFileNames: '[name].mjs', chunkFileNames: 'vigil-common.mjs', plugins: [terser({ ...terserOptions, module: true }), sdkBanner] },
    plugins: browserPlugins(),
  },
  // Backend verifier (core's protocol pieces are bundled in), as ES module and CommonJS.
  {
    input: 'verify/src/index.ts',
    output: [
      { file: 'dist/verify/index.js', format: 'es', plugins: [legal.banner(`Vigil verify ${pkg.version}`)] },
      { file: 'dist/verify/index.cjs', format: 'cjs', plugins: [legal.banner(`Vigil verify ${pkg.version}`)] },
    ],
    external: nodeExternal,
    plugins: [nodeResolve({ preferBuiltins: true }), ts()],
  },
  // The collector and its command line.
  {
    input: { index: 'collector-server/src/index.ts', main: 'collector-server/src/main.ts', 'scoring-worker': 'collector-server/src/scoring-worker.ts' },
    output: { dir: 'dist/collector', format: 'es', chunkFileNames: 'chunks/[name]-[hash].js', plugins: [legal.banner(`Vigil collector ${pkg.version}`)] },
    external: nodeExternal,
    plugins: [selfReference(), json({ compact: true, preferConst: true }), nodeResolve({ preferBuiltins: true }), ts(), legal.report('dist/licenses.json')],
  },
  // Type declarations: core's types are inlined (core is not published), dependencies stay imports.
  { input: sdkEntries, output: declarations('dist/sdk'), external: reactExternal, plugins: [dts({ respectExternal: true, tsconfig: 'tsconfig.base.json' })] },
  { input: { index: 'verify/src/index.ts' }, output: declarations('dist/verify'), external: nodeExternal, plugins: [dts({ respectExternal: true, tsconfig: 'tsconfig.base.json' })] },
  {
    input: 'collector-server/src/index.ts',
    output: { file: 'dist/collector/index.d.ts', format: 'es' },
    external: nodeExternal,
    plugins: [selfReference(), dts({ respectExternal: true, tsconfig: 'tsconfig.base.json' })],
  },
]

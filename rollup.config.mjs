// Builds everything in dist/:
//   dist/sdk/        ESM SDK (code-split: lazy chunks stay separate) + index.d.ts
//   dist/browser/    IIFE SDK `window.Vigil` (vigil.js, vigil.min.js) and its lazy ES module chunks
//   dist/verify/     `vigil/verify`, the zero-dependency backend verifier + index.d.ts
//   dist/collector/  the collector server (index.js) and its command line (main.js)
import { readFileSync, existsSync } from 'node:fs'
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
      if (!/node_modules[\\/](@tensorflow[\\/]tfjs-core|seedrandom)[\\/]/.test(id)) return null
      let out = code
      for (const [from, to] of Object.entries(NODE_REQUIRES)) out = out.split(from).join(to)
      return out === code ? null : { code: out, map: null }
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
const browserPlugins = (extra = []) => [legal.collect, ...extra, browserOnlyRequires(), json({ compact: true, preferConst: true }), nodeResolve({ browser: true }), commonjs(), ts()]
const nodeExternal = (id) =>
  builtinModules.includes(id) || id.startsWith('node:') || Object.keys(pkg.dependencies ?? {}).some((d) => id === d || id.startsWith(d + '/'))

export default [
  // SDK as ES modules, for bundlers; lazy chunks stay separate.
  {
    input: 'sdk/src/index.ts',
    output: { dir: 'dist/sdk', format: 'es', entryFileNames: 'index.js', chunkFileNames: 'chunks/[name]-[hash].js', plugins: [sdkBanner] },
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
    output: { dir: 'dist/browser', format: 'es', entryFileNames: '[name].mjs', plugins: [terser({ ...terserOptions, module: true }), sdkBanner, legal.report('dist/licenses.json')] },
    plugins: browserPlugins(),
  },
  // Backend verifier: node:crypto only (core's protocol pieces are bundled in).
  {
    input: 'verify/src/index.ts',
    output: { file: 'dist/verify/index.js', format: 'es', plugins: [legal.banner(`Vigil verify ${pkg.version}`)] },
    external: nodeExternal,
    plugins: [nodeResolve({ preferBuiltins: true }), ts()],
  },
  // The collector and its command line.
  {
    input: { index: 'collector-server/src/index.ts', main: 'collector-server/src/main.ts' },
    output: { dir: 'dist/collector', format: 'es', chunkFileNames: 'chunks/[name]-[hash].js', plugins: [legal.banner(`Vigil collector ${pkg.version}`)] },
    external: nodeExternal,
    plugins: [selfReference(), json({ compact: true, preferConst: true }), nodeResolve({ preferBuiltins: true }), ts()],
  },
  // Type declarations: core's types are inlined (core is not published), dependencies stay imports.
  ...[
    ['sdk/src/index.ts', 'dist/sdk/index.d.ts'],
    ['verify/src/index.ts', 'dist/verify/index.d.ts'],
    ['collector-server/src/index.ts', 'dist/collector/index.d.ts'],
  ].map(([input, file]) => ({ input, output: { file, format: 'es' }, external: nodeExternal, plugins: [selfReference(), dts({ respectExternal: true, tsconfig: 'tsconfig.base.json' })] })),
]

/** Bundle sizes (gzip -9), against FingerprintJS alone. */
import { readFileSync, existsSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import { BUDGETS } from '../budgets'
import type { SuiteResult } from '../run'

const gz = (path: string): number => gzipSync(readFileSync(path), { level: 9 }).length

export async function size(): Promise<SuiteResult> {
  const fpjs = gz('node_modules/@fingerprintjs/fingerprintjs/dist/fp.min.js')
  const core = gz('dist/browser/vigil.min.js')
  const nacl = gz('dist/browser/vigil-nacl.mjs')
  const rows = [
    { metric: 'FingerprintJS alone (fp.min.js), gzip', value: fpjs, unit: 'B', baseline: true },
    { metric: 'Vigil core IIFE (vigil.min.js), gzip', value: core, unit: 'B', ratio: core / fpjs, budget: BUDGETS.coreGzipBytes, pass: core <= BUDGETS.coreGzipBytes },
    { metric: 'lazy tweetnacl chunk (only without WebCrypto Ed25519), gzip', value: nacl, unit: 'B', ratio: nacl / fpjs },
  ]
  if (existsSync('dist/browser/vigil-classifier.mjs')) {
    const cls = gz('dist/browser/vigil-classifier.mjs')
    rows.push({ metric: 'lazy classifier chunk incl. weights, gzip', value: cls, unit: 'B', ratio: cls / fpjs, budget: BUDGETS.classifierGzipBytes, pass: cls <= BUDGETS.classifierGzipBytes })
  }
  return { suite: 'size', rows }
}

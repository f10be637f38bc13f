/**
 * The size budgets, enforced on every CI run (gzip -9 of the built files). The
 * speed budgets are benchmarks: npm run bench.
 */
import { describe, expect, it } from 'vitest'
import { existsSync, readFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import { BUDGETS } from '../../bench/budgets'

const gz = (path: string): number => gzipSync(readFileSync(path), { level: 9 }).length

describe('size budgets', () => {
  it(`core IIFE bundle ≤ ${BUDGETS.coreGzipBytes / 1024} KB gzip`, () => {
    expect(gz('dist/browser/vigil.min.js')).toBeLessThanOrEqual(BUDGETS.coreGzipBytes)
  })

  it('tweetnacl is not in the core bundle (it is a lazy chunk)', () => {
    const core = readFileSync('dist/browser/vigil.min.js', 'utf8')
    // One of tweetnacl's own error messages marks where its code is.
    expect(core).not.toContain('bad secret key size')
    expect(readFileSync('dist/browser/vigil-nacl.mjs', 'utf8')).toContain('bad secret key size')
  })

  it.runIf(existsSync('dist/browser/vigil-classifier.mjs'))(`classifier chunk ≤ ${BUDGETS.classifierGzipBytes / 1024} KB gzip`, () => {
    expect(gz('dist/browser/vigil-classifier.mjs')).toBeLessThanOrEqual(BUDGETS.classifierGzipBytes)
  })
})

/**
 * The size budgets, enforced on every CI run (gzip -9 of the built files; bench/budgets.ts
 * sets them about 10% above today's sizes). A missing file fails. The speed budgets are
 * benchmarks: npm run bench.
 */
import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { sdkSizes } from '../../bench/sizes'

describe('size budgets', () => {
  it('every SDK entry is within its budget', async () => {
    const sizes = await sdkSizes()
    expect(sizes).toHaveLength(4)
    for (const entry of sizes) expect(entry.bytes, `${entry.name}: ${entry.bytes} B, budget ${entry.budget} B`).toBeLessThanOrEqual(entry.budget)
  })

  it('tweetnacl is not in the core bundle (it is a lazy chunk)', () => {
    const core = readFileSync('dist/browser/vigil.min.js', 'utf8')
    // One of tweetnacl's own error messages marks where its code is.
    expect(core).not.toContain('bad secret key size')
    expect(readFileSync('dist/browser/vigil-nacl.mjs', 'utf8')).toContain('bad secret key size')
  })
})

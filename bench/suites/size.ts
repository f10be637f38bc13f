/** Bundle sizes (gzip -9), against FingerprintJS alone. */
import { readFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import { sdkSizes } from '../sizes'
import type { SuiteResult } from '../types'

export async function size(): Promise<SuiteResult> {
  const fpjs = gzipSync(readFileSync('node_modules/@fingerprintjs/fingerprintjs/dist/fp.min.js'), { level: 9 }).length
  const rows = [
    { metric: 'FingerprintJS alone (fp.min.js), gzip', value: fpjs, unit: 'B', baseline: true },
    ...(await sdkSizes()).map((e) => ({ metric: `Vigil ${e.name}, gzip`, value: e.bytes, unit: 'B', ratio: e.bytes / fpjs, budget: e.budget, pass: e.bytes <= e.budget })),
  ]
  return { suite: 'size', rows }
}

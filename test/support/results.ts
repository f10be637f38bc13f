/**
 * Figures a test measured, for the reliability summary (bench/suites/reliability.ts reads
 * them back): test-results/<name>.json, outside git.
 */
import { mkdirSync, writeFileSync } from 'node:fs'

export function recordResult(name: string, figures: Record<string, unknown>): void {
  mkdirSync('test-results', { recursive: true })
  writeFileSync(`test-results/${name}.json`, JSON.stringify({ ...figures, recordedAt: new Date().toISOString() }, null, 2) + '\n')
}

/**
 * npm run bench [suite …] — runs the benchmarks (all but soak, reliability and replication unless named), prints a table, writes
 * bench/results/<suite>.json. Every figure is reported beside a baseline measured in
 * the same run (FingerprintJS alone, a page without the SDK, a no-op handler, a bare
 * Fastify route), because absolute numbers on a shared 2-core machine mean little.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { size } from './suites/size'
import { longTasks, recorderCost, getTokenLatency } from './suites/browser'
import { classifierCost } from './suites/classifier'
import { collectThroughput } from './suites/collect'
import { soak } from './suites/soak'
import { reliability } from './suites/reliability'
import { pow } from './suites/pow'
import { replication } from './suites/replication'
import type { SuiteResult } from './types'


const SUITES: Record<string, () => Promise<SuiteResult>> = { size, longtasks: longTasks, recorder: recorderCost, gettoken: getTokenLatency, pow, classifier: classifierCost, collect: collectThroughput, soak, reliability, replication }

// Run when named: the long ones, and replication (Redis set-ups rather than the product's own speed).
const LONG_SUITES = ['soak', 'reliability', 'replication']

const fmt = (n: number): string => {
  const a = Math.abs(n)
  return !Number.isFinite(n) ? '–' : Number.isInteger(n) ? String(n) : a >= 100 ? n.toFixed(0) : a >= 1 ? n.toFixed(2) : a >= 0.001 ? n.toFixed(3) : n.toExponential(1)
}

async function main(): Promise<void> {
  const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'))
  // The long ones (minutes of load; the reliability test files) run when named: npm run bench:soak, bench:reliability.
  const names = wanted.length > 0 ? wanted : Object.keys(SUITES).filter((name) => !LONG_SUITES.includes(name))
  for (const name of names) if (!SUITES[name]) throw new Error(`unknown suite ${name}; known: ${Object.keys(SUITES).join(', ')}`)
  mkdirSync('bench/results', { recursive: true })
  let failed = false
  for (const name of names) {
    const started = Date.now()
    const result = await SUITES[name]!()
    const stamped = { ...result, measuredAt: new Date().toISOString(), node: process.version, seconds: Math.round((Date.now() - started) / 1000) }
    writeFileSync(`bench/results/${name}.json`, JSON.stringify(stamped, null, 2) + '\n')
    console.log(`\n## ${name}  (${stamped.seconds} s)`)
    console.log('| metric | value | vs baseline | budget |')
    console.log('| --- | ---: | ---: | --- |')
    for (const row of result.rows) {
      const budget = row.budget === undefined ? '' : `${fmt(row.budget)} ${row.unit} ${row.pass ? 'pass' : 'FAIL'}`
      if (row.pass === false) failed = true
      console.log(`| ${row.metric} | ${fmt(row.value)} ${row.unit} | ${row.baseline ? 'baseline' : row.ratio === undefined ? '' : `${fmt(row.ratio)}×`} | ${budget} |`)
    }
    for (const note of result.notes ?? []) console.log(`- ${note}`)
  }
  if (failed) {
    console.log('\nSome figures are over budget.')
    process.exitCode = 1
  }
}

await main()

/**
 * The reliability summary: runs the fuzz, forgery, SDK-fault and SIGKILL-durability tests
 * (real collector processes, real Redis, real Chromium) and collects what they measured —
 * cases tried, refusals, failures, events lost — into one table. The tests themselves
 * assert the figures; this suite only reports them, from the same run.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, rmSync } from 'node:fs'
import type { Row, SuiteResult } from '../types'

const FILES = ['test/e2e/fuzz.test.ts', 'test/e2e/forgery.test.ts', 'test/e2e/sdk-faults.test.ts', 'test/e2e/durability.test.ts']
const REPORT = 'test-results/reliability-vitest.json'

interface VitestReport {
  numTotalTests: number
  numFailedTests: number
  testResults: Array<{ name: string; assertionResults: Array<{ status: string; title: string }> }>
}

function read<T>(name: string): T | undefined {
  const file = `test-results/${name}.json`
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as T) : undefined
}

export async function reliability(): Promise<SuiteResult> {
  for (const name of ['fuzz-sqlite', 'fuzz-redis', 'forgery', 'durability-sqlite', 'durability-redis']) rmSync(`test-results/${name}.json`, { force: true })
  const run = spawnSync('npx', ['vitest', 'run', '--project', 'e2e', ...FILES, '--reporter=default', '--reporter=json', `--outputFile.json=${REPORT}`], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: process.env,
  })
  if (!existsSync(REPORT)) throw new Error(`vitest wrote no report (exit ${run.status})`)
  const report = JSON.parse(readFileSync(REPORT, 'utf8')) as VitestReport
  const testsIn = (file: string) => report.testResults.find((r) => r.name.endsWith(file))?.assertionResults ?? []
  const failedIn = (file: string) => testsIn(file).filter((t) => t.status !== 'passed').length

  type Fuzz = { cases: number; fiveHundreds: number; heapGrowthMiB: number; heapBudgetMiB: number; heapMiB: number[]; rssMiB: number[]; seed: number; byStatus: Record<string, number> }
  type Forgery = { cases: number; forged: number; controls: number; refusedAsExpected: number }
  type Durability = { acknowledged: number; found: number; lost: number }
  const rows: Row[] = []
  const notes: string[] = []
  // A test writes its figures only once its assertions held: a missing file is a failed test.
  const missing = (what: string, file: string) => rows.push({ metric: `${what}: no figures (${file} failed; see its output above)`, value: NaN, unit: '', budget: 0, pass: false })
  for (const store of ['sqlite', 'redis'] as const) {
    const f = read<Fuzz>(`fuzz-${store}`)
    if (!f) {
      missing(`fuzz, ${store}`, 'fuzz.test.ts')
      continue
    }
    rows.push({ metric: `fuzz, ${store}: hostile requests answered`, value: f.cases, unit: 'cases' })
    rows.push({ metric: `fuzz, ${store}: 5xx answers, crashes`, value: f.fiveHundreds, unit: '', budget: 0, pass: f.fiveHundreds === 0 })
    rows.push({ metric: `fuzz, ${store}: heap, lower of the last two rounds minus round 1`, value: f.heapGrowthMiB, unit: 'MiB', budget: f.heapBudgetMiB, pass: f.heapGrowthMiB < f.heapBudgetMiB })
    notes.push(`fuzz ${store}: seed ${f.seed}; answers by status ${JSON.stringify(f.byStatus)}; heap MiB by round ${f.heapMiB.join(' → ')}; RSS MiB ${f.rssMiB.join(' → ')}`)
  }
  const forgery = read<Forgery>('forgery')
  if (!forgery) missing('forgery and replay', 'forgery.test.ts')
  else {
    rows.push({ metric: 'forgery and replay, two instances: forged or replayed cases', value: forgery.forged, unit: 'cases' })
    rows.push({ metric: 'forgery and replay: refused with the expected code and counted in /metrics', value: forgery.refusedAsExpected, unit: 'cases', budget: forgery.forged, pass: forgery.refusedAsExpected === forgery.forged })
  }
  const faults = testsIn('sdk-faults.test.ts')
  rows.push({ metric: 'SDK fault scenarios in Chromium (host page unharmed, typed rejection)', value: faults.length - failedIn('sdk-faults.test.ts'), unit: `of ${faults.length}`, budget: faults.length, pass: faults.length > 0 && failedIn('sdk-faults.test.ts') === 0 })
  for (const store of ['sqlite', 'redis'] as const) {
    const d = read<Durability>(`durability-${store}`)
    if (!d) {
      missing(`SIGKILL under load, ${store}`, 'durability.test.ts')
      continue
    }
    rows.push({ metric: `SIGKILL under load, ${store}: acknowledged events`, value: d.acknowledged, unit: 'events' })
    rows.push({ metric: `SIGKILL under load, ${store}: acknowledged events lost`, value: d.lost, unit: 'events', budget: 0, pass: d.lost === 0 })
  }
  rows.push({ metric: 'tests failed in this run', value: report.numFailedTests, unit: `of ${report.numTotalTests}`, budget: 0, pass: report.numFailedTests === 0 })
  notes.push(`ran: npx vitest run --project e2e ${FILES.join(' ')}`)
  return { suite: 'reliability', rows, notes }
}

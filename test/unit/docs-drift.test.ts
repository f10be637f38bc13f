/**
 * Docs that cannot drift from the code: every repository path named in a comment or a
 * Markdown file exists, the error table lists exactly the collector's error catalogue,
 * the body limit the protocol states is the one the collector enforces, and operations.md
 * names every metric.
 */
import { describe, expect, it } from 'vitest'
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { ERRORS } from '../../collector-server/src/errors'
import { createMetrics } from '../../collector-server/src/metrics'
import { openSqliteStore } from '../../collector-server/src/stores/sqlite/index'
import { MAX_COLLECT_BYTES } from '@vigil-risk/core/protocol/payload'

const TOP = ['core', 'sdk', 'collector-server', 'verify', 'demo', 'model', 'test', 'bench', 'docs', 'scripts', 'bin', 'deploy', '.ci']
const PATH = new RegExp(`(?<![\\w./@-])((?:${TOP.map((d) => d.replace('.', '\\.')).join('|')})/[A-Za-z0-9_./-]*[A-Za-z0-9_])`, 'g')
/** Generated, data and binary files: they name no paths worth checking. */
const SKIP = /^(docs\/images|bench\/results|test\/fixtures|model\/data|model\/artifacts)\/|\.(json|jsonl|png|lock)$/

function trackedFiles(): string[] {
  return execFileSync('git', ['ls-files', '-co', '--exclude-standard'], { encoding: 'utf8' })
    .split('\n')
    .filter((f) => f && !SKIP.test(f) && existsSync(f))
}

describe('docs and comments', () => {
  it('name only repository paths that exist', () => {
    const missing: string[] = []
    for (const file of trackedFiles()) {
      const text = readFileSync(file, 'utf8')
      for (const m of text.matchAll(PATH)) {
        const path = m[1]!.replace(/\.$/, '')
        if (!existsSync(path)) missing.push(`${file}: ${path}`)
      }
    }
    expect(missing).toEqual([])
  })

  it('cite no design document outside the repository', () => {
    const cites = trackedFiles().filter((f) => f !== 'test/unit/docs-drift.test.ts' && /DESIGN\.md/.test(readFileSync(f, 'utf8')))
    expect(cites).toEqual([])
  })

  it("docs/protocol.md's error table is the collector's error catalogue", () => {
    const rows = [...readFileSync('docs/protocol.md', 'utf8').matchAll(/^\| `(\w+)`(?: \/ `(\w+)`)? \| ([\d /]+) \|/gm)]
    const documented = new Map<string, number>()
    for (const [, a, b, statuses] of rows) {
      const [sa, sb] = statuses!.split('/').map((s) => Number(s.trim()))
      documented.set(a!, sa!)
      if (b) documented.set(b, sb!)
    }
    expect(Object.fromEntries([...documented].sort())).toEqual(Object.fromEntries(Object.entries(ERRORS).map(([code, e]) => [code, e.status]).sort()))
  })

  it("README's layout table names every top-level directory, and only directories that exist", () => {
    const readme = readFileSync('README.md', 'utf8')
    const layout = readme.slice(readme.indexOf('## Layout'))
    const listed = [...layout.matchAll(/^\| `([\w./-]+)\/` \|/gm)].map((m) => m[1]!)
    for (const dir of listed) expect(existsSync(dir), dir).toBe(true)
    const top = new Set(trackedFiles().filter((f) => f.includes('/') && !f.startsWith('.')).map((f) => f.split('/')[0]!))
    expect([...top].sort()).toEqual([...new Set(listed.map((d) => d.split('/')[0]!))].sort())
  })

  it("docs/operations.md's schema table lists every SQLite table", async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'vigil-schema-')), 'vigil.db')
    await openSqliteStore({ path }).close()
    const db = new Database(path, { readonly: true })
    const tables = db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all().map((r) => r.name)
    db.close()
    const doc = readFileSync('docs/operations.md', 'utf8')
    const section = doc.slice(doc.indexOf('## The embedded store'), doc.indexOf('## Several instances'))
    expect([...section.matchAll(/^\| `(\w+)` \|/gm)].map((m) => m[1]!).sort()).toEqual(tables)
  })

  it("docs/operations.md's Observability section names every metric the collector defines", async () => {
    const doc = readFileSync('docs/operations.md', 'utf8')
    const names = (await createMetrics({ defaultMetrics: false }).registry.getMetricsAsJSON()).map((m) => m.name)
    expect(names.length).toBeGreaterThan(5)
    expect(names.filter((name) => !doc.includes(`\`${name}`))).toEqual([])
  })

  it('state the body limit the collector enforces', () => {
    const stated = /size \((\d+) KiB\)/.exec(readFileSync('docs/protocol.md', 'utf8'))
    expect(Number(stated?.[1]) * 1024).toBe(MAX_COLLECT_BYTES)
  })
})

/**
 * npx tsx scripts/profile-collect.ts [--seconds 10] [--minimal] [--thread request|scoring] [--out docs/images/collect-flame.svg]
 *
 * Profiles the collector under the collect benchmark's load: the built collector runs with
 * `node --cpu-prof` on SQLite, autocannon sends signed payloads (captured signals and a
 * trace, each with its own challenge) over 50 connections, and one thread's profile (the
 * request thread's, or with `--thread scoring` the busiest worker thread's: the scoring
 * thread) is folded into self time per function and drawn as a flame graph (an SVG, no
 * dependencies). What the graphs show, and what was done about it: docs/performance.md.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import autocannon from 'autocannon'
import { startCli } from '../test/support/cli'
import { bodiesFor, writeUnlimitedDemoSite } from '../bench/suites/collect'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  hitCount?: number
  children?: number[]
}
interface CpuProfile {
  nodes: ProfileNode[]
  startTime: number
  endTime: number
}

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    minimal: { type: 'boolean', default: false },
    thread: { type: 'string', default: 'request' },
    out: { type: 'string', default: 'docs/images/collect-flame.svg' },
  },
})
if (values.thread !== 'request' && values.thread !== 'scoring') throw new Error(`--thread is request or scoring: ${values.thread}`)
const seconds = Number(values.seconds)

const dataDir = mkdtempSync(join(tmpdir(), 'vigil-profile-'))
const profDir = mkdtempSync(join(tmpdir(), 'vigil-cpuprof-'))
writeUnlimitedDemoSite(dataDir)
const bodies = bodiesFor(dataDir, Math.ceil(seconds * 4000) + 2000, values.minimal)
const collector = await startCli(['--data-dir', dataDir, '--demo'], {}, ['--cpu-prof', `--cpu-prof-dir=${profDir}`, ...(process.env.VIGIL_NODE_FLAGS ?? '').split(' ').filter(Boolean)])
let i = 0
const result = await autocannon({
  url: collector.url,
  connections: 50,
  duration: seconds,
  requests: [{ method: 'POST', path: '/v1/collect', setupRequest: (req: autocannon.Request) => ({ ...req, body: bodies[i++ % bodies.length]!, headers: { 'content-type': 'application/json' } }) }],
})
await collector.stop()
console.log(`${Math.round(result.requests.average)} collects/s, p99 ${result.latency.p99} ms, ${result.non2xx} non-2xx`)

// One profile per thread: CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile, the main thread's id 0.
const profiles = readdirSync(profDir)
  .filter((f) => f.endsWith('.cpuprofile'))
  .map((f) => ({ main: /\.0\.\d+\.cpuprofile$/.test(f), profile: JSON.parse(readFileSync(join(profDir, f), 'utf8')) as CpuProfile }))
const busy = (p: CpuProfile): number => p.nodes.reduce((a, n) => a + (n.callFrame.functionName === '(idle)' ? 0 : (n.hitCount ?? 0)), 0)
const chosen = values.thread === 'request' ? profiles.find((p) => p.main) : profiles.filter((p) => !p.main).sort((a, b) => busy(b.profile) - busy(a.profile))[0]
if (!chosen) throw new Error(`no profile of the ${values.thread} thread written`)
const profile = chosen.profile
const byId = new Map(profile.nodes.map((n) => [n.id, n]))
const total = profile.nodes.reduce((a, n) => a + (n.hitCount ?? 0), 0)

/** Where a frame comes from, short: the package, or the path inside the repository. */
function origin(url: string): string {
  if (!url) return ''
  const nm = url.lastIndexOf('node_modules/')
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/')
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!
  }
  if (url.startsWith('node:')) return url
  const repo = url.indexOf('/dist/')
  return repo >= 0 ? url.slice(repo + 1) : url.replace(/^file:\/\//, '').split('/').slice(-2).join('/')
}
const label = (n: ProfileNode): string => `${n.callFrame.functionName || '(anonymous)'} ${origin(n.callFrame.url)}${n.callFrame.functionName ? '' : `:${n.callFrame.lineNumber + 1}`}`.trim()

// Self time per function, and per origin.
const selfByFn = new Map<string, number>()
const selfByOrigin = new Map<string, number>()
for (const n of profile.nodes) {
  const hits = n.hitCount ?? 0
  if (!hits) continue
  selfByFn.set(label(n), (selfByFn.get(label(n)) ?? 0) + hits)
  const o = origin(n.callFrame.url) || n.callFrame.functionName
  selfByOrigin.set(o, (selfByOrigin.get(o) ?? 0) + hits)
}
const pct = (h: number): string => `${((100 * h) / total).toFixed(1)}%`
console.log('\nself time by origin')
for (const [o, h] of [...selfByOrigin].sort((a, b) => b[1] - a[1]).slice(0, 20)) console.log(`${pct(h).padStart(6)}  ${o}`)
console.log('\nself time by function')
for (const [f, h] of [...selfByFn].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log(`${pct(h).padStart(6)}  ${f}`)

// Inclusive time per node, and per named function (counted once per stack: recursion is not double-counted).
const inclusive = new Map<number, number>()
const sum = (id: number): number => {
  const n = byId.get(id)!
  const v = (n.hitCount ?? 0) + (n.children ?? []).reduce((a, c) => a + sum(c), 0)
  inclusive.set(id, v)
  return v
}
const root = profile.nodes[0]!
sum(root.id)
const inclusiveByFn = new Map<string, number>()
const walk = (id: number, onStack: Set<string>): void => {
  const n = byId.get(id)!
  const name = label(n)
  const fresh = !onStack.has(name)
  if (fresh) {
    inclusiveByFn.set(name, (inclusiveByFn.get(name) ?? 0) + (n.hitCount ?? 0))
    onStack.add(name)
  } else inclusiveByFn.set(name, (inclusiveByFn.get(name) ?? 0) + (n.hitCount ?? 0))
  for (const c of n.children ?? []) walk(c, onStack)
  if (fresh) onStack.delete(name)
}
// Self hits of a node count toward every distinct function on its stack.
const addStack = (id: number, stack: string[]): void => {
  const n = byId.get(id)!
  const next = stack.includes(label(n)) ? stack : [...stack, label(n)]
  const hits = n.hitCount ?? 0
  if (hits) for (const name of next) inclusiveByFn.set(name, (inclusiveByFn.get(name) ?? 0) + hits)
  for (const c of n.children ?? []) addStack(c, next)
}
void walk
addStack(root.id, [])
console.log('\ninclusive time, Vigil functions')
for (const [f, h] of [...inclusiveByFn].filter(([f]) => /dist\/collector|dist\/core/.test(f)).sort((a, b) => b[1] - a[1]).slice(0, 40)) console.log(`${pct(h).padStart(6)}  ${f}`)

// Flame graph: each frame as wide as its inclusive time, children stacked above.
const WIDTH = 1200
const ROW = 16
const rects: string[] = []
let depthMax = 0
const escape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
function draw(id: number, x: number, depth: number): void {
  const n = byId.get(id)!
  const w = (inclusive.get(id)! / total) * WIDTH
  if (w < 0.5) return
  depthMax = Math.max(depthMax, depth)
  const name = label(n)
  const hue = /collector-server|core\//.test(n.callFrame.url) ? 25 : /node_modules/.test(n.callFrame.url) ? 200 : 0
  rects.push(
    `<g><title>${escape(name)} (${pct(inclusive.get(id)!)})</title><rect x="${x.toFixed(1)}" y="{Y${depth}}" width="${w.toFixed(1)}" height="${ROW - 1}" fill="hsl(${hue},70%,${60 + (depth % 3) * 6}%)"/>` +
      (w > 40 ? `<text x="${(x + 3).toFixed(1)}" y="{T${depth}}" font-size="11" font-family="monospace">${escape(name.slice(0, Math.floor(w / 7)))}</text>` : '') +
      '</g>',
  )
  let cx = x
  for (const c of n.children ?? []) {
    draw(c, cx, depth + 1)
    cx += (inclusive.get(c)! / total) * WIDTH
  }
}
draw(root.id, 0, 0)
const height = (depthMax + 1) * ROW + 30
const svg = [
  `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}">`,
  `<text x="4" y="14" font-size="12" font-family="sans-serif">POST /v1/collect under load, the ${values.thread} thread: ${Math.round(result.requests.average)} collects/s on SQLite (scripts/profile-collect.ts${values.thread === 'scoring' ? ' --thread scoring' : ''}); orange = Vigil, blue = dependencies, red = Node and V8</text>`,
  ...rects.map((r) => r.replace(/\{Y(\d+)\}/, (_, d: string) => String(height - (Number(d) + 1) * ROW)).replace(/\{T(\d+)\}/, (_, d: string) => String(height - Number(d) * ROW - 4))),
  '</svg>',
].join('\n')
writeFileSync(values.out, svg)
console.log(`\nflame graph: ${values.out}`)

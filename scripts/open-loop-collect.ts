/**
 * npx tsx scripts/open-loop-collect.ts [--rate 300] [--seconds 10] [--minimal]
 *
 * The built collector on SQLite at a fixed rate of collects (the collect benchmark's
 * bodies: captured signals and a person's trace, each with its own challenge), sent on a
 * schedule that does not wait for answers. Prints the latency from each scheduled send
 * (p50, p90, p99, max, and the worst of each quarter second, where a stall shows), the
 * generator's own send lag, and, on Linux, what the collector process spent per collect:
 * CPU (all its threads; the main thread; the busiest other thread, which under load is the
 * scoring thread; and the rest: V8's collector and compiler threads, the checkpointer) and
 * bytes written, with the WAL's size at the end, and the CPU this generator spent per
 * request on the same cores. docs/performance.md reads these figures.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { startCli } from '../test/support/cli'
import { bodiesFor, writeUnlimitedDemoSite } from '../bench/suites/collect'
import { postAtRate } from '../bench/open-loop'
import { quantileOfSorted } from '../bench/stats'

const { values } = parseArgs({ options: { rate: { type: 'string', default: '300' }, seconds: { type: 'string', default: '10' }, minimal: { type: 'boolean', default: false } } })
const rate = Number(values.rate)
const seconds = Number(values.seconds)
/**
 * Requests before the measured ones: 5 s of the rate, at least 1,000. A collector started
 * cold (compiling, its scoring thread loading, its file growing) falls behind in its first
 * seconds at 450/s here and drains that queue for about 3 s more; with 1,000 requests of
 * warm-up that backlog was the measured p99 (372 ms, against 13–49 ms per quarter second after).
 */
const WARMUP = Math.max(1000, Math.round(rate * 5))

/** CPU time of a process or thread so far, ms (Linux /proc: utime + stime, in 10 ms ticks). */
function cpuMs(stat: string): number {
  const fields = readFileSync(stat, 'utf8').split(') ')[1]!.split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 10
}
function writtenBytes(pid: number): number {
  return Number(/wchar: (\d+)/.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))![1])
}

const dataDir = mkdtempSync(join(tmpdir(), 'vigil-open-loop-'))
writeUnlimitedDemoSite(dataDir)
const bodies = bodiesFor(dataDir, WARMUP + rate * seconds, values.minimal)
const collector = await startCli(['--data-dir', dataDir, '--demo'])
const pid = collector.child.pid!
const proc = existsSync(`/proc/${pid}/io`)
interface Sample {
  cpu: number
  main: number
  /** CPU of each other thread, by id. */
  threads: Map<string, number>
  generator: number
  bytes: number
}
/** Set when the first measured request is sent. */
const start: { sample?: Sample } = {}
function otherThreads(): Map<string, number> {
  const out = new Map<string, number>()
  for (const id of readdirSync(`/proc/${pid}/task`)) {
    if (id === String(pid)) continue
    try {
      out.set(id, cpuMs(`/proc/${pid}/task/${id}/stat`))
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return out
}
const sample = (): Sample => ({
  cpu: cpuMs(`/proc/${pid}/stat`),
  main: cpuMs(`/proc/${pid}/task/${pid}/stat`),
  threads: otherThreads(),
  generator: cpuMs(`/proc/${process.pid}/stat`),
  bytes: writtenBytes(pid),
})

try {
  const load = await postAtRate(collector.url, '/v1/collect', bodies, rate, WARMUP, (i) => {
    if (i === WARMUP && proc) start.sample = sample()
  })
  const measured = bodies.length - WARMUP
  const latency = Array.from(load.latency.subarray(WARMUP)).filter((v) => !Number.isNaN(v)).sort((a, b) => a - b)
  const lag = Array.from(load.sendLag.subarray(WARMUP)).sort((a, b) => a - b)
  const q = (p: number) => quantileOfSorted(latency, p).toFixed(1)
  console.log(`${rate} collects/s for ${seconds} s (${measured} measured after ${WARMUP}): latency p50 ${q(0.5)} ms, p90 ${q(0.9)} ms, p99 ${q(0.99)} ms, max ${q(1)} ms; failed ${measured - latency.length} ${JSON.stringify(Object.fromEntries(load.errors))}`)
  console.log(`generator send lag: p99 ${quantileOfSorted(lag, 0.99).toFixed(1)} ms, max ${lag[lag.length - 1]!.toFixed(1)} ms`)
  const worst: number[] = []
  for (let i = WARMUP; i < bodies.length; i++) {
    const quarter = Math.floor(((i - WARMUP) / rate) * 4)
    worst[quarter] = Math.max(worst[quarter] ?? 0, load.latency[i]!)
  }
  console.log(`worst latency of each quarter second, ms: ${worst.map((v) => Math.round(v)).join(' ')}`)
  const before = start.sample
  if (before) {
    const after = sample()
    const per = (v: number) => (v / measured).toFixed(3)
    const spent = [...after.threads].map(([id, ms]) => ms - (before.threads.get(id) ?? 0)).sort((a, b) => b - a)
    const busiest = spent[0] ?? 0
    const others = after.cpu - before.cpu - (after.main - before.main) - busiest
    console.log(`collector per collect: CPU ${per(after.cpu - before.cpu)} ms (main thread ${per(after.main - before.main)} ms, busiest other thread ${per(busiest)} ms, the rest ${per(others)} ms), written ${((after.bytes - before.bytes) / measured / 1024).toFixed(0)} KiB`)
    console.log(`this generator, on the same cores: CPU ${per(after.generator - before.generator)} ms per request`)
    const wal = join(dataDir, 'vigil.db-wal')
    if (existsSync(wal)) console.log(`WAL at the end: ${(statSync(wal).size / 2 ** 20).toFixed(1)} MiB`)
  } else console.log('(no /proc here: CPU and bytes written are not shown)')
} finally {
  await collector.stop()
}

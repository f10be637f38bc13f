/**
 * Proof of work: what it costs a person's browser and what it costs an attacker.
 *  - Chromium: the SDK's solver (core/src/protocol/pow.ts) in a Web Worker, as the SDK runs
 *    it, solving fresh challenges at the default difficulty for a first-time device;
 *  - Node on one core: the same solver, and node:crypto's SHA-256 (what a script would use),
 *    as hashes per second and the expected cost of one token (2^bits attempts on average).
 */
import { createHash, randomBytes } from 'node:crypto'
import { build } from 'esbuild'
import { leadingZeroBits, powDigestInput, searchPow, sha256 } from '@vigil-risk/core/protocol/pow'
import { makePolicy } from '../../collector-server/src/risk/policy'
import { launchChromium } from '../../test/support/browser'
import { BUDGETS } from '../budgets'
import { median, quantile } from '../stats'
import type { SuiteResult } from '../types'

const SOLVES = 25

/** A worker script: solves each challenge it is sent, answers with the time and attempts. */
async function workerSource(): Promise<string> {
  const out = await build({
    stdin: {
      contents: `import { powDigestInput, searchPow, sha256 } from './core/src/protocol/pow'
        onmessage = (e) => {
          const t = performance.now()
          const digest = sha256(powDigestInput(e.data.challenge))
          let lo = -1
          for (let start = 0; lo < 0; start += 65536) lo = searchPow(digest, e.data.bits, 7, start, 65536)
          postMessage({ ms: performance.now() - t, attempts: lo + 1 })
        }`,
      resolveDir: process.cwd(),
      loader: 'ts',
    },
    bundle: true,
    minify: true,
    format: 'iife',
    write: false,
    logLevel: 'silent',
  })
  return out.outputFiles[0]!.text
}

function nodeRates(): { js: number; native: number } {
  const digest = sha256(powDigestInput('bench'))
  const n = 400_000
  let t = performance.now()
  searchPow(digest, 32, 0, 0, n)
  const js = n / ((performance.now() - t) / 1000)
  const block = Buffer.concat([Buffer.from(digest), Buffer.alloc(8)])
  t = performance.now()
  let zeros = 0
  for (let i = 0; i < n; i++) {
    block.writeUInt32BE(i, 36)
    zeros += leadingZeroBits(createHash('sha256').update(block).digest())
  }
  const native = n / ((performance.now() - t) / 1000)
  if (zeros < 0) throw new Error('unreachable')
  return { js, native }
}

export async function pow(): Promise<SuiteResult> {
  const bits = makePolicy().proofOfWork.newDevice
  const source = await workerSource()
  const browser = await launchChromium()
  let results: Array<{ ms: number; attempts: number }>
  try {
    const page = await browser.newPage()
    await page.goto('about:blank')
    results = await page.evaluate(
      async ({ source, bits, solves, challenges }) => {
        const worker = new Worker(URL.createObjectURL(new Blob([source], { type: 'text/javascript' })))
        const out: Array<{ ms: number; attempts: number }> = []
        for (let i = 0; i < solves; i++) {
          out.push(await new Promise((resolve) => {
            worker.onmessage = (e: MessageEvent<{ ms: number; attempts: number }>) => resolve(e.data)
            worker.postMessage({ challenge: challenges[i], bits })
          }))
        }
        worker.terminate()
        return out
      },
      { source, bits, solves: SOLVES, challenges: Array.from({ length: SOLVES }, () => randomBytes(60).toString('base64url')) },
    )
  } finally {
    await browser.close()
  }
  const ms = results.map((r) => r.ms)
  const browserRate = results.reduce((a, r) => a + r.attempts, 0) / (ms.reduce((a, b) => a + b, 0) / 1000)
  const { js, native } = nodeRates()
  const expected = 2 ** bits
  const solveP50 = median(ms)
  return {
    suite: 'pow',
    rows: [
      { metric: `Chromium worker, SDK solver: solve at the default ${bits} bits (first-time device), p50 of ${SOLVES}`, value: solveP50, unit: 'ms', budget: BUDGETS.powSolveP50Ms, pass: solveP50 <= BUDGETS.powSolveP50Ms },
      { metric: 'Chromium worker: solve, p90', value: quantile(ms, 0.9), unit: 'ms' },
      { metric: 'Chromium worker: SHA-256 attempts per second', value: browserRate, unit: 'H/s', baseline: true },
      { metric: 'Node, one core, the same solver: attempts per second', value: js, unit: 'H/s', ratio: js / browserRate },
      { metric: "Node, one core, node:crypto createHash: attempts per second (an attacker's script)", value: native, unit: 'H/s', ratio: native / browserRate },
      { metric: `attacker's cost per token at ${bits} bits, one core (2^${bits} attempts ÷ the faster Node rate)`, value: (expected / Math.max(js, native)) * 1000, unit: 'ms' },
      { metric: 'returning device with a clean history: work asked for', value: makePolicy().proofOfWork.returning, unit: 'bits' },
    ],
    notes: [
      `Each solve is a fresh random challenge; attempts average 2^${bits} (the median is ln 2 of that). Native C or GPU hashing is faster than Node again: the work prices a token, it does not stop a determined attacker alone (docs/protocol.md).`,
    ],
  }
}

/**
 * The scoring pool (risk/scoring-pool.ts): a thread gives the answers the request thread
 * would (signature first, then the payload's analysis), and no thread can lose or fail a
 * collect: a thread that is busy, dead, or cannot start hands its checks back to the
 * caller's thread.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { spawnSync } from 'node:child_process'
import type { CollectBody } from '@vigil-risk/core/protocol/schema'
import { defaultScoringThreads, startScoringPool, type CheckSite, type CollectCheck, type CollectScorer } from '../src/risk/scoring-pool'
import { checkSignature } from '../src/risk/collect-check'
import { analysePayload, type ProofTerms } from '../src/risk/payload-analysis'
import { humanTrace, humanTraceVariant } from '../../test/support/payloads'
import { TestDevice } from '../../test/support/device'

const device = new TestDevice()
const signed = (overrides: Parameters<TestDevice['body']>[1] = {}): CollectBody => device.body('c', { proof: {}, ...overrides })
let deep: Record<string, unknown> = {}
for (let i = 0; i < 40; i++) deep = { deep }
const uncanonical = device.payload('c', { proof: {}, signals: { deep } })
const BODIES: Array<[string, CollectBody]> = [
  ['a person', signed({ behavior: { trace: humanTrace(), summary: {} } })],
  ['another person, with the page score', signed({ behavior: { trace: humanTraceVariant(7), summary: {}, client: { model: 'x', score: 0.5, ms: 3 } } })],
  ['a malformed trace', signed({ behavior: { trace: { k: [0, 99], t: [0, 1], x: [0, 1], y: [0, 1], b: [0, 0], c: [0, 0] }, summary: {} } })],
  ['no trace', signed()],
  ['a bad signature', { ...signed({ behavior: { trace: humanTrace(), summary: {} } }), sig: signed().sig }],
  ['a payload too deep to canonicalise', { payload: uncanonical, sig: device.sign(uncanonical, 'x') }],
  ['not a public key', (() => { const b = signed(); return { ...b, payload: { ...b.payload, device: { ...b.payload.device, pub: 'AAAA' } } } })()],
]

/** The terms of the challenge the bodies answer: work and both probes, none of which they do (detections to compare). */
const TERMS: ProofTerms = { nonce: 'AAAAAAAAAAAAAAAAAAAAAA', difficulty: 4, probes: ['text', 'tz'] }

/** What the request thread concludes from a body, as data: a rejection is its message. */
const expected = (body: CollectBody): unknown => {
  const signature = checkSignature(body)
  return { signature, analysis: signature.ok ? analysePayload(body.payload, TERMS) : 'not analysed' }
}
const settled = async (check: CollectCheck): Promise<unknown> => ({
  signature: await check.signature,
  analysis: await check.analysis().catch((err: Error) => (err.message.startsWith('not analysed') ? 'not analysed' : err.message)),
})
const check = (pool: CollectScorer, body: CollectBody): CollectCheck => pool.check(body, JSON.stringify(body), TERMS)

let pool: CollectScorer | null = null
afterEach(async () => {
  await pool?.close()
  pool = null
})

function counting(): { sites: CheckSite[]; errors: Error[]; onCheck: (w: CheckSite) => void; onError: (e: Error) => void } {
  const sites: CheckSite[] = []
  const errors: Error[] = []
  return { sites, errors, onCheck: (w) => sites.push(w), onError: (e) => errors.push(e) }
}

async function until(what: string, test: () => boolean): Promise<void> {
  const deadline = Date.now() + 20_000
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/**
 * A worker module of our own: `body` runs for each message `m`. Once loaded (after `atLoad`,
 * which tells the pool it is ready) it writes `<file>.loaded`, which `loaded` waits for.
 */
function workerModule(body: string, atLoad = "parentPort.postMessage('ready')"): URL {
  const file = join(mkdtempSync(join(tmpdir(), 'vigil-scoring-')), 'worker.mjs')
  const marker = JSON.stringify(`${file}.loaded`)
  writeFileSync(file, `import { parentPort } from 'node:worker_threads'\nimport { writeFileSync } from 'node:fs'\nparentPort.on('message', (m) => { ${body} })\n${atLoad}\nwriteFileSync(${marker}, '')\n`)
  return pathToFileURL(file)
}

/**
 * Until a workerModule thread has loaded and said it is ready, however long a busy machine
 * takes to start it; then one more turn of this thread's loop, in which the pool reads the word.
 */
async function loaded(module: URL): Promise<void> {
  const marker = `${fileURLToPath(module)}.loaded`
  await until('the thread to load', () => existsSync(marker))
  await new Promise((r) => setTimeout(r, 50))
}

describe('scoring pool', () => {
  it('gives, on its thread, the answers the request thread gives', { timeout: 30_000 }, async () => {
    const c = counting()
    pool = startScoringPool({ threads: 1, ...c })
    expect(pool.threads).toBe(1)
    // Until the thread has loaded its modules, the caller's thread does the work.
    const warming: Array<Promise<unknown>> = []
    await until('a check on the thread', () => c.sites.includes('thread') || (warming.push(settled(check(pool!, BODIES[0]![1]))), false))
    await Promise.all(warming) // every warm-up check counted before the count restarts
    c.sites.length = 0
    for (const [name, body] of BODIES) expect(await settled(check(pool, body)), name).toEqual(expected(body))
    expect(c.sites).toEqual(BODIES.map(() => 'thread'))
    // A signature check alone: no analysis.
    const alone = pool.check(BODIES[0]![1], JSON.stringify(BODIES[0]![1]), null)
    expect(await alone.signature).toEqual({ ok: true })
    await expect(alone.analysis()).rejects.toThrow('not analysed')
    expect(c.errors).toEqual([])
  })

  it('counts as its backlog what the thread has not finished, not answers this thread has yet to read', { timeout: 30_000 }, async () => {
    const c = counting()
    pool = startScoringPool({ threads: 1, maxQueue: 2, ...c })
    const warming: Array<Promise<unknown>> = []
    await until('the thread', () => (warming.push(pool!.check(BODIES[0]![1], JSON.stringify(BODIES[0]![1]), null).signature), c.sites.includes('thread')))
    await Promise.all(warming) // the thread's backlog empty and every warm-up counted before the count restarts
    c.sites.length = 0
    const body = BODIES[0]![1]
    const first = check(pool, body)
    const second = check(pool, body)
    // This thread is busy (as under load) while the scoring thread answers both: their answers wait here, unread.
    const busyUntil = Date.now() + 1_500
    while (Date.now() < busyUntil) {
      /* busy */
    }
    const third = check(pool, body)
    for (const answer of [first, second, third]) expect(await settled(answer)).toEqual(expected(body))
    expect(c.sites).toEqual(['thread', 'thread', 'thread'])
  })

  it('does what a dead thread had not answered on the caller thread, and starts the thread again', { timeout: 30_000 }, async () => {
    const c = counting()
    // The thread answers the first body's signature, then dies.
    const dying = workerModule("if (globalThis.once) process.exit(3); globalThis.once = true; parentPort.postMessage({ id: m.id, signature: { ok: true } }); setTimeout(() => process.exit(3), 50)")
    pool = startScoringPool({ threads: 1, module: dying, restartMs: 50, ...c })
    await loaded(dying)
    const answers = await Promise.all(BODIES.map(([, body]) => settled(check(pool!, body))))
    expect(answers).toEqual(BODIES.map(([, body]) => expected(body)))
    expect(c.sites.filter((s) => s === 'inline')).toHaveLength(BODIES.length)
    expect(c.errors.map((e) => e.message)).toContain('a scoring thread exited with code 3')
    // Started again (and dies again): the checks keep their answers.
    await new Promise((r) => setTimeout(r, 500))
    expect(await settled(check(pool, BODIES[0]![1]))).toEqual(expected(BODIES[0]![1]))
  })

  it('stops a thread that finishes nothing, refuses the check it was stuck on, does the others on the caller thread, and starts it again', { timeout: 30_000 }, async () => {
    const c = counting()
    // A thread that counts its checks (as scoring-worker.ts does), caught in a loop it never leaves.
    const counts = "import { workerData } from 'node:worker_threads'\nAtomics.store(workerData.finished, 1, 1)\nparentPort.postMessage('ready')"
    const looping = workerModule('for (;;) {}', counts)
    pool = startScoringPool({ threads: 1, module: looping, hungMs: 300, restartMs: 50, ...c })
    await loaded(looping)
    const started = Date.now()
    const [stuck, ...rest] = BODIES.slice(0, 3).map(([, body]) => check(pool!, body))
    const others = await Promise.all(rest.map(settled))
    // A 400 for its collect: the caller's thread would have been stopped by it in turn.
    const refused = { name: 'CollectorError', code: 'bad_request', message: 'The payload could not be checked: its check did not finish.' }
    await expect(stuck!.signature).rejects.toMatchObject(refused)
    await expect(stuck!.analysis()).rejects.toMatchObject(refused)
    expect(others).toEqual(BODIES.slice(1, 3).map(([, body]) => expected(body)))
    expect(Date.now() - started).toBeLessThan(5_000)
    expect(c.sites).toEqual(['inline', 'inline'])
    expect(c.errors.map((e) => e.message)).toEqual(['a scoring thread finished no check in 300 ms: stopped; the check it was stuck on is refused, the others done on the request thread'])
    // Started again: it takes checks (and is stopped again).
    await until('a second stop', () => (c.errors.length < 2 && void check(pool!, BODIES[3]![1]).signature.catch(() => undefined), c.errors.length >= 2))
  })

  it('never stops a thread that does not count its checks', { timeout: 30_000 }, async () => {
    const c = counting()
    // Answers each check after 50 ms, without counting it.
    const uncounted = workerModule("setTimeout(() => parentPort.postMessage({ id: m.id, signature: { ok: true } }), 50)")
    pool = startScoringPool({ threads: 1, module: uncounted, hungMs: 100, ...c })
    await loaded(uncounted)
    for (let i = 0; i < 10; i++) expect(await pool.check(BODIES[0]![1], JSON.stringify(BODIES[0]![1]), null).signature).toEqual({ ok: true })
    expect(c.errors).toEqual([])
    expect(c.sites.every((s) => s === 'thread')).toBe(true)
  })

  it('reports a thread that cannot start, and checks on the caller thread', { timeout: 30_000 }, async () => {
    const c = counting()
    pool = startScoringPool({ threads: 1, module: workerModule('', "throw new Error('broken build')"), restartMs: 10_000, ...c })
    await until('the failure', () => c.errors.length > 0)
    expect(c.errors[0]!.message).toContain('broken build')
    expect(await settled(check(pool, BODIES[0]![1]))).toEqual(expected(BODIES[0]![1]))
    expect(c.sites).toEqual(['inline'])
  })

  it('sheds to the caller thread when the thread has maxQueue checks waiting, and redoes what it fails', { timeout: 30_000 }, async () => {
    const c = counting()
    // A thread that answers each message only when the next one arrives, and then with a failure.
    const stalled = workerModule("if (globalThis.held) parentPort.postMessage({ id: globalThis.held, error: 'late' }); globalThis.held = m.id")
    pool = startScoringPool({ threads: 1, module: stalled, maxQueue: 2, ...c })
    await loaded(stalled)
    const body = BODIES[0]![1]
    const first = check(pool, body)
    const second = check(pool, body)
    // The thread holds two: the third and fourth are the caller's.
    expect(await settled(check(pool, body))).toEqual(expected(body))
    expect(await settled(check(pool, body))).toEqual(expected(body))
    expect(c.sites).toEqual(['inline', 'inline'])
    // The thread failed the first: the caller's thread did it, with the same answers.
    expect(await settled(first)).toEqual(expected(body))
    expect(c.sites).toEqual(['inline', 'inline', 'inline'])
    // close(): what the thread still holds is done on the caller thread.
    await pool.close()
    expect(await settled(second)).toEqual(expected(body))
    expect(await settled(check(pool, body))).toEqual(expected(body))
    pool = null
  })

  it('analyses on the caller thread only when asked, and never an unverified body', async () => {
    pool = startScoringPool({ threads: 0 })
    let reads = 0
    const traced = (sign: boolean): CollectBody => {
      const payload = device.payload('c', { proof: {}, behavior: { summary: {}, trace: humanTrace() } })
      const behavior = { summary: {}, get trace() {
        reads++
        return humanTrace()
      } }
      const body = { payload: { ...payload, behavior }, sig: sign ? device.sign(payload) : signed().sig }
      reads = 0
      return body
    }
    // The signature reads the trace once (the canonical encoding); an analysis reads it again.
    const good = pool.check(traced(true), '', TERMS)
    expect(await good.signature).toEqual({ ok: true })
    expect(reads).toBe(1)
    expect((await good.analysis()).trace.behavior.server).not.toBeNull()
    expect(reads).toBe(2)
    const forged = pool.check(traced(false), '', TERMS)
    expect(await forged.signature).toEqual({ ok: false, code: 'bad_signature' })
    await expect(forged.analysis()).rejects.toThrow('not analysed')
    expect(reads).toBe(1)
  })

  it('keeps the process alive while a check is under way, and not once the pool is idle', { timeout: 60_000 }, () => {
    // Nothing else keeps this process alive: no server, no timer, and close() is never called.
    const script = join(mkdtempSync(join(tmpdir(), 'vigil-scoring-')), 'alive.mts')
    const src = (path: string) => JSON.stringify(pathToFileURL(join(import.meta.dirname, path)).href)
    writeFileSync(
      script,
      `import { startScoringPool } from ${src('../src/risk/scoring-pool.ts')}
const body = ${JSON.stringify(BODIES[0]![1])}
const TERMS = ${JSON.stringify(TERMS)}
const where = []
const pool = startScoringPool({ threads: 1, onCheck: (w) => where.push(w) })
while (!where.includes('thread')) {
  const t = Date.now() + 20
  await pool.check(body, JSON.stringify(body), TERMS).analysis()
  while (Date.now() < t) await new Promise((r) => setImmediate(r))
}
const a = await pool.check(body, JSON.stringify(body), TERMS).analysis()
console.log(where.at(-1), a.trace.behavior.server !== null)
`,
    )
    const run = spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8', timeout: 50_000 })
    expect(run.stderr).toBe('')
    expect(run.status).toBe(0)
    expect(run.stdout.trim()).toBe('thread true')
  })

  it('takes a core less than the process has, and none on one core', () => {
    expect(defaultScoringThreads(1)).toBeGreaterThanOrEqual(0)
    expect(defaultScoringThreads(1)).toBeLessThanOrEqual(4)
    expect(defaultScoringThreads(1024)).toBe(0)
  })
})

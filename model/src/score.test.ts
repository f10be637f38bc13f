import { describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const golden = readFileSync('test/fixtures/traces/golden.jsonl', 'utf8').trim().split('\n')
const run = (input: string) => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-score-'))
  const file = join(dir, 'traces.jsonl')
  writeFileSync(file, input)
  return spawnSync(process.execPath, ['node_modules/tsx/dist/cli.mjs', 'model/src/score.ts', '--input', file], { encoding: 'utf8' })
}

describe('npm run -s model:score', () => {
  it('prints one {id, score, bot} line per trace, null and insufficient for too little behaviour', () => {
    const out = run(golden.join('\n') + '\n')
    expect(out.status).toBe(0)
    const lines = out.stdout.trim().split('\n').map((l) => JSON.parse(l) as { id: string; score: number | null; bot: boolean; insufficient?: boolean })
    expect(lines.map((l) => l.id)).toEqual(golden.map((g) => (JSON.parse(g) as { id: string }).id))
    for (const l of lines) {
      if (l.insufficient) expect(l).toMatchObject({ score: null, bot: false })
      else {
        expect(l.score).toBeGreaterThanOrEqual(0)
        expect(l.score).toBeLessThanOrEqual(1)
        expect(typeof l.bot).toBe('boolean')
      }
    }
    expect(lines.find((l) => l.id === 'too-little')).toMatchObject({ score: null, bot: false, insufficient: true })
    // Scores print at full precision: distinct traces do not tie.
    const scores = lines.filter((l) => !l.insufficient).map((l) => l.score)
    expect(new Set(scores).size).toBe(scores.length)
    // `bot` is the score against the shipped threshold, and synthetic bots outscore the recorded person.
    const threshold = (JSON.parse(readFileSync('model/artifacts/classifier.json', 'utf8')) as { threshold: number }).threshold
    for (const l of lines) if (!l.insufficient) expect(l.bot, l.id).toBe(l.score! >= threshold)
    const person = lines.find((l) => l.id === 'delbot-human-pc1')!.score!
    for (const l of lines.filter((x) => x.id.startsWith('synthetic-') && !x.insufficient)) expect(l.score, l.id).toBeGreaterThan(person)
  })

  it('names the line of each malformed trace on stderr, scores the rest, exits 1', () => {
    const input = [golden[0], 'not json', '{"id":"x","events":[{"type":"mousemove","t":5},{"type":"mousemove","t":3}]}', '{"id":"y","events":"nope"}', golden[1]].join('\n')
    const out = run(input)
    expect(out.status).toBe(1)
    expect(out.stdout.trim().split('\n')).toHaveLength(2)
    expect(out.stderr).toMatch(/line 2: not JSON/)
    expect(out.stderr).toMatch(/line 3: events\[1\]\.t goes back in time/)
    expect(out.stderr).toMatch(/line 4: "events" must be an array/)
  })

  it('ignores unknown fields and unknown event types', () => {
    const trace = JSON.parse(golden[0]!) as { id: string; events: unknown[] }
    const noisy = { ...trace, extra: true, events: [{ type: 'pointerrawupdate', t: 0 }, ...trace.events.map((e) => ({ ...(e as object), pressure: 0.5 }))] }
    const [a, b] = [run(golden[0] + '\n'), run(JSON.stringify(noisy) + '\n')]
    expect(JSON.parse(b.stdout)).toEqual(JSON.parse(a.stdout))
  })
})

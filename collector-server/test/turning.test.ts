/**
 * A pointer that jumps (risk/turning.ts): a script that sets the pointer at one point after
 * another, rather than moving it along a path, is bot_behavior whatever the classifier says.
 * An outside review's script got `allow` with such traces (random points 100 ms apart and a
 * click: the classifier scored them 0.00005–0.12).
 */
import { afterEach, describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { compactTrace, expandTrace, type TraceEvent } from '@vigil-risk/core/protocol/trace'
import { jumping, pointerTurning } from '../src/risk/turning'
import { makeTestApp, type TestApp } from '../../test/support/app'
import { TestDevice } from '../../test/support/device'
import { humanTrace, humanTraceVariant, randomPointsTrace as randomPoints } from '../../test/support/payloads'

const golden = (): Array<{ id: string; events: TraceEvent[] }> =>
  readFileSync('test/fixtures/traces/golden.jsonl', 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: string; events: TraceEvent[] })

describe('pointerTurning', () => {
  it('a straight line does not turn; a square turns 90° at each corner only', () => {
    const line: TraceEvent[] = Array.from({ length: 30 }, (_, i) => ({ type: 'mousemove', t: i * 16, x: 10 + i * 5, y: 20 + i * 2 }))
    expect(pointerTurning(line)).toEqual({ turns: 28, meanDegrees: 0 })
    const square: TraceEvent[] = [[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]].map(([x, y], i) => ({ type: 'mousemove', t: i * 16, x: x!, y: y! }))
    expect(pointerTurning(square)).toEqual({ turns: 3, meanDegrees: 90 })
  })

  it('jitter under 3 px adds no heading; a pause or another event starts a new run', () => {
    // Back and forth by 1 px many times, then on along x: no turns at all.
    const jitter: TraceEvent[] = [...Array.from({ length: 20 }, (_, i) => ({ type: 'mousemove' as const, t: i * 8, x: i % 2, y: 0 })), ...Array.from({ length: 5 }, (_, i) => ({ type: 'mousemove' as const, t: 200 + i * 8, x: 5 * (i + 1), y: 0 }))]
    expect(pointerTurning(jitter).meanDegrees).toBe(0)
    // Right, then (after 400 ms, or a click) back left: separate gestures, no 180° turn.
    const right = (t0: number): TraceEvent[] => [0, 1, 2].map((i) => ({ type: 'mousemove', t: t0 + i * 16, x: i * 10, y: 0 }))
    const left = (t0: number): TraceEvent[] => [0, 1, 2].map((i) => ({ type: 'mousemove', t: t0 + i * 16, x: 20 - i * 10, y: 0 }))
    expect(pointerTurning([...right(0), ...left(432)]).turns).toBe(2)
    expect(pointerTurning([...right(0), { type: 'click', t: 40, x: 20, y: 0, button: 0 }, ...left(48)]).turns).toBe(2)
  })

  it("people's traces in the fixtures do not jump; random points do", () => {
    for (const { id, events } of golden().filter((g) => g.id.startsWith('delbot-human'))) expect(jumping(pointerTurning(events)), id).toBe(false)
    const person = pointerTurning(expandTrace(humanTrace(600)))
    expect(person.turns).toBeGreaterThan(100)
    expect(jumping(person)).toBe(false)
    for (let i = 1; i <= 50; i++) expect(jumping(pointerTurning(expandTrace(humanTraceVariant(i))))).toBe(false)
    for (let seed = 1; seed <= 50; seed++) expect(jumping(pointerTurning(randomPoints(40, seed)))).toBe(true)
    // Too few moves to judge.
    expect(jumping(pointerTurning(randomPoints(8, 1)))).toBe(false)
  })
})

describe('the collector on a pointer that jumps', () => {
  let t: TestApp | null = null
  afterEach(async () => {
    await t?.close()
    t = null
  })

  async function reasonsFor(events: TraceEvent[]): Promise<string[]> {
    t ??= await makeTestApp({})
    const device = new TestDevice()
    const challenge = (await t.app.inject({ url: `/v1/challenge?siteKey=demo&device=${device.id}` })).json<{ challenge: string }>().challenge
    const res = await t.app.inject({ method: 'POST', url: '/v1/collect', payload: device.body(challenge, { action: 'login', behavior: { trace: compactTrace(events), summary: {} } }) })
    expect(res.statusCode).toBe(200)
    const { token } = res.json<{ token: string }>()
    return (await t.app.inject({ method: 'POST', url: '/v1/siteverify', payload: { secret: 'demo-secret', token } })).json<{ reasons: string[] }>().reasons
  }

  it('random points 100 ms apart are bot_behavior; a person is not', async () => {
    expect(await reasonsFor(randomPoints(60, 7))).toContain('bot_behavior')
    expect(await reasonsFor(expandTrace(humanTrace(300)))).not.toContain('bot_behavior')
  })
})

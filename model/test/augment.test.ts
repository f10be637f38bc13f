/** Augmentation keeps traces valid (ordered, bounded, on the pixel grid) and is seeded. */
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import type { TraceEvent } from '@vigil-risk/core/protocol/trace'
import { augment, frames, resample, scale } from '../src/augment'
import { fitPlatt, calibrated } from '../src/calibrate'
import { fitStepModel, generate } from '../src/synth/generative'
import { fitProfiles, generateFromProfiles } from '../src/synth/profiles'
import type { Session } from '../src/data'
import { Rng } from '../src/rng'

/** A wavy movement with a click every 40 moves, sampled at 60 Hz. */
function hand(n = 400, offset = 0): TraceEvent[] {
  const events: TraceEvent[] = []
  let t = 0
  for (let i = 0; i < n; i++) {
    t = Math.round((t + 16.7) * 10) / 10
    const x = 100 + offset + Math.round(i * 3 + 30 * Math.sin(i / 7))
    const y = 300 + Math.round(60 * Math.sin(i / 13))
    events.push({ type: 'mousemove', t, x, y })
    if (i % 40 === 39) {
      events.push({ type: 'mousedown', t: t + 5, x, y, button: 0 }, { type: 'mouseup', t: t + 90, x, y, button: 0 })
      t += 300
    }
  }
  return events
}

describe('augment', () => {
  it('keeps times in order from 0, at most 600 events, whatever the seed (property)', () => {
    const events = hand()
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        const out = augment(events, new Rng(seed))
        expect(out.length).toBeLessThanOrEqual(600)
        expect(out[0]!.t).toBe(0)
        for (let i = 1; i < out.length; i++) expect(out[i]!.t).toBeGreaterThanOrEqual(out[i - 1]!.t)
      }),
      { numRuns: 200 },
    )
  })

  it('is the same for the same seed', () => {
    const input = hand()
    for (let i = 1; i < input.length; i++) expect(input[i]!.t).toBeGreaterThan(input[i - 1]!.t)
    expect(augment(hand(), new Rng(5))).toEqual(augment(hand(), new Rng(5)))
  })

  it('re-samples at the asked rate onto whole pixels, and coalesces to one move per frame', () => {
    const r = new Rng(1)
    const slow = resample(hand(), 15, r).filter((e) => e.type === 'mousemove')
    const gaps = slow.slice(1).map((e, i) => e.t - slow[i]!.t)
    expect(gaps.sort((a, b) => a - b)[gaps.length >> 1]).toBeGreaterThan(50)
    for (const e of slow) expect(Number.isInteger(e.x) && Number.isInteger(e.y)).toBe(true)
    const fast = resample(hand(), 250, r).filter((e) => e.type === 'mousemove')
    const framed = frames(fast, 16.67, r).filter((e) => e.type === 'mousemove')
    expect(framed.length).toBeLessThan(fast.length / 2)
    for (const e of scale(hand(), 1.5)) expect(Number.isInteger(e.x)).toBe(true)
  })
})

describe('calibration', () => {
  it('recovers a known logistic relation from logits', () => {
    const r = new Rng(3)
    const logits = Array.from({ length: 4000 }, () => r.normal(0, 3))
    const bots = logits.map((z) => r.next() < 1 / (1 + Math.exp(-(0.5 * z - 1))))
    const { a, c } = fitPlatt(logits, bots, logits.map(() => 1))
    expect(a).toBeCloseTo(0.5, 1)
    expect(c).toBeCloseTo(-1, 1)
    // Folded into the output layer: the network's logit becomes a·z + c.
    const net = { sizes: [1, 1], w: [Float64Array.of(2)], b: [Float64Array.of(1)] }
    const folded = calibrated(net, { a, c })
    expect(folded.w[0]![0]).toBeCloseTo(2 * a, 9)
    expect(folded.b[0]![0]).toBeCloseTo(a + c, 9)
  })
})

describe('the generative bots', () => {
  it('learns from people and moves towards its targets in their steps, clicking each', () => {
    const people: Session[] = Array.from({ length: 6 }, (_, i) => ({ source: 'sapimouse', group: `p${i}`, kind: 'human', family: 'sapimouse', events: hand(400, i * 7) }))
    const model = fitStepModel(people)
    expect(model.pools.flat().reduce((a, p) => a + p.length, 0)).toBeGreaterThan(100)
    const bot = generate(model, new Rng(9), 0)
    expect(bot.kind).toBe('bot')
    expect(bot.events.filter((e) => e.type === 'mousedown').length).toBeGreaterThanOrEqual(4)
    expect(bot.events.filter((e) => e.type === 'mousemove').length).toBeGreaterThan(20)
    for (let i = 1; i < bot.events.length; i++) expect(bot.events[i]!.t).toBeGreaterThanOrEqual(bot.events[i - 1]!.t)
  })

  it('learns movement profiles from people and retargets them, ending each on its target', () => {
    const people: Session[] = Array.from({ length: 6 }, (_, i) => ({ source: 'sapimouse', group: `p${i}`, kind: 'human', family: 'sapimouse', events: hand(400, i * 7) }))
    const model = fitProfiles(people)
    expect(model.profiles.length).toBeGreaterThan(10)
    for (let i = 1; i < model.profiles.length; i++) expect(model.profiles[i]!.length).toBeGreaterThanOrEqual(model.profiles[i - 1]!.length)
    const bot = generateFromProfiles(model, new Rng(4), 0)
    const downs = bot.events.filter((e) => e.type === 'mousedown')
    expect(downs.length).toBeGreaterThanOrEqual(4)
    for (let i = 1; i < bot.events.length; i++) expect(bot.events[i]!.t).toBeGreaterThanOrEqual(bot.events[i - 1]!.t)
    // Every press is where the last move went.
    for (const d of downs) {
      const before = bot.events.filter((e) => e.type === 'mousemove' && e.t <= d.t).pop()
      if (before) expect([before.x, before.y]).toEqual([d.x, d.y])
    }
  })
})

/** The split rules the model card's figures rest on: a person never spans two splits. */
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { HELD_OUT_FAMILIES, SPLITS, buildDataset, humanSplitter, splitGroups } from '../src/dataset'
import type { Session } from '../src/data'
import { Rng } from '../src/rng'

/** A human who moves, then clicks, every 700 ms: enough for a few windows. */
function person(source: string, group: string, offset: number): Session {
  const events: Session['events'] = []
  for (let k = 0; k < 24; k++) {
    const t0 = k * 700
    for (let i = 0; i < 30; i++) events.push({ type: 'mousemove', t: t0 + i * 16 + (i % 3), x: offset + k * 20 + i * 3 + (i % 2), y: 300 + Math.round(40 * Math.sin(i / 5)) })
    events.push({ type: 'mousedown', t: t0 + 500, x: offset + k * 20 + 90, y: 300, button: 0 }, { type: 'mouseup', t: t0 + 590, x: offset + k * 20 + 90, y: 300, button: 0 })
  }
  return { source, group, kind: 'human', family: source, events }
}

describe('splitGroups', () => {
  it('puts every group in exactly one split, about 70/15/15 (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 300 }), fc.integer(), (groups, seed) => {
        const split = splitGroups(groups, new Rng(seed))
        const unique = new Set(groups)
        expect(new Set(split.keys())).toEqual(unique)
        const train = [...split.values()].filter((s) => s === 'train').length
        expect(train).toBe(Math.ceil(unique.size * 0.7))
      }),
    )
  })

  it('is the same for the same seed', () => {
    const groups = Array.from({ length: 50 }, (_, i) => `g${i}`)
    expect([...splitGroups(groups, new Rng(7))]).toEqual([...splitGroups(groups, new Rng(7))])
  })
})

describe('buildDataset', () => {
  const humans = Array.from({ length: 20 }, (_, i) => [person('sapimouse', `sapimouse/user${i}`, i), person('sapimouse', `sapimouse/user${i}`, i + 5)]).flat()
  const data = buildDataset({ humans, delbotBots: [], recorded: [] }, new Rng(11))

  it('never lets one person span two splits', () => {
    const byPerson = new Map<string, Set<string>>()
    for (const s of data.samples.filter((x) => x.kind === 'human')) byPerson.set(s.group, (byPerson.get(s.group) ?? new Set()).add(s.split))
    expect(byPerson.size).toBe(20)
    for (const [group, splits] of byPerson) expect(splits.size, group).toBe(1)
    for (const split of SPLITS) expect(data.samples.some((s) => s.split === split && s.kind === 'human'), split).toBe(true)
    // The splitter the dataset used agrees with where the windows went.
    const splitOfPerson = (g: string) => [...byPerson.get(g)!][0]
    expect(humanSplitter(humans, new Rng(11).fork(1))(humans[0]!, new Rng(0))).toBe(splitOfPerson(humans[0]!.group))
  })

  it('shows the model no held-out family outside the test split', () => {
    expect(data.samples.filter((s) => HELD_OUT_FAMILIES.includes(s.family)).every((s) => s.split === 'test')).toBe(true)
    expect(data.samples.some((s) => HELD_OUT_FAMILIES.includes(s.family))).toBe(true)
  })

  it('is the same for the same seed', { timeout: 30_000 }, () => {
    const again = buildDataset({ humans, delbotBots: [], recorded: [] }, new Rng(11))
    expect(again.samples.length).toBe(data.samples.length)
    expect(again.samples.map((s) => Array.from(s.vector.slice(0, 5)))).toEqual(data.samples.map((s) => Array.from(s.vector.slice(0, 5))))
  })
})

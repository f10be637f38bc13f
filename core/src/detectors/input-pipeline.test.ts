import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { detectInjectedInput } from './input-pipeline'
import type { Environment } from './types'
import type { InputEvidence } from '../protocol/schema'

const desktopChrome: Environment = { engine: 'blink', browser: 'chrome', mobile: false, privacy: [], webview: null, inApp: null }
const none = { n: 0, ids: 0, pressures: 0, unitSize: 0, pressureMismatch: 0 }

/** Evidence as the recorder counts it: `moves` mouse pointermoves, `offGrid` and `sameFrame` of them. */
function evidence(moves: number, offGrid: number, sameFrame: number, dpr = 1): InputEvidence {
  return {
    moves,
    coalesced: moves,
    multi: 0,
    predicted: 0,
    raw: moves,
    offGrid,
    sameFrame,
    movementMismatch: 0,
    lag: [0, 0, moves, 0, 0, 0],
    dpr,
    mouse: { n: moves, ids: 1, pressures: 1, unitSize: moves, pressureMismatch: 0 },
    pen: none,
    touch: none,
  }
}

describe('detectInjectedInput', () => {
  it('names interpolated positions between device pixels (DevTools-protocol input with float coordinates)', () => {
    const [d] = detectInjectedInput(evidence(90, 86, 0), desktopChrome, 'Linux x86_64')
    expect(d).toMatchObject({ code: 'synthetic_input', detector: 'input_pipeline' })
    expect(d!.detail).toMatch(/86 of 90/)
  })

  it('names several moves dispatched within one animation frame, in Blink', () => {
    expect(detectInjectedInput(evidence(100, 0, 40), desktopChrome, 'Win32')).toHaveLength(1)
    // Other engines do not promise frame-aligned delivery.
    expect(detectInjectedInput(evidence(100, 0, 40), { ...desktopChrome, engine: 'gecko', browser: 'firefox' }, 'Win32')).toEqual([])
  })

  it('stands down where real devices do the same: sub-pixel macOS cursors, too few moves', () => {
    expect(detectInjectedInput(evidence(90, 86, 0), desktopChrome, 'MacIntel')).toEqual([])
    // Real input lands between device pixels at fractional ratios (Windows at 125% or 150%, page zoom).
    expect(detectInjectedInput(evidence(90, 90, 0, 1.5), desktopChrome, 'Win32')).toEqual([])
    expect(detectInjectedInput(evidence(90, 86, 0, 2), desktopChrome, 'Win32')).toHaveLength(1)
    expect(detectInjectedInput(evidence(12, 12, 12), desktopChrome, 'Win32')).toEqual([])
    expect(detectInjectedInput(evidence(200, 10, 20), desktopChrome, 'Win32')).toEqual([])
    expect(detectInjectedInput(undefined, desktopChrome, 'Win32')).toEqual([])
  })

  it('never throws on evidence that crossed the network malformed (property)', () => {
    fc.assert(
      fc.property(fc.anything(), fc.option(fc.string()), (value, platform) => {
        expect(Array.isArray(detectInjectedInput(value as InputEvidence, desktopChrome, platform))).toBe(true)
      }),
    )
  })
})

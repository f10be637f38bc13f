/** The engine's noisy-OR with graded evidence. */
import { describe, expect, it } from 'vitest'
import { assess, REASON_WEIGHTS } from '../src/risk/engine'

describe('assess', () => {
  it('combines weights as a noisy-OR and cuts the score at the thresholds', () => {
    expect(assess([])).toEqual({ score: 0, verdict: 'allow', reasons: [], evidence: [] })
    expect(assess(['bot_behavior'])).toMatchObject({ score: 0.6, verdict: 'review' })
    expect(assess(['bot_behavior', 'synthetic_input'])).toMatchObject({ score: 0.84, verdict: 'deny' })
  })

  it('grades evidence: a middling behaviour score adds part of its weight, never a review on its own', () => {
    expect(assess(['behavior_suspect'], undefined, { grades: { behavior_suspect: 0.5 } }).score).toBeCloseTo(REASON_WEIGHTS.behavior_suspect * 0.5, 3)
    expect(assess(['behavior_suspect'], undefined, { grades: { behavior_suspect: 1 } }).verdict).toBe('allow')
    // With another weak reason it tips into review; with a strong one it adds to a denial.
    expect(assess(['behavior_suspect', 'emulator'], undefined, { grades: { behavior_suspect: 1 } }).verdict).toBe('review')
    expect(assess(['behavior_suspect', 'synthetic_input'], undefined, { grades: { behavior_suspect: 1 } }).score).toBeGreaterThan(assess(['synthetic_input']).score)
    // Grades are clamped to 0–1.
    expect(assess(['behavior_suspect'], undefined, { grades: { behavior_suspect: 7 } }).score).toBe(REASON_WEIGHTS.behavior_suspect)
    expect(assess(['behavior_suspect'], undefined, { grades: { behavior_suspect: -1 } }).score).toBe(0)
  })

  it('takes risk away for verified platform evidence, and never turns reasons into nothing', () => {
    expect(assess(['automation'], undefined, { evidence: ['app_attest'] })).toMatchObject({ score: 0.485, verdict: 'review', evidence: ['app_attest'] })
    expect(assess([], undefined, { evidence: ['app_attest', 'private_token'] }).score).toBe(0)
    expect(assess(['automation'], undefined, { evidence: ['app_attest'], trust: { app_attest: 0 } }).score).toBe(0.97)
  })

  it('lets synthetic input alone ask for review, not deny', () => {
    expect(assess(['synthetic_input']).verdict).toBe('review')
  })
})

/** The in-distribution test figures the model card reports (cv.ts has the held-out ones). */
import { HELD_OUT_FAMILIES, type Sample } from './dataset'
import { rate, rocAuc, thresholdAtFpr } from './metrics'

type Scorer = (s: Sample) => number

interface FamilyRow {
  family: string
  n: number
  heldOut: boolean
  auc: number
  detectAt1: number
  detectAtShipped: number
}

interface HumanRow {
  source: string
  n: number
  fprAtShipped: number
}

export interface Evaluation {
  familyRows: FamilyRow[]
  humanRows: HumanRow[]
  /** Detection at 1% human FPR, averaged over bot families. */
  meanDetect: number
  thresholdAt1: number
}

export function evaluate(test: readonly Sample[], scoreOf: Scorer, threshold: number): Evaluation {
  const testHumans = test.filter((s) => s.kind === 'human')
  const humanScores = testHumans.map(scoreOf)
  const thresholdAt1 = thresholdAtFpr(humanScores, 0.01)
  const families = [...new Set(test.filter((s) => s.kind === 'bot').map((s) => s.family))].sort()
  const familyRows = families.map((family) => {
    const bots = test.filter((s) => s.kind === 'bot' && s.family === family).map(scoreOf)
    return { family, n: bots.length, heldOut: HELD_OUT_FAMILIES.includes(family), auc: rocAuc(humanScores, bots), detectAt1: rate(bots, thresholdAt1), detectAtShipped: rate(bots, threshold) }
  })
  const humanRows = [...new Set(testHumans.map((s) => s.source))].sort().map((source) => {
    const scores = testHumans.filter((s) => s.source === source).map(scoreOf)
    return { source, n: scores.length, fprAtShipped: rate(scores, threshold) }
  })
  const meanDetect = familyRows.reduce((a, r) => a + r.detectAt1, 0) / familyRows.length
  return { familyRows, humanRows, meanDetect, thresholdAt1 }
}

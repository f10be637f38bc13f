/**
 * Injected pointer input, judged from the recorder's input evidence (InputEvidence in
 * protocol/schema.ts): what the browser's input pipeline showed of the pointing device.
 *
 * A physical mouse moves the cursor by whole device pixels, and Blink delivers its
 * reports aligned to animation frames, one pointermove per frame at most (faster reports
 * are coalesced into it). Automation that sends DevTools-protocol input
 * (`Input.dispatchMouseEvent`: Playwright, Puppeteer and every kit built on them) passes
 * positions as floating-point CSS pixels — interpolated paths land between pixels — and a
 * kit that sends the next point as soon as the last was acknowledged gets several moves
 * dispatched within one frame. Either, over enough moves, is `synthetic_input`.
 * docs/detectors.md ("Input pipeline") has the measurements and what a careful attacker
 * would have to fake.
 */
import type { InputEvidence } from '../protocol/schema'
import type { Detection, Environment } from './types'

/** Below this many mouse pointermoves the shares are too noisy to judge. */
const MIN_MOVES = 20
/** Share of mouse moves off the device-pixel grid. */
const OFF_GRID_SHARE = 0.2
/** Share of mouse moves dispatched within 3 ms of the previous one. */
const SAME_FRAME_SHARE = 0.25

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0

/**
 * @param platform navigator.platform as the signals report it: macOS can report sub-pixel
 *   cursor positions, so the grid test stands down there.
 */
export function detectInjectedInput(evidence: InputEvidence | undefined, env: Environment, platform: string | null): Detection[] {
  if (!evidence || typeof evidence !== 'object') return []
  const moves = evidence.mouse?.n
  const { offGrid, sameFrame } = evidence
  if (!isCount(moves) || !isCount(offGrid) || !isCount(sameFrame) || !isCount(evidence.moves)) return []
  const mouseMoves = Math.min(moves, evidence.moves)
  if (mouseMoves < MIN_MOVES) return []
  const out: Detection[] = []
  const mac = platform !== null && /^mac/i.test(platform)
  // At a fractional device-pixel ratio (1.25, 1.5; page zoom) real input lands between
  // device pixels too (measured: scripts/measure-input-evidence.ts), so the grid says nothing there.
  const wholeRatio = typeof evidence.dpr === 'number' && Number.isInteger(evidence.dpr)
  if (!mac && wholeRatio && offGrid / mouseMoves >= OFF_GRID_SHARE) {
    out.push({ code: 'synthetic_input', detector: 'input_pipeline', detail: `${offGrid} of ${mouseMoves} mouse moves between device pixels` })
  }
  if (env.engine === 'blink' && !env.mobile && sameFrame / mouseMoves >= SAME_FRAME_SHARE) {
    out.push({ code: 'synthetic_input', detector: 'input_pipeline', detail: `${sameFrame} of ${mouseMoves} mouse moves dispatched within one frame of the previous` })
  }
  return out
}

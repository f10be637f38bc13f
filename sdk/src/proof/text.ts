/** The text probe (core/src/protocol/probes.ts): canvas text metrics, kerning off. Runs in a worker or the page. */
import type { TextPlan } from '@vigil-risk/core/protocol/probes'
import type { Proof } from '@vigil-risk/core/protocol/schema'

type Context = Pick<CanvasRenderingContext2D, 'font' | 'measureText'> & { fontKerning?: string }

export function measureText(ctx: Context | null, plan: TextPlan): NonNullable<Proof['text']> {
  if (!ctx) return { e: 'no_canvas' }
  ctx.fontKerning = 'none'
  ctx.font = plan.font
  const width = (text: string): number => ctx.measureText(text).width
  const g = plan.glyphs.map(width)
  const s = plan.strings.map(width)
  ctx.font = plan.mono
  const m = plan.strings.map(width)
  return { g, s, m }
}

/**
 * Canvas rendering, for the device fingerprint: text and shapes drawn the same way come
 * out slightly differently per GPU, driver, font stack and anti-aliasing. FingerprintJS
 * reads its canvases back with toDataURL (PNG encoding, 20–50 ms here) and hashes the
 * data URLs (another 15–45 ms); we read the pixels and hash them, text and shapes in
 * separate tasks, and mark the result unstable when the browser adds noise.
 */
export interface CanvasPrint {
  winding: boolean
  text: string
  shapes: string
}

/** FNV-1a over the pixels, 32 bits, as hex. */
function hashPixels(data: Uint8ClampedArray): string {
  let h = 0x811c9dc5
  for (let i = 0; i < data.length; i++) {
    h ^= data[i]!
    h = Math.imul(h, 0x01000193)
  }
  return (h >>> 0).toString(16).padStart(8, '0')
}

function drawLatin(ctx: CanvasRenderingContext2D): void {
  ctx.fillStyle = '#eee'
  ctx.fillRect(0, 0, 260, 64)
  ctx.textBaseline = 'top'
  ctx.font = '15px "Times New Roman"'
  ctx.fillStyle = '#c2185b'
  ctx.fillText('Vigil fox jumps 0.9 Qzx,', 4, 6)
  ctx.font = 'italic 20px Arial'
  ctx.fillStyle = 'rgba(0, 96, 160, 0.6)'
  ctx.shadowColor = 'rgba(255, 120, 0, 0.5)'
  ctx.shadowBlur = 3
  ctx.fillText('Wahoo! ñ ß @ $ & {}', 10, 30)
  ctx.shadowBlur = 0
}
// Characters outside Latin-1 are left out on purpose: missing glyphs send the renderer
// searching the system for a fallback font, a one-off 20–50 ms on Linux (emoji worst).

function drawShapes(ctx: CanvasRenderingContext2D): void {
  ctx.globalCompositeOperation = 'screen'
  const gradient = ctx.createLinearGradient(0, 0, 120, 120)
  gradient.addColorStop(0, '#0af')
  gradient.addColorStop(1, '#f50')
  ctx.fillStyle = gradient
  ctx.beginPath()
  ctx.ellipse(50, 55, 44, 30, 0.6, 0, Math.PI * 2)
  ctx.fill()
  ctx.globalCompositeOperation = 'multiply'
  for (const [color, x, y, r] of [['#e3c', 70, 45, 32], ['#3ce', 45, 75, 28], ['#ec3', 85, 80, 22]] as const) {
    ctx.fillStyle = color
    ctx.beginPath()
    ctx.arc(x, y, r, 0, Math.PI * 2)
    ctx.fill()
  }
  ctx.globalCompositeOperation = 'source-over'
  ctx.strokeStyle = 'rgba(20, 20, 20, 0.7)'
  ctx.lineWidth = 2.5
  ctx.beginPath()
  ctx.moveTo(5, 110)
  ctx.bezierCurveTo(40, 10, 80, 130, 118, 20)
  ctx.stroke()
}

import { nextTask } from './slice'

export async function getCanvas(): Promise<CanvasPrint | 'unsupported'> {
  const canvas = document.createElement('canvas')
  const ctx = canvas.getContext('2d', { willReadFrequently: true })
  if (!ctx) return 'unsupported'
  ctx.rect(0, 0, 10, 10)
  ctx.rect(2, 2, 6, 6)
  const winding = !ctx.isPointInPath(5, 5, 'evenodd')
  // One step per task: the first text drawn costs font lookups, each read a full copy.
  await nextTask()
  canvas.width = 260
  canvas.height = 64
  drawLatin(ctx)
  await nextTask()
  const first = hashPixels(ctx.getImageData(0, 0, 260, 64).data)
  // Privacy modes (Safari, Firefox, Brave) add per-read noise: a second read tells.
  const text = hashPixels(ctx.getImageData(0, 0, 260, 64).data) === first ? first : 'unstable'
  await nextTask()
  canvas.width = 124
  canvas.height = 124
  drawShapes(ctx)
  const shapes = text === 'unstable' ? 'unstable' : hashPixels(ctx.getImageData(0, 0, 124, 124).data)
  return { winding, text, shapes }
}

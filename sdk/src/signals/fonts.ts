/**
 * Installed fonts, for the device fingerprint. A font counts as present when text set
 * in it measures differently from each generic fallback. FingerprintJS measures its
 * fonts with DOM layout inside an iframe, all at once: a 60–130 ms long task here.
 * This measures with canvas text metrics (no style or layout work) in time slices;
 * each font still costs a lookup in the system's font matcher (1–7 ms on Linux).
 */
import { nextTask, sliced } from './slice'

const FALLBACKS = ['monospace', 'sans-serif', 'serif'] as const
const FONTS = [
  'Arial Unicode MS', 'Bahnschrift', 'Calibri', 'Cambria', 'Candara', 'Century Gothic', 'Comic Sans MS', 'Consolas',
  'Constantia', 'Corbel', 'Franklin Gothic Medium', 'Gabriola', 'Georgia', 'Impact', 'Lucida Console', 'Lucida Sans Unicode',
  'Marlett', 'Meiryo', 'Microsoft YaHei', 'MS Gothic', 'MS Mincho', 'MingLiU', 'Segoe UI', 'Segoe UI Emoji', 'SimSun',
  'Sylfaen', 'Tahoma', 'Trebuchet MS', 'Verdana', 'Yu Gothic', 'Avenir', 'Futura', 'Geneva', 'Gill Sans', 'Helvetica Neue',
  'Hiragino Sans', 'Menlo', 'Monaco', 'Optima', 'PingFang SC', 'Apple Color Emoji', 'Cantarell', 'DejaVu Sans',
  'Droid Sans', 'Liberation Sans', 'Noto Color Emoji', 'Noto Sans CJK SC', 'Roboto', 'Ubuntu', 'Source Code Pro',
]
const TEXT = 'mmMwWLliI0fiflO&1'

export async function getFonts(): Promise<string[]> {
  await nextTask()
  const ctx = document.createElement('canvas').getContext('2d')
  if (!ctx) return []
  const width = (family: string): number => {
    ctx.font = `64px ${family}`
    return ctx.measureText(TEXT).width
  }
  const base = FALLBACKS.map(width)
  const found: string[] = []
  await sliced(FONTS, (font) => {
    if (FALLBACKS.some((fallback, i) => width(`'${font}',${fallback}`) !== base[i])) found.push(font)
  })
  return found
}

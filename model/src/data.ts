/**
 * Loaders for the research datasets in ../shared/data (see its README): SapiMouse, Balabit
 * and Freihaut (humans) and DELBOT (humans and real bot libraries). Each recording becomes a
 * Session of trace events (the trace format, docs/protocol.md), as the SDK's recorder would have captured it.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import type { TraceEvent } from '@vigil-risk/core/protocol/trace'

export interface Session {
  /** sapimouse, balabit, freihaut, delbot_human_pc1, …, or a bot family. */
  source: string
  /** The person (humans) or generator run (bots): the unit of splitting. */
  group: string
  kind: 'human' | 'bot'
  /** Bot family; for humans, the source. */
  family: string
  events: TraceEvent[]
  /** A recording of one gesture, scored whole rather than cut into windows. */
  whole?: boolean
}

const BUTTON: Record<string, number> = { Left: 0, Middle: 1, Right: 2 }

/** Rows of (t ms, button, state, x, y) in the SapiMouse / Balabit vocabulary → events. */
function fromRows(rows: Array<[number, string, string, number, number]>): TraceEvent[] {
  const events: TraceEvent[] = []
  if (rows.length === 0) return events
  const t0 = rows[0]![0]
  let last = -Infinity
  for (const [tRaw, button, state, x, y] of rows) {
    // Recordings occasionally step back in time; the trace format does not.
    const t = Math.max(last, Math.round((tRaw - t0) * 10) / 10)
    last = t
    const b = BUTTON[button] ?? 0
    if (state === 'Move' || state === 'Drag') events.push({ type: 'mousemove', t, x, y })
    else if (state === 'Pressed') events.push({ type: 'mousedown', t, x, y, button: b })
    else if (state === 'Released') {
      events.push({ type: 'mouseup', t, x, y, button: b })
      if (b === 0) events.push({ type: 'click', t, x, y, button: 0 })
    } else if (state === 'Up' || state === 'Down') events.push({ type: 'wheel', t, x, y, dx: 0, dy: state === 'Down' ? 100 : -100 })
  }
  return events
}

function csvRows(text: string, timeColumn: number, scale: number): Array<[number, string, string, number, number]> {
  const rows: Array<[number, string, string, number, number]> = []
  for (const line of text.split('\n').slice(1)) {
    const cols = line.trim().split(',')
    if (cols.length < timeColumn + 5) continue
    const t = Number(cols[timeColumn]) * scale
    const x = Number(cols[timeColumn + 3])
    const y = Number(cols[timeColumn + 4])
    if (!Number.isFinite(t) || !Number.isFinite(x) || !Number.isFinite(y)) continue
    rows.push([t, cols[timeColumn + 1]!, cols[timeColumn + 2]!, x, y])
  }
  return rows
}

export function loadSapiMouse(root: string): Session[] {
  const dir = join(root, 'sapimouse')
  if (!existsSync(dir)) return []
  const out: Session[] = []
  for (const user of readdirSync(dir).sort()) {
    for (const file of readdirSync(join(dir, user)).sort()) {
      if (!file.endsWith('.csv')) continue
      const events = fromRows(csvRows(readFileSync(join(dir, user, file), 'utf8'), 0, 1))
      out.push({ source: 'sapimouse', group: `sapimouse/${user}`, kind: 'human', family: 'sapimouse', events })
    }
  }
  return out
}

/**
 * Freihaut & Göritz (2021): 57 people clicking circles in a lab, under a high- and a
 * low-stress condition (`pNN_{HS,LS}.csv`, SapiMouse's header). The person is the group.
 * The source logs a click as one event, so press and release share a timestamp: its
 * windows carry no click dwell (dataset.ts keeps dwell out of the model for that reason).
 */
export function loadFreihaut(root: string): Session[] {
  const dir = join(root, 'freihaut')
  if (!existsSync(dir)) return []
  const out: Session[] = []
  for (const file of readdirSync(dir).sort()) {
    const m = /^(p\d+)_[A-Z]+\.csv$/.exec(file)
    if (!m) continue
    const events = fromRows(csvRows(readFileSync(join(dir, file), 'utf8'), 0, 1))
    out.push({ source: 'freihaut', group: `freihaut/${m[1]}`, kind: 'human', family: 'freihaut', events })
  }
  return out
}

export function loadBalabit(root: string): Session[] {
  const dir = join(root, 'balabit', 'training_files')
  if (!existsSync(dir)) return []
  const out: Session[] = []
  for (const user of readdirSync(dir).sort()) {
    for (const file of readdirSync(join(dir, user)).sort()) {
      const raw = readFileSync(join(dir, user, file))
      const text = file.endsWith('.gz') ? gunzipSync(raw).toString('utf8') : raw.toString('utf8')
      // Column 1 is the client timestamp, in seconds.
      const events = fromRows(csvRows(text, 1, 1000))
      out.push({ source: 'balabit', group: `balabit/${user}`, kind: 'human', family: 'balabit', events })
    }
  }
  return out
}

/** One DELBOT trajectory file: `resolution:W,H`, then `t_ms,type,x,y`. */
export function parseDelbot(text: string): TraceEvent[] {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean)
  const res = /resolution:(\d+),(\d+)/.exec(lines[0] ?? '')
  const width = res ? Number(res[1]) : 1920
  const height = res ? Number(res[2]) : 1080
  const rows = lines.slice(res ? 1 : 0).map((l) => l.split(',')).filter((c) => c.length >= 4)
  const normalised = rows.every((c) => Number(c[2]) <= 1 && Number(c[3]) <= 1)
  const events: TraceEvent[] = []
  if (rows.length === 0) return events
  const t0 = Number(rows[0]![0])
  let last = -Infinity
  for (const [tRaw, type, xs, ys] of rows) {
    const t = Math.max(last, Math.round((Number(tRaw) - t0) * 10) / 10)
    last = t
    const x = normalised ? Number(xs) * width : Number(xs)
    const y = normalised ? Number(ys) * height : Number(ys)
    if (!Number.isFinite(t) || !Number.isFinite(x) || !Number.isFinite(y)) continue
    const touch = type!.endsWith('Touch')
    const kind = touch ? type!.slice(0, -'Touch'.length) : type!
    if (kind === 'Move') events.push({ type: touch ? 'touchmove' : 'mousemove', t, x, y })
    else if (kind === 'Pressed') events.push(touch ? { type: 'touchstart', t, x, y } : { type: 'mousedown', t, x, y, button: 0 })
    else if (kind === 'Released') {
      if (touch) events.push({ type: 'touchend', t, x, y })
      else events.push({ type: 'mouseup', t, x, y, button: 0 }, { type: 'click', t, x, y, button: 0 })
    }
  }
  return events
}

export function loadDelbot(root: string): Session[] {
  const dir = join(root, 'delbot')
  if (!existsSync(dir)) return []
  const out: Session[] = []
  for (const folder of readdirSync(dir).sort()) {
    const bot = folder.includes('_bot_')
    const family = bot ? `delbot_${folder.split('_bot_')[1]}` : `delbot_human_${folder.split('_human_')[1]}`
    for (const file of readdirSync(join(dir, folder)).sort()) {
      if (!file.endsWith('.txt')) continue
      const events = parseDelbot(readFileSync(join(dir, folder, file), 'utf8'))
      // DELBOT records few people per folder: the folder is the group.
      out.push({ source: family, group: family, kind: bot ? 'bot' : 'human', family, events, whole: true })
    }
  }
  return out
}

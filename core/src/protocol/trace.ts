/**
 * The behaviour trace: the recorder's output and the classifier's input.
 * The trace format (docs/protocol.md, "Trace format"): `{ id, events: Event[], viewport? }`,
 * Event = { type, t, x?, y?, button?, dx?, dy? }, t in ms from the start of the trace
 * (non-decreasing), x/y in CSS px. No key values, ever.
 *
 * On the wire the SDK sends a compact columnar form (CompactTrace); `expandTrace`
 * turns it back into events. DOM-free: SDK, collector and trainer share it.
 */
import { MAX_TRACE_EVENTS } from './payload'
import type { CompactTrace } from './schema'

export const EVENT_TYPES = [
  'mousemove', 'mousedown', 'mouseup', 'click', 'wheel', 'scroll',
  'touchstart', 'touchmove', 'touchend', 'keydown', 'keyup',
] as const

export type EventType = (typeof EVENT_TYPES)[number]

export interface TraceEvent {
  type: EventType
  t: number
  x?: number
  y?: number
  button?: number
  dx?: number
  dy?: number
}

export interface Trace {
  id: string
  events: TraceEvent[]
  viewport?: { width: number; height: number }
}


export const KEY_TYPES: ReadonlySet<EventType> = new Set(['keydown', 'keyup'])
export const BUTTON_TYPES: ReadonlySet<EventType> = new Set(['mousedown', 'mouseup', 'click'])

export const TYPE_CODE: Readonly<Record<string, number>> = Object.fromEntries(EVENT_TYPES.map((type, i) => [type, i]))

export class TraceFormatError extends Error {
  override readonly name = 'TraceFormatError'
}

/** Expands a compact trace; throws TraceFormatError on anything malformed. */
export function expandTrace(compact: CompactTrace): TraceEvent[] {
  const { k, t, x, y, b, c } = compact
  const n = Array.isArray(k) ? k.length : -1
  if (n < 0 || n > MAX_TRACE_EVENTS || [t, x, y, b, c].some((col) => !Array.isArray(col) || col.length !== n)) {
    throw new TraceFormatError('trace columns must be arrays of equal length')
  }
  const events: TraceEvent[] = []
  let time = 0
  let px = 0
  let py = 0
  for (let i = 0; i < n; i++) {
    const code = k[i]
    const dt = t[i]
    const ddx = x[i]
    const ddy = y[i]
    const bi = b[i]
    const ci = c[i]
    if (typeof code !== 'number' || !Number.isInteger(code) || code < 0 || code >= EVENT_TYPES.length) throw new TraceFormatError(`bad event type at ${i}`)
    if (!isSmallNumber(dt) || !isSmallNumber(ddx) || !isSmallNumber(ddy) || !isSmallNumber(bi) || !isSmallNumber(ci)) throw new TraceFormatError(`bad number at ${i}`)
    if (dt < 0) throw new TraceFormatError(`time goes backwards at ${i}`)
    time += dt / 10
    const type = EVENT_TYPES[code]!
    const at = Math.round(time * 10) / 10
    // One object literal per kind of event: the same fields in the same order as ever, and
    // few shapes for the feature code that reads them (the collector's hottest loop).
    const kind = SHAPE[code]!
    if (kind === KEY_SHAPE) {
      events.push({ type, t: at })
      continue
    }
    px += ddx
    py += ddy
    events.push(kind === BUTTON_SHAPE ? { type, t: at, x: px, y: py, button: bi } : kind === WHEEL_SHAPE ? { type, t: at, x: px, y: py, dx: bi, dy: ci } : { type, t: at, x: px, y: py })
  }
  return events
}

/** A finite number no larger than 1e9 either way: what a trace column may hold. */
const isSmallNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && Math.abs(v) <= 1e9

/** An event's fields beyond type and t: none (keys), a position and a button, a position and a wheel's deltas, or a position. */
const KEY_SHAPE = 0
const BUTTON_SHAPE = 1
const WHEEL_SHAPE = 2
const POSITION_SHAPE = 3
/** The shape of each event type, by type code. Pure: a bundle that never expands a trace (the SDK's) drops it. */
const SHAPE: readonly number[] = /*#__PURE__*/ EVENT_TYPES.map((type) =>
  KEY_TYPES.has(type) ? KEY_SHAPE : BUTTON_TYPES.has(type) ? BUTTON_SHAPE : type === 'wheel' ? WHEEL_SHAPE : POSITION_SHAPE,
)

/** The inverse of expandTrace (used by tests and tools; the recorder writes columns directly). */
export function compactTrace(events: readonly TraceEvent[]): CompactTrace {
  const out: CompactTrace = { k: [], t: [], x: [], y: [], b: [], c: [] }
  let time = 0
  let px = 0
  let py = 0
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!
    const tenths = Math.round(e.t * 10)
    out.k.push(TYPE_CODE[e.type]!)
    out.t.push(tenths - time)
    time = tenths
    if (KEY_TYPES.has(e.type)) {
      out.x.push(0)
      out.y.push(0)
    } else {
      const nx = Math.round(e.x ?? px)
      const ny = Math.round(e.y ?? py)
      out.x.push(nx - px)
      out.y.push(ny - py)
      px = nx
      py = ny
    }
    out.b.push(e.type === 'wheel' ? Math.round(e.dx ?? 0) : BUTTON_TYPES.has(e.type) ? (e.button ?? 0) : 0)
    out.c.push(e.type === 'wheel' ? Math.round(e.dy ?? 0) : 0)
  }
  return out
}

/**
 * Parses one JSON line of the trace format. Unknown fields and unknown event types are
 * ignored; anything else that is wrong throws a TraceFormatError saying what and where.
 */
export function parseTraceLine(line: string): Trace {
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch (err) {
    throw new TraceFormatError(`not JSON (${(err as Error).message})`)
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new TraceFormatError('a trace must be a JSON object')
  const obj = value as Record<string, unknown>
  if (typeof obj['id'] !== 'string' && typeof obj['id'] !== 'number') throw new TraceFormatError('"id" must be a string')
  if (!Array.isArray(obj['events'])) throw new TraceFormatError('"events" must be an array')
  const events: TraceEvent[] = []
  let last = -Infinity
  obj['events'].forEach((raw: unknown, i: number) => {
    if (typeof raw !== 'object' || raw === null) throw new TraceFormatError(`events[${i}] is not an object`)
    const e = raw as Record<string, unknown>
    if (typeof e['type'] !== 'string') throw new TraceFormatError(`events[${i}].type must be a string`)
    if (!(EVENT_TYPES as readonly string[]).includes(e['type'])) return
    const t = e['t']
    if (typeof t !== 'number' || !Number.isFinite(t)) throw new TraceFormatError(`events[${i}].t must be a number`)
    if (t < last) throw new TraceFormatError(`events[${i}].t goes back in time (${t} after ${last})`)
    last = t
    const event: TraceEvent = { type: e['type'] as EventType, t }
    for (const key of ['x', 'y', 'button', 'dx', 'dy'] as const) {
      const v = e[key]
      if (v === undefined || v === null) continue
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new TraceFormatError(`events[${i}].${key} must be a number`)
      event[key] = v
    }
    events.push(event)
  })
  const trace: Trace = { id: String(obj['id']), events }
  const vp = obj['viewport'] as { width?: unknown; height?: unknown } | undefined
  if (vp && typeof vp === 'object' && typeof vp.width === 'number' && typeof vp.height === 'number') trace.viewport = { width: vp.width, height: vp.height }
  return trace
}

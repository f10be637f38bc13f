/**
 * The behaviour recorder: passive, capture-phase listeners writing into a bounded
 * ring of typed arrays. It keeps what the classifier needs — when and where the
 * pointer moved, pressed and scrolled, and *when* keys went down and up — and never
 * a key value, a field's content or an event target.
 *
 * Beside the trace it counts what the input pipeline shows of the pointing device
 * (pointer events: coalesced and predicted reports, raw updates, delivery lag, the
 * device-pixel grid, pressure and size): counts only, never a position or a value.
 * docs/detectors.md ("Input pipeline") says what each count tells.
 *
 * Cost per event is a few typed-array writes or counter increments (see `npm run bench`).
 */
import { EVENT_TYPES, KEY_TYPES, TYPE_CODE } from '@vigil-risk/core/protocol/trace'
import type { CompactTrace, InputEvidence } from '@vigil-risk/core/protocol/schema'

const RING_CAPACITY = 2048

interface BehaviorSummary {
  /** Trusted events seen, per EVENT_TYPES index, since recording started. */
  counts: number[]
  /** Untrusted (script-dispatched) events, per EVENT_TYPES index. */
  untrusted: number[]
  focus: number
  blur: number
  hidden: number
  /** ms from recording start to the first trusted input event; null if none. */
  firstInput: number | null
  /** ms recorded so far. */
  duration: number
  /** Events that fell out of the ring. */
  dropped: number
  /** navigator.userActivation: has the user ever interacted, and just now? */
  activation: [boolean, boolean] | null
  viewport: [number, number]
}

export interface BehaviorSnapshot {
  trace: CompactTrace
  summary: BehaviorSummary
  input: InputEvidence
}

const LINE_HEIGHT_PX = 16

export interface Recorder {
  snapshot(maxEvents: number): BehaviorSnapshot
  /** The trace's clock: ms since recording started, the time base of trace events. */
  clock(): number
  stop(): void
  /** For benchmarks: the per-event path without the DOM. */
  record(event: Event): void
  /** For benchmarks: the pointer-event path (input evidence). */
  recordPointer(event: Event): void
}

const POINTER_TYPES = ['pointermove', 'pointerdown', 'pointerrawupdate'] as const
/** Upper bounds of the delivery-lag buckets, ms (the last is open). */
const LAG_BOUNDS = [0, 1, 4, 16, 50]
const DISTINCT_MAX = 16

interface TypeTally {
  n: number
  ids: Set<number>
  pressures: Set<number>
  unitSize: number
  pressureMismatch: number
}

const tally = (): TypeTally => ({ n: 0, ids: new Set(), pressures: new Set(), unitSize: 0, pressureMismatch: 0 })

export function startRecorder(target: Window = window): Recorder {
  const kind = new Uint8Array(RING_CAPACITY)
  const time = new Float64Array(RING_CAPACITY)
  const xs = new Float32Array(RING_CAPACITY)
  const ys = new Float32Array(RING_CAPACITY)
  const bs = new Float32Array(RING_CAPACITY)
  const cs = new Float32Array(RING_CAPACITY)
  let next = 0
  let size = 0
  let dropped = 0
  const counts = new Array<number>(EVENT_TYPES.length).fill(0)
  const untrusted = new Array<number>(EVENT_TYPES.length).fill(0)
  let focus = 0
  let blur = 0
  let hidden = 0
  let firstInput: number | null = null
  const origin = performance.now()
  // The last pointer position: a scroll is recorded there (no position of its own: reading
  // scrollX/scrollY in the listener can force a layout on every scroll, and nothing uses it).
  let lastX = 0
  let lastY = 0

  // Input evidence (pointer events): counters only.
  const types: Record<'mouse' | 'pen' | 'touch', TypeTally> = { mouse: tally(), pen: tally(), touch: tally() }
  const lag = [0, 0, 0, 0, 0, 0]
  let moves = 0
  let coalesced = 0
  let multi = 0
  let predicted = 0
  let raw = 0
  let offGrid = 0
  let sameFrame = 0
  let movementMismatch = 0
  let lastMoveAt = -Infinity
  let lastScreenX: number | null = null
  let lastScreenY = 0

  const recordPointer = (event: Event): void => {
    if (!event.isTrusted) return
    if (event.type === 'pointerrawupdate') {
      raw++
      return
    }
    const e = event as PointerEvent
    const kind = e.pointerType === 'mouse' || e.pointerType === 'pen' || e.pointerType === 'touch' ? types[e.pointerType] : null
    if (kind) {
      kind.n++
      if (kind.ids.size < DISTINCT_MAX) kind.ids.add(e.pointerId)
      if (kind.pressures.size < DISTINCT_MAX) kind.pressures.add(Math.round(e.pressure * 100))
      if (e.width === 1 && e.height === 1) kind.unitSize++
      if (kind === types.mouse && e.pressure !== (e.buttons ? 0.5 : 0)) kind.pressureMismatch++
    }
    if (event.type !== 'pointermove') return
    moves++
    const now = performance.now()
    if (e.timeStamp < 1e12) {
      const late = now - e.timeStamp
      let b = 0
      while (b < LAG_BOUNDS.length && late >= LAG_BOUNDS[b]!) b++
      lag[b]!++
    }
    if (typeof e.getCoalescedEvents === 'function') {
      const c = e.getCoalescedEvents().length
      coalesced += c
      if (c >= 2) multi++
    }
    if (typeof e.getPredictedEvents === 'function' && e.getPredictedEvents().length > 0) predicted++
    if (kind !== types.mouse) return
    if (now - lastMoveAt < 3) sameFrame++
    lastMoveAt = now
    const dpr = target.devicePixelRatio || 1
    const gx = e.clientX * dpr
    const gy = e.clientY * dpr
    if (Math.abs(gx - Math.round(gx)) > 0.02 || Math.abs(gy - Math.round(gy)) > 0.02) offGrid++
    if (lastScreenX !== null && (Math.abs(e.movementX - (e.screenX - lastScreenX)) > 1 || Math.abs(e.movementY - (e.screenY - lastScreenY)) > 1)) movementMismatch++
    lastScreenX = e.screenX
    lastScreenY = e.screenY
  }

  const push = (code: number, t: number, x: number, y: number, b: number, c: number): void => {
    kind[next] = code
    time[next] = t
    xs[next] = x
    ys[next] = y
    bs[next] = b
    cs[next] = c
    next = (next + 1) % RING_CAPACITY
    if (size < RING_CAPACITY) size++
    else dropped++
  }

  const record = (event: Event): void => {
    const code = TYPE_CODE[event.type]
    if (code === undefined) return
    if (!event.isTrusted) {
      untrusted[code]!++
      return
    }
    counts[code]!++
    // timeStamp is relative to the time origin in every current browser.
    const t = (event.timeStamp > 1e12 ? performance.now() : event.timeStamp) - origin
    if (firstInput === null && code !== 5) firstInput = Math.max(0, t)
    if (code <= 4) {
      const m = event as MouseEvent
      if (code === 4) {
        const w = event as WheelEvent
        const scale = w.deltaMode === 1 ? LINE_HEIGHT_PX : w.deltaMode === 2 ? target.innerHeight : 1
        push(code, t, (lastX = m.clientX), (lastY = m.clientY), w.deltaX * scale, w.deltaY * scale)
      } else {
        push(code, t, (lastX = m.clientX), (lastY = m.clientY), m.button, 0)
      }
    } else if (code === 5) {
      push(code, t, lastX, lastY, 0, 0)
    } else if (code <= 8) {
      const touch = (event as TouchEvent).changedTouches?.[0]
      push(code, t, (lastX = touch ? touch.clientX : 0), (lastY = touch ? touch.clientY : 0), 0, 0)
    } else {
      // Key timing only: not which key, not where.
      push(code, t, 0, 0, 0, 0)
    }
  }

  const onFocus = (): void => void focus++
  const onBlur = (): void => void blur++
  const onVisibility = (): void => {
    if (document.visibilityState === 'hidden') hidden++
  }
  const options: AddEventListenerOptions = { capture: true, passive: true }
  for (const type of EVENT_TYPES) target.addEventListener(type, record, options)
  for (const type of POINTER_TYPES) target.addEventListener(type, recordPointer, options)
  target.addEventListener('focus', onFocus)
  target.addEventListener('blur', onBlur)
  document.addEventListener('visibilitychange', onVisibility)

  return {
    record,
    recordPointer,
    stop() {
      for (const type of EVENT_TYPES) target.removeEventListener(type, record, options)
      for (const type of POINTER_TYPES) target.removeEventListener(type, recordPointer, options)
      target.removeEventListener('focus', onFocus)
      target.removeEventListener('blur', onBlur)
      document.removeEventListener('visibilitychange', onVisibility)
    },
    clock: () => performance.now() - origin,
    snapshot(maxEvents) {
      const n = Math.min(size, maxEvents)
      const trace: CompactTrace = { k: [], t: [], x: [], y: [], b: [], c: [] }
      let prevT = 0
      let prevX = 0
      let prevY = 0
      for (let i = 0; i < n; i++) {
        const at = (next - n + i + RING_CAPACITY) % RING_CAPACITY
        const code = kind[at]!
        const tenths = Math.max(prevT, Math.round(time[at]! * 10))
        trace.k.push(code)
        trace.t.push(tenths - prevT)
        prevT = tenths
        if (KEY_TYPES.has(EVENT_TYPES[code]!)) {
          trace.x.push(0)
          trace.y.push(0)
        } else {
          const x = Math.round(xs[at]!)
          const y = Math.round(ys[at]!)
          trace.x.push(x - prevX)
          trace.y.push(y - prevY)
          prevX = x
          prevY = y
        }
        trace.b.push(Math.round(bs[at]!))
        trace.c.push(Math.round(cs[at]!))
      }
      const activation = (navigator as { userActivation?: { hasBeenActive: boolean; isActive: boolean } }).userActivation
      return {
        trace,
        summary: {
          counts: counts.slice(),
          untrusted: untrusted.slice(),
          focus,
          blur,
          hidden,
          firstInput: firstInput === null ? null : Math.round(firstInput),
          duration: Math.round(performance.now() - origin),
          dropped,
          activation: activation ? [activation.hasBeenActive, activation.isActive] : null,
          viewport: [target.innerWidth, target.innerHeight],
        },
        input: {
          moves,
          coalesced,
          multi,
          predicted,
          raw,
          offGrid,
          sameFrame,
          movementMismatch,
          lag: lag.slice(),
          dpr: Math.min(100, target.devicePixelRatio || 1),
          mouse: tallied(types.mouse),
          pen: tallied(types.pen),
          touch: tallied(types.touch),
        },
      }
    },
  }
}

function tallied(t: TypeTally): InputEvidence['mouse'] {
  return { n: t.n, ids: t.ids.size, pressures: t.pressures.size, unitSize: t.unitSize, pressureMismatch: t.pressureMismatch }
}

/**
 * The behaviour recorder: passive, capture-phase listeners writing into a bounded
 * ring of typed arrays. It keeps what the classifier needs — when and where the
 * pointer moved, pressed and scrolled, and *when* keys went down and up — and never
 * a key value, a field's content or an event target.
 *
 * Cost per event is a few typed-array writes (see `npm run bench`).
 */
import { EVENT_TYPES, KEY_TYPES, TYPE_CODE } from '@vigil-risk/core/protocol/trace'
import type { CompactTrace } from '@vigil-risk/core/protocol/schema'

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
}

const LINE_HEIGHT_PX = 16

export interface Recorder {
  snapshot(maxEvents: number): BehaviorSnapshot
  /** The trace's clock: ms since recording started, the time base of trace events. */
  clock(): number
  stop(): void
  /** For benchmarks: the per-event path without the DOM. */
  record(event: Event): void
}

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
  target.addEventListener('focus', onFocus)
  target.addEventListener('blur', onBlur)
  document.addEventListener('visibilitychange', onVisibility)

  return {
    record,
    stop() {
      for (const type of EVENT_TYPES) target.removeEventListener(type, record, options)
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
      }
    },
  }
}

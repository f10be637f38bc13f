/**
 * Everything the collector reads from a behaviour trace, in one pure function of the
 * trace as sent and the page's own claim: the expanded events' summary, the server's
 * re-score (behavior.ts) and the replay sketch (replay.ts). It is most of a collect's
 * CPU, and it needs nothing but its input, so it can run on another thread
 * (scoring-pool.ts) while the request's store calls go on: its result is plain data that
 * crosses a thread's boundary as it is.
 */
import { expandTrace, TraceFormatError, type TraceEvent } from '@vigil-risk/core/protocol/trace'
import type { BehaviorClaim } from '@vigil-risk/core/protocol/schema'
import { scoreBehavior, type BehaviorScore } from './behavior'
import { traceSketch } from './replay'
import { pointerTurning, type PointerTurning } from './turning'

export interface InteractionSummary {
  events: number
  pointer: number
  keys: number
  touches: number
  scrolls: number
}

export interface TraceAnalysis {
  /** Why the trace could not be expanded (TraceFormatError's message); the rest is then of no trace. */
  malformed: string | null
  /** The last event's time, ms from the trace's start; null for no events. */
  lastT: number | null
  interaction: InteractionSummary
  /** Something a person does to a page: a press, a click, a touch, a key, a wheel, or five pointer events. */
  interacted: boolean
  behavior: BehaviorScore
  /** The replay sketch's keys (replay.ts traceSketch). */
  sketch: string[]
  /** How the pointer turns from one move to the next (pointerTurning). */
  turning: PointerTurning
}

const INTERACTIVE = new Set(['mousedown', 'click', 'touchstart', 'keydown', 'wheel'])

function summariseInteraction(events: readonly TraceEvent[]): InteractionSummary {
  const s: InteractionSummary = { events: events.length, pointer: 0, keys: 0, touches: 0, scrolls: 0 }
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!
    if (e.type.startsWith('mouse') || e.type === 'click') s.pointer++
    else if (e.type.startsWith('key')) s.keys++
    else if (e.type.startsWith('touch')) s.touches++
    else s.scrolls++
  }
  return s
}

/** A payload's `behavior` (its trace and the page's own score), analysed; none is no trace. */
export function analyseTrace(behavior: BehaviorClaim | undefined): TraceAnalysis {
  let events: TraceEvent[] = []
  let malformed: string | null = null
  if (behavior) {
    try {
      events = expandTrace(behavior.trace)
    } catch (err) {
      if (!(err instanceof TraceFormatError)) throw err
      malformed = err.message
    }
  }
  const interaction = summariseInteraction(events)
  return {
    malformed,
    lastT: events.length > 0 ? events[events.length - 1]!.t : null,
    interaction,
    // Pointer moves alone (or nothing at all) are not an interaction with the page.
    interacted: interaction.pointer >= 5 || events.some((e) => INTERACTIVE.has(e.type)),
    behavior: scoreBehavior(events, behavior?.client),
    sketch: traceSketch(events),
    turning: pointerTurning(events),
  }
}

/**
 * The signal registry: one source per file, collected once at init (and the `atToken`
 * ones again when a token is requested). Value types live in the protocol
 * (core/src/protocol/signals.ts) and the registry is checked against them: adding a
 * signal is one file, one line here, its type there, and a detector that reads it.
 *
 * Signals only collect; they never judge. The collector runs the detectors
 * (core/src/detectors) over what was collected, so judging logic never ships to, or
 * can be skipped by, the page.
 */
import { getPermissions } from './permissions'
import { type getWorker } from './worker'
import { getWebDriver } from './webdriver'
import { getUserAgent } from './user-agent'
import { getHardware } from './hardware'
import { getScreen } from './screen'
import { getPlugins } from './plugins'
import { getTimezone } from './timezone'
import { getCdp, type getCallStackMarkers } from './cdp'
import { getAutomationGlobals } from './automation-globals'
import { getLies } from './lies'
import { getEnvironment } from './environment'
import { nextTask } from './slice'
import type { Component, SignalComponents as ProtocolComponents, SignalValues } from '@vigil-risk/core/protocol/signals'

/**
 * Collected at init. Async sources first: they run while the sync ones do. The Web
 * Worker snapshot is started separately, at once (the fingerprint needs its WebGL
 * renderer), and joins the components as `worker`.
 */
export const signals = {
  permissions: getPermissions,
  webdriver: getWebDriver,
  userAgent: getUserAgent,
  hardware: getHardware,
  screen: getScreen,
  plugins: getPlugins,
  timezone: getTimezone,
  cdp: getCdp,
  automation: getAutomationGlobals,
  lies: getLies,
  environment: getEnvironment,
}

/** Collected again inside getToken: automation can attach after the page loaded. */
export const tokenSignals = {
  cdpAtToken: getCdp,
}

/**
 * The registry must produce exactly the values the protocol defines (core's
 * SignalValues): a source whose type drifts from what the detectors read fails to compile.
 */
type Sources = typeof signals & typeof tokenSignals & { worker: typeof getWorker; callStack: typeof getCallStackMarkers }
type Produced = { [K in keyof Sources]: Awaited<ReturnType<Sources[K]>> }
type Exactly<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
type Assert<T extends true> = T
/** @public A compile-time check; nothing imports it. */
export type RegistryMatchesProtocol = Assert<Exactly<Produced, SignalValues>>

export type SignalComponents = ProtocolComponents

const round = (ms: number): number => Math.round(ms * 10) / 10

function errorName(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}`.slice(0, 120) : String(err).slice(0, 120)
}

/**
 * A promise, whichever realm's or library's: an async source returns the engine's own
 * Promise, which is not `instanceof` the page's global once a page replaces it (Angular's
 * zone.js does). Left unawaited, it would travel in the payload and fail the encoding.
 */
function isPromise(value: unknown): value is Promise<unknown> {
  return value instanceof Promise || (typeof value === 'object' && value !== null && Object.prototype.toString.call(value) === '[object Promise]')
}

/**
 * Runs every source and wraps its outcome; never rejects. With `yielding`, it returns
 * to the event loop between sources so that no single task grows long.
 */
export async function runSources<S extends Record<string, () => unknown>>(
  sources: S,
  yielding = false,
): Promise<{ [K in keyof S]: Component<Awaited<ReturnType<S[K]>>> }> {
  const out = {} as Record<string, Component<unknown>>
  const pending: Array<Promise<void>> = []
  for (const name of Object.keys(sources)) {
    if (yielding) await nextTask()
    const started = performance.now()
    try {
      const result = sources[name]!()
      if (isPromise(result)) {
        pending.push(
          result.then(
            (value: unknown) => void (out[name] = { value, duration: round(performance.now() - started) }),
            (err: unknown) => void (out[name] = { error: errorName(err), duration: round(performance.now() - started) }),
          ),
        )
      } else {
        out[name] = { value: result, duration: round(performance.now() - started) }
      }
    } catch (err) {
      out[name] = { error: errorName(err), duration: round(performance.now() - started) }
    }
  }
  await Promise.all(pending)
  return out as { [K in keyof S]: Component<Awaited<ReturnType<S[K]>>> }
}

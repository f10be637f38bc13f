import { ACTION_PATTERN, PROTOCOL_VERSION, TRACE_EVENTS_PER_PAYLOAD, accountHashFromDigest, accountHashInput, signingInput } from '@vigil-risk/core/protocol/payload'
import type { CollectPayload, FingerprintClaim } from '@vigil-risk/core/protocol/schema'
import { sha512 } from './keys/hash'
import { attestationInput } from '@vigil-risk/core/protocol/attestation'
import { toBase64url } from '@vigil-risk/core/protocol/base64url'
import { VigilError, toVigilError } from './errors'
import { resolveOptions, type ResolvedOptions, type VigilOptions } from './options'
import { getDeviceKey, type DeviceKey } from './keys/device-key'
import { postJson } from './transport/http'
import { createTelemetry, type Telemetry } from './transport/telemetry'
import { getFingerprint } from './signals/fingerprint'
import { getWorker } from './signals/worker'
import { runSources, signals, tokenSignals, type SignalComponents } from './signals/index'
import { getCallStackMarkers } from './signals/cdp'
import { startRecorder, type BehaviorSnapshot, type Recorder } from './behavior/recorder'
import { hasNativeBridge, requestAttestation } from './bridge/native'
import { privateTokenReceipt, supportsPrivateTokens } from './transport/private-token'
import { loadClassifier } from './classifier/load'
import type { Scorer } from './classifier/chunk'
import { hasSubtle, sha256 } from './keys/webcrypto'
import { SDK_VERSION } from './version'
import { createBroker, type Broker } from './proof/broker'
import { scriptBase } from './script-base'

export interface GetTokenOptions {
  /**
   * The shopper's account identifier (user id, e-mail), for multi-account and abuse
   * linking. It never leaves the page: the SDK sends a salted hash (see docs/protocol.md).
   */
  account?: string
}

/** Its methods are bound: `const { getToken } = init(…)` works. */
export interface VigilClient {
  /** Resolves to a sealed verdict token for `action`, or rejects with a VigilError within the timeout. */
  getToken(this: void, action: string, options?: GetTokenOptions): Promise<string>
  /** Stops recording and rejects calls in flight with `destroyed`. Safe to call twice. */
  destroy(this: void): void
}

/** How long getToken waits for a fingerprint or signals still being collected. */
const FINGERPRINT_WAIT_MS = 1500
const SIGNALS_WAIT_MS = 1500
/** How long getToken waits for a native app's attestation. */
const ATTESTATION_WAIT_MS = 1500
/** How long getToken waits for the browser to fetch a Private Access Token (counted once the signals are in). */
const PRIVATE_TOKEN_WAIT_MS = 1500
/** The signals start after the fingerprint, or this long after the page's load if it has not finished. */
const SIGNALS_AFTER_MS = 2000
/** The longest an idle wait lasts when requestIdleCallback never calls back (its own timeout is 500 ms). */
const IDLE_WAIT_MS = 600

const noop = (): void => {}

/** Attaches a handler so a background failure never surfaces as an unhandled rejection in the page. */
function quiet<T>(promise: Promise<T>): Promise<T> {
  promise.catch(noop)
  return promise
}

function within<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(fallback), ms)
    promise.then(
      (v) => { clearTimeout(timer); resolve(v) },
      () => { clearTimeout(timer); resolve(fallback) },
    )
  })
}

function readToken(body: unknown): string {
  const token = (body as { token?: unknown }).token
  if (typeof token !== 'string' || token.length === 0) throw new VigilError('bad_response', 'token missing from response')
  return token
}

class Client implements VigilClient {
  private readonly inflight = new Set<AbortController>()
  private destroyed = false
  private readonly key: Promise<DeviceKey>
  private readonly fingerprint: Promise<FingerprintClaim | null>
  private readonly worker: Promise<SignalComponents['worker']>
  private readonly signals: Promise<SignalComponents>
  private readonly recorder: Recorder | null
  private scorer: Scorer | null = null
  private readonly telemetry: Telemetry | null
  private readonly broker: Broker

  constructor(private readonly options: ResolvedOptions) {
    // Bound: pages (and React hooks) take the methods off the client, `const { getToken } = init(…)`.
    this.getToken = this.getToken.bind(this)
    this.destroy = this.destroy.bind(this)
    this.telemetry = options.telemetry ? captureSafely(() => createTelemetry(options.endpoint, options.siteKey, SDK_VERSION), null) : null
    // Recording starts at once: behaviour before the first idle moment counts too.
    this.recorder = startRecorderSafely()
    this.key = quiet(getDeviceKey())
    const recorder = this.recorder
    this.broker = createBroker(options.endpoint, options.siteKey, () => this.key.then((k) => k.id), () => recorder?.clock() ?? performance.now())
    // Everything else waits until the page has loaded and gone idle, so the SDK never
    // forces the page's first layout or competes with its start-up (the long-task
    // figures in the README's benchmarks).
    const ready = quiet(afterLoad())
    const worker = quiet(ready.then(getWorker))
    this.worker = quiet(runSources({ worker: () => worker }).then((c) => c.worker))
    this.fingerprint = quiet(ready.then(() => getFingerprint(worker)).catch(() => null))
    // After the fingerprint, so that the two do not compete, but not for ever: a fingerprint
    // source that hangs must not keep every other signal from the payload.
    this.signals = quiet(ready.then(() => within(this.fingerprint, SIGNALS_AFTER_MS, null)).then(idle).then(() => runSources(signals, true)))
    void this.signals.then(() => mark('vigil:signals'), noop)
    // The first challenge, fetched and answered (in a worker) ahead of the first getToken.
    void ready.then(() => this.broker.prefetch()).catch(noop)
    // The classifier chunk last, when the page is idle again: nothing waits for it.
    void quiet(
      this.signals
        .then(idle)
        .then(loadClassifier)
        .then((m) => m.createScorer())
        .then((scorer) => {
          this.scorer = scorer
          mark('vigil:classifier')
        }),
    )
  }

  getToken(action: string, options?: GetTokenOptions): Promise<string> {
    // Nothing throws into the page, not even from the call's synchronous part (an options
    // object whose getter throws, a page without Promise.prototype.finally).
    try {
      return this.tokenFor(action, options)
    } catch (err) {
      return Promise.reject(toVigilError(err))
    }
  }

  private tokenFor(action: string, options?: GetTokenOptions): Promise<string> {
    if (this.destroyed) return Promise.reject(new VigilError('destroyed', 'this Vigil client was destroyed'))
    if (typeof action !== 'string' || !ACTION_PATTERN.test(action)) {
      return Promise.reject(new VigilError('invalid_action', 'action must be 1-64 characters of [A-Za-z0-9_./:-]'))
    }
    const account = options?.account
    if (account !== undefined && (typeof account !== 'string' || account.trim().length === 0 || account.length > 256)) {
      return Promise.reject(new VigilError('invalid_account', 'account must be a non-empty string of at most 256 characters'))
    }
    // Taken now, synchronously: after the first await the caller's stack is gone.
    const stack = captureSafely(getCallStackMarkers, [] as string[])
    const behavior = captureSafely(() => this.recorder?.snapshot(TRACE_EVENTS_PER_PAYLOAD) ?? null, null)
    const controller = new AbortController()
    this.inflight.add(controller)
    const { timeout } = this.options
    const started = Date.now()
    const attempt = new Promise<string>((resolve, reject) => {
      // The deadline rejects even if some step ignores the abort signal (a wedged IndexedDB).
      const timer = setTimeout(() => {
        const err = new VigilError('timeout', `getToken took longer than ${timeout} ms`)
        controller.abort(err)
        reject(err)
      }, timeout)
      const settle = (): void => {
        clearTimeout(timer)
        this.inflight.delete(controller)
      }
      this.run(action, account, controller.signal, stack, behavior).then(
        (token) => { settle(); resolve(token) },
        (err: unknown) => { settle(); reject(toVigilError(err)) },
      )
    })
    // Failures are reported (queued, retried with backoff); a success means the collector is back.
    // Either way the next challenge is fetched and answered in the background.
    const next = (): void => captureSafely(() => {
      if (!this.destroyed) this.broker.prefetch()
    }, undefined)
    attempt.then(
      () => { captureSafely(() => this.telemetry?.flushSoon(), undefined); next() },
      (err: VigilError) => { captureSafely(() => this.telemetry?.report(err, action, Date.now() - started), undefined); next() },
    )
    return attempt
  }

  private async run(action: string, account: string | undefined, signal: AbortSignal, stack: string[], behavior: BehaviorSnapshot | null): Promise<string> {
    const { endpoint, siteKey } = this.options
    const ready = quiet(this.broker.take(signal))
    // Where the site accepts Private Access Tokens and the browser can present one, ask for it
    // while the signals are gathered.
    const receipt = quiet(
      ready.then(({ challenge, privateToken }) =>
        privateToken && hasSubtle() && supportsPrivateTokens() ? privateTokenReceipt(endpoint, siteKey, challenge, signal) : undefined,
      ),
    )
    const [key, fp, collected, worker, atToken] = await Promise.all([
      this.key,
      within(this.fingerprint, FINGERPRINT_WAIT_MS, null),
      within(this.signals, SIGNALS_WAIT_MS, {}),
      within(this.worker, SIGNALS_WAIT_MS, undefined),
      runSources(tokenSignals),
    ])
    const { challenge, accountSalt, proof, receivedAt } = await ready
    // The trace is scored in a task of its own, not in the one that handled the shopper's click.
    await newTask()
    const client = behavior ? clientScore(this.scorer, behavior) : {}
    if (account !== undefined && accountSalt === undefined) throw new VigilError('bad_response', 'the collector sent no account salt')
    const accountHash = account === undefined ? undefined : accountHashFromDigest(await sha512(accountHashInput(accountSalt!, account)))
    const payload: CollectPayload = {
      v: PROTOCOL_VERSION,
      siteKey,
      action,
      challenge,
      ts: Date.now(),
      hostname: location.hostname,
      sdk: SDK_VERSION,
      device: { id: key.id, pub: key.pub, impl: key.impl, persisted: key.persisted },
      fp,
      signals: { ...collected, ...atToken, ...(worker ? { worker } : {}), callStack: { value: stack, duration: 0 } },
      ...(accountHash ? { account: accountHash } : {}),
      ...(behavior ? { behavior: { trace: behavior.trace, summary: { ...behavior.summary }, input: behavior.input, ...client, challengeAt: challengeAt(behavior, receivedAt) } } : {}),
      proof,
    }
    const privateToken = await within(receipt, PRIVATE_TOKEN_WAIT_MS, undefined)
    if (privateToken) payload.privateToken = privateToken
    if (hasNativeBridge() && hasSubtle()) {
      const nonce = toBase64url(await sha256(new TextEncoder().encode(attestationInput(payload))))
      const attestation = await requestAttestation(nonce, siteKey, ATTESTATION_WAIT_MS)
      if (attestation) payload.attestation = attestation
    }
    const signature = await key.sign(new TextEncoder().encode(signingInput(payload)))
    if (signal.aborted) throw signal.reason
    const body = JSON.stringify({ payload, sig: toBase64url(signature) })
    return readToken(await postJson(`${endpoint}/v1/collect`, body, signal))
  }

  destroy(): void {
    if (this.destroyed) return
    this.destroyed = true
    captureSafely(() => this.recorder?.stop(), undefined)
    captureSafely(() => this.telemetry?.stop(), undefined)
    captureSafely(() => this.broker.stop(), undefined)
    for (const controller of this.inflight) controller.abort(new VigilError('destroyed', 'this Vigil client was destroyed'))
    this.inflight.clear()
  }
}

/** When the challenge arrived, in the trace's time; null when that was after its last event. */
function challengeAt(behavior: BehaviorSnapshot, receivedAt: number): number | null {
  const t = behavior.trace.t
  let last = 0
  for (const dt of t) last += dt
  last /= 10
  return t.length > 0 && receivedAt <= last ? Math.round(receivedAt * 10) / 10 : null
}

function clientScore(scorer: Scorer | null, behavior: BehaviorSnapshot): { client?: { score: number | null; model: string; ms: number } } {
  if (!scorer) return {}
  const result = captureSafely(() => scorer(behavior.trace), null)
  if (!result) return {}
  const score = result.score === null ? null : Math.round(result.score * 1e6) / 1e6
  return { client: { score, model: result.model, ms: Math.round(result.ms * 100) / 100 } }
}

/**
 * A User Timing mark when a stage is ready (`vigil:signals`, `vigil:classifier`): a site's
 * real-user monitoring sees when Vigil is ready, and tests wait for it instead of sleeping.
 */
function mark(name: string): void {
  captureSafely(() => performance.mark(name), undefined)
}

/**
 * Resolves in a new task: a message to itself, which (unlike a timer, and so unlike
 * signals/slice.ts's nextTask) no clamping delays, no throttling of background timers holds
 * back, and no page whose timers are stubbed or paused stops (sdk-faults.test.ts pauses them).
 */
function newTask(): Promise<void> {
  return new Promise((resolve) => {
    // Should a page's own MessageChannel never deliver, a timer does.
    const timer = setTimeout(resolve, 50)
    try {
      const channel = new MessageChannel()
      channel.port1.onmessage = () => {
        clearTimeout(timer)
        channel.port1.close()
        resolve()
      }
      channel.port2.postMessage(null)
    } catch {
      resolve()
    }
  })
}

function captureSafely<T>(fn: () => T, fallback: T): T {
  try {
    return fn()
  } catch {
    return fallback
  }
}

function startRecorderSafely(): Recorder | null {
  return captureSafely(() => startRecorder(), null)
}

/** Resolves once the page's load event has fired and the browser is idle. */
function afterLoad(): Promise<void> {
  if (typeof document === 'undefined' || document.readyState === 'complete') return idle()
  return new Promise((resolve) => addEventListener('load', () => resolve(idle()), { once: true }))
}

function idle(): Promise<void> {
  return new Promise((resolve) => {
    const ric = (globalThis as { requestIdleCallback?: (cb: () => void, o?: { timeout: number }) => number }).requestIdleCallback
    // A page's own requestIdleCallback (a polyfill) may throw or never call back: a timer
    // resolves regardless, or the signals would never be collected.
    let wait = 50
    try {
      if (ric) {
        ric(() => resolve(), { timeout: 500 })
        wait = IDLE_WAIT_MS
      }
    } catch {
      // The short wait stands.
    }
    setTimeout(resolve, wait)
  })
}

/** A client whose every call rejects with the configuration error: init itself never throws. */
class BrokenClient implements VigilClient {
  constructor(private readonly error: VigilError) {
    this.getToken = this.getToken.bind(this)
  }
  getToken(_action?: string, _options?: GetTokenOptions): Promise<string> {
    return Promise.reject(this.error)
  }
  destroy(): void {}
}

export function init(options: VigilOptions): VigilClient {
  try {
    return new Client(resolveOptions(options, scriptBase))
  } catch (err) {
    return new BrokenClient(toVigilError(err))
  }
}

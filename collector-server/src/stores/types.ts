/**
 * The collector's ports. Processes keep no state of their own beyond these, so N
 * instances on one shared store behave as one collector.
 */
import type { Verdict } from '../../../verify/src/index'

export interface NonceStore {
  /**
   * Marks `id` used until `expiresAt` (epoch ms). Resolves true the first time, false
   * for every later call before expiry, across all instances sharing the store.
   */
  consume(id: string, expiresAt: number): Promise<boolean>
}

export interface DeviceSighting {
  deviceId: string
  publicKey: string
  keyImpl: string
  visitorId: string | null
  ip: string
  at: number
}

export interface DeviceRecord {
  deviceId: string
  publicKey: string
  firstSeen: number
  lastSeen: number
  seenCount: number
}

export interface DeviceStore {
  /** Records a sighting and returns the device as it was before it (null: first sighting). */
  touch(sighting: DeviceSighting): Promise<DeviceRecord | null>
}

/** One accepted collect, as the risk backend receives it. */
export interface CollectEvent {
  /** The token's jti: one event per token. */
  id: string
  at: number
  siteKey: string
  action: string
  deviceId: string
  visitorId: string | null
  ip: string
  hostname: string
  verdict: Verdict
  score: number
  reasons: string[]
  keyImpl: string
  sdk: string
  /** Signals and scores in full, for analysts. */
  detail: Record<string, unknown>
}

export interface EventSink {
  /** Resolves once the event is durable: only then may the collector acknowledge it. */
  append(event: CollectEvent): Promise<void>
}

export interface Store {
  readonly kind: 'sqlite' | 'redis'
  readonly nonces: NonceStore
  readonly devices: DeviceStore
  readonly events: EventSink
  /** Cheap liveness check for /healthz. */
  ping(): Promise<void>
  close(): Promise<void>
}

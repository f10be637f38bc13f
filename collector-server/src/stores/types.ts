/**
 * The collector's ports. Processes keep no state of their own beyond these, so N
 * instances on one shared store behave as one collector. Two adapters implement them:
 * SQLite (embedded, the default) and Redis (scale-out);
 * collector-server/test/stores.test.ts runs the same tests against both.
 */
import type { Verdict } from '@vigil-risk/core/protocol/token'
import type { ReasonCode } from '@vigil-risk/core/protocol/reasons'
import type { TokenErrorCode } from 'vigil/verify'
import type { ErrorCode } from '../errors'

export interface NonceStore {
  /**
   * Marks `id` used until `expiresAt` (epoch ms). Resolves true the first time, false
   * for every later call before expiry, across all instances sharing the store. Call
   * Store.durable() before acting on it where a crash must not forget it.
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
  /** The last sighting, or one up to linkTimeStep(devices' retention) before it (SQLite). */
  lastSeen: number
  seenCount: number
  /** Its tokens so far by verdict, and the last one's: its reputation. */
  allowed: number
  denied: number
  lastVerdict: Verdict | null
}

export interface DeviceStore {
  /** Records a sighting and returns the device as it was before it (null: first sighting). */
  touch(sighting: DeviceSighting): Promise<DeviceRecord | null>
  /** The device as it is, without recording anything (null: never seen). */
  get(deviceId: string): Promise<DeviceRecord | null>
  /** Records the verdict a token for this device carried. */
  recordVerdict(deviceId: string, verdict: Verdict): Promise<void>
  /**
   * The device's text metrics (`font/glyph` → width) remembered from earlier probes, for the
   * glyphs in `observed`; those not seen before are remembered now (the first answer stays).
   */
  glyphs(deviceId: string, observed: Readonly<Record<string, number>>): Promise<Record<string, number>>
}

/** "`member` was seen with `key`" — e.g. account a1 on device d1 — in a set of kind `kind`. */
export interface LinkObservation {
  kind: string
  key: string
  member: string
  /** The sliding window the count is taken over, ms. */
  windowMs: number
  /** Count the set without adding the member (a claim the collector does not record there). */
  countOnly?: boolean
}

/**
 * Link counts saturate here. Every limit a policy may set is below it (risk/policy.ts checks),
 * and a popular key (a carrier NAT's network, a fingerprint many identical phones share) must
 * not cost a count of all its members on every collect.
 */
export const LINK_COUNT_CAP = 1_000

/**
 * How precisely a store may keep a member's last sighting: a store may leave a member
 * seen again within this (1/64 of the window) at its earlier time, and so forget it up to
 * that much early. SQLite does, to spare a write per repeated link (stores/sqlite/links.ts),
 * and so with a device's `lastSeen` under its retention window (stores/sqlite/devices.ts).
 */
export function linkTimeStep(windowMs: number): number {
  return Math.max(1, Math.floor(windowMs / 64))
}

export interface LinkStore {
  /**
   * Records every observation at `at` (but those marked countOnly) and returns, for each,
   * how many distinct members its (kind, key) set has seen within its window (the new
   * member included, when recorded), up to LINK_COUNT_CAP.
   */
  observe(observations: readonly LinkObservation[], at: number): Promise<number[]>
  /** How many distinct members (kind, key) has seen within `windowMs` before `at` (up to LINK_COUNT_CAP), recording nothing. */
  count(kind: string, key: string, windowMs: number, at: number): Promise<number>
}

/** An App Attest key Apple certified for one of a site's apps (collector-server/src/evidence/app-attest.ts). */
export interface AttestedKey {
  /** Apple's key id: base64 of SHA-256 of the public key. */
  keyId: string
  /** `teamId.bundleId` of the app it was attested for. */
  appId: string
  /** The public key, base64 SPKI DER. */
  publicKey: string
  /** The highest assertion counter seen (0 at attestation). */
  counter: number
  /** When it was attested, or last used, epoch ms. */
  at: number
}

/** A key unused this long is forgotten (an app reinstalled long ago attests a new one). */
export const ATTESTED_KEY_TTL_MS = 400 * 24 * 3600_000

export interface AttestedKeyStore {
  /** Stores a newly attested key. Resolves false, changing nothing, if the key id is already known. */
  register(key: AttestedKey): Promise<boolean>
  get(keyId: string): Promise<AttestedKey | null>
  /**
   * Moves the key's counter to `counter` if that is higher than the stored one, atomically
   * across instances. Resolves false (a replayed or stale assertion) otherwise.
   */
  advance(keyId: string, counter: number, at: number): Promise<boolean>
}

export interface RateLimitStore {
  /**
   * Counts one hit on `key` in the fixed window containing `at`; shared by every instance
   * that shares the store (a SQLite file's only writer counts in its memory: sqlite/rate-limits.ts).
   */
  hit(key: string, windowMs: number, at: number): Promise<{ count: number; resetAt: number }>
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
  /** Salted hash of the page's account identifier (never the identifier). */
  account: string | null
  ip: string
  hostname: string
  verdict: Verdict
  score: number
  reasons: ReasonCode[]
  keyImpl: string
  sdk: string
  /** Signals, detections, scores and velocity in full, for analysts. */
  detail: Record<string, unknown>
}

export interface EventSink {
  /** Resolves once the event is durable: only then may the collector acknowledge it. */
  append(event: CollectEvent): Promise<void>
  /** The event with this id, if stored (tests, the durability check, support tools). */
  get(id: string): Promise<CollectEvent | null>
  /** How many events are stored. */
  count(): Promise<number>
}

/** What the dashboard shows, per site, in minute buckets. */
export interface StatsEntry {
  verdict: Verdict
  reasons: readonly ReasonCode[]
  /** Risk score of the verdict, 0–1. */
  score: number
  /** The collector's behaviour-classifier score, or null when there was too little behaviour. */
  behavior: number | null
  deviceId: string
  /** Distinct accounts seen on this device in 24 h (0 when the page names none). */
  accountsOnDevice: number
}

export interface StatsSnapshot {
  siteKey: string
  from: number
  to: number
  bucketMs: number
  /** One entry per minute bucket, oldest first: counts by field. */
  buckets: Array<{ t: number; counts: Partial<Record<StatsField, number>> }>
  /**
   * Up to TOP_DEVICES devices seen in the last TOP_DEVICES_WINDOW_MS, by the most accounts
   * each was seen with since its activity resumed (after a day without events a device
   * starts over), then by device id.
   */
  topDevices: Array<{ deviceId: string; accounts: number }>
}

/** Why siteverify refused a token (its errorCodes). */
export type SiteverifyErrorCode = TokenErrorCode | 'invalid_secret' | 'already_redeemed'
/** A refused collect (the error catalogue) or a failed siteverify. */
export type FailureCode = ErrorCode | SiteverifyErrorCode

/** A tenth of the 0–1 range: scores 0.0–0.099… are bucket 0, 0.9–1.0 bucket 9. */
type Decile = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9
/** The dashboard's counters: verdicts, reasons, failures, and risk and behaviour-score histograms. */
export type StatsField = `verdict:${Verdict}` | `reason:${ReasonCode}` | `fail:${FailureCode}` | `risk:${Decile}` | `bhv:${Decile}`

export interface StatsStore {
  recordEvent(siteKey: string, at: number, entry: StatsEntry): Promise<void>
  /** A refused collect or a failed siteverify, by error code. */
  recordFailure(siteKey: string, at: number, code: FailureCode): Promise<void>
  snapshot(siteKey: string, from: number, to: number): Promise<StatsSnapshot>
}

export const STATS_BUCKET_MS = 60_000
/** Minute counters are kept this long. */
export const STATS_RETENTION_MS = 8 * 24 * 3600_000
export const TOP_DEVICES = 10
export const TOP_DEVICES_WINDOW_MS = 24 * 3600_000

const decile = (score: number): Decile => Math.min(9, Math.max(0, Math.floor(score * 10))) as Decile

/** The counter fields one event adds to its minute. */
export function statsFields(entry: StatsEntry): StatsField[] {
  const fields: StatsField[] = [`verdict:${entry.verdict}`, `risk:${decile(entry.score)}`, ...entry.reasons.map((r): StatsField => `reason:${r}`)]
  if (entry.behavior !== null) fields.push(`bhv:${decile(entry.behavior)}`)
  return fields
}

const DAY_MS = 24 * 3600_000

/** How long the collector keeps what it stores (docs/privacy.md has every field). */
export interface Retention {
  /** Accepted-collect events, after the event (SQLite rows; Redis stream entries, by entry age). */
  eventsMs: number
  /** A device not seen for this long is forgotten: its key, visitor id, last IP and counts. */
  devicesMs: number
  /** The Redis event stream keeps about this many entries at most (XADD MAXLEN ~). */
  streamMaxLen: number
}

export const DEFAULT_RETENTION: Retention = { eventsMs: 30 * DAY_MS, devicesMs: 90 * DAY_MS, streamMaxLen: 1_000_000 }

/** Whose data to erase, on one site: an account hash (as the SDK sends it) and/or a device id. */
export interface ErasureSubject {
  siteKey: string
  account?: string
  deviceId?: string
}

/** What an erasure deleted: events, link entries (velocity sets), device records. */
export interface Erased {
  events: number
  links: number
  devices: number
}

/** What a purge deleted. */
export interface Purged {
  events: number
  devices: number
}

export interface Store {
  readonly kind: 'sqlite' | 'redis'
  /** How the store keeps what it is given, as it reports it (SQLite: its journal mode and `synchronous`, read back). */
  readonly durability?: string
  readonly nonces: NonceStore
  readonly devices: DeviceStore
  readonly links: LinkStore
  readonly rateLimits: RateLimitStore
  readonly attestedKeys: AttestedKeyStore
  readonly events: EventSink
  readonly stats: StatsStore
  /** Resolves once every write made so far is durable (SQLite group commit; Redis: at once). */
  durable(): Promise<void>
  /**
   * Deletes what retention no longer allows. Stores also do this on their own, at most every
   * 30 s, from the writes that notice; this runs it now (tests, operators).
   */
  purge(): Promise<Purged>
  /** Deletes the events, links and device records of an account hash or device id on one site. */
  erase(subject: ErasureSubject): Promise<Erased>
  /** Cheap liveness check for /healthz. */
  ping(): Promise<void>
  close(): Promise<void>
}

/** The store cannot be reached or written: the collector answers 503 and acknowledges nothing. */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError'
  readonly code = 'VIGIL_STORE_UNAVAILABLE'
  constructor(message: string, options?: { cause?: unknown }) {
    super(message)
    if (options?.cause !== undefined) (this as { cause?: unknown }).cause = options.cause
  }
}

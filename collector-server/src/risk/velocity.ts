/**
 * Velocity and linking: who shows up with whom. Each collect records links — this
 * account on this device, this fingerprint with this device key, this IP with this
 * account — in sliding windows shared by every instance (the store's LinkStore), and the
 * counts decide the abuse reasons:
 *
 *  multi_account  many accounts on one device or one fingerprint
 *  click_farm     one fingerprint across many device keys with many accounts (identical
 *                 phones, wiped browsers), or many accounts behind one IP
 *  coupon_abuse   one incentive claimed by several accounts from one device or fingerprint
 *  brushing       orders from several linked accounts (same device or fingerprint) in an hour
 *  velocity       too many tokens for one device or one account in a minute
 *  new_device     an account that has been on several devices shows up on another one
 *  key_churn      many new device keys from one network (IPv4 /24, IPv6 /64) in 10 minutes
 *  replayed_behavior  the same pointer trace (replay.ts) from another device within a day
 *
 * Some keys are claims the collector cannot verify: the fingerprint's visitorId (the page
 * reports it) and the account (anyone can hash an e-mail). A claim must not let one device
 * raise another's score (a stranger naming your fingerprint or account 20 times), so each
 * count keyed on a claim is kept twice: per network (an IPv4 /24 or IPv6 /64: a household,
 * an office, a farm's uplink), and over established devices only (first seen a day or more
 * before). A collect counts the larger of the two: what its own network says, or what
 * devices with history say. Strangers with fresh keys on other networks add to their own
 * counts, never to yours. docs/decisions.md has the reasoning.
 */
import type { ReasonCode } from '@vigil-risk/core/protocol/reasons'
import { clientBucket, networkOf } from '../net/ip'
import type { CollectEvent, LinkObservation, LinkStore } from '../stores/types'
import type { ActionPolicy, Limits } from './policy'

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR
const WEEK = 7 * DAY

/**
 * Every count the collector keeps: distinct `member`s seen with one `key` over a sliding
 * window. The relation names the link kind in the store (one helper builds it: linkKind).
 */
const LINKS = {
  eventsPerDevice1m: { relation: 'evt:dev', windowMs: MINUTE, claimedKey: false },
  eventsPerAccount1m: { relation: 'evt:acc', windowMs: MINUTE, claimedKey: true },
  devicesPerFingerprint24h: { relation: 'dev:fp', windowMs: DAY, claimedKey: true },
  accountsPerDevice24h: { relation: 'acc:dev', windowMs: DAY, claimedKey: false },
  accountsPerFingerprint24h: { relation: 'acc:fp', windowMs: DAY, claimedKey: true },
  devicesPerAccount7d: { relation: 'dev:acc', windowMs: WEEK, claimedKey: true },
  /** The address: an IPv4 address, or an IPv6 /64 (one subscriber's: clientBucket). */
  accountsPerIp1h: { relation: 'acc:ip', windowMs: HOUR, claimedKey: false },
  incentiveAccountsPerDevice7d: { relation: 'inc:dev', windowMs: WEEK, claimedKey: false },
  incentiveAccountsPerFingerprint7d: { relation: 'inc:fp', windowMs: WEEK, claimedKey: true },
  orderAccountsPerDevice1h: { relation: 'ord:dev', windowMs: HOUR, claimedKey: false },
  orderAccountsPerFingerprint1h: { relation: 'ord:fp', windowMs: HOUR, claimedKey: true },
  newDevicesPerNetwork10m: { relation: 'newdev:net', windowMs: 10 * MINUTE, claimedKey: false },
  /**
   * Devices that sent a trace with this sketch key; a trace has several keys: the count is
   * the largest. Not a claim that can be aimed at someone else: a device cannot name a trace
   * it has not seen.
   */
  devicesPerTrace24h: { relation: 'dev:trace', windowMs: DAY, claimedKey: false },
  /** Denied tokens per network: makes the next challenges from it harder (difficulty.ts). */
  deniesPerNetwork1h: { relation: 'deny:net', windowMs: HOUR, claimedKey: false },
} as const

/** A device counts toward other devices' claimed keys once it was first seen this long before. */
export const ESTABLISHED_AFTER_MS = DAY

type CountName = keyof typeof LINKS
/** The counts one collect observed (only those that apply to it: no account, no account counts). */
type Counts = Partial<Record<CountName, number>>

/** The store's link kind for a count: per site, and per action for incentives (one claim per coupon). */
function linkKind(siteKey: string, count: CountName, action: string): string {
  const { relation } = LINKS[count]
  return relation.startsWith('inc:') ? `${siteKey}:${relation}:${action}` : `${siteKey}:${relation}`
}

/** Who did what, when: the fields a collect's event starts with (stores/types.ts). */
export interface VelocityInput extends Pick<CollectEvent, 'at' | 'siteKey' | 'action' | 'deviceId' | 'visitorId' | 'account' | 'ip'> {
  /** The token id: makes each collect one member of the per-minute event sets. */
  eventId: string
  /** True when this collect is the device's first sighting. */
  firstSighting: boolean
  /** The pointer trace's sketch keys (replay.ts). */
  traceKeys: readonly string[]
  /** The client's network (net/ip.ts networkOf). */
  network: string
  /** The device was first seen ESTABLISHED_AFTER_MS or more before this collect. */
  established: boolean
}

export interface VelocityResult {
  counts: Counts
  reasons: ReasonCode[]
}

/** The (count, key, member) triples one collect adds. */
function sightings(input: VelocityInput, action: ActionPolicy): Array<[CountName, string, string]> {
  const { deviceId, visitorId, account, ip, eventId } = input
  const out: Array<[CountName, string, string]> = [['eventsPerDevice1m', deviceId, eventId]]
  if (input.firstSighting) out.push(['newDevicesPerNetwork10m', input.network, deviceId])
  for (const key of input.traceKeys) out.push(['devicesPerTrace24h', key, deviceId])
  if (visitorId) out.push(['devicesPerFingerprint24h', visitorId, deviceId])
  if (!account) return out
  // An IPv6 subscriber holds a whole /64: counted per address, 2^64 addresses would never add up.
  out.push(['accountsPerDevice24h', deviceId, account], ['devicesPerAccount7d', account, deviceId], ['accountsPerIp1h', clientBucket(ip), account], ['eventsPerAccount1m', account, eventId])
  if (visitorId) out.push(['accountsPerFingerprint24h', visitorId, account])
  if (action.incentive) {
    out.push(['incentiveAccountsPerDevice7d', deviceId, account])
    if (visitorId) out.push(['incentiveAccountsPerFingerprint7d', visitorId, account])
  }
  if (action.order) {
    out.push(['orderAccountsPerDevice1h', deviceId, account])
    if (visitorId) out.push(['orderAccountsPerFingerprint1h', visitorId, account])
  }
  return out
}

/** The reasons the counts add up to, under the site's limits. */
function velocityReasons(counts: Counts, limits: Limits, firstSighting: boolean): ReasonCode[] {
  const c = (name: CountName): number => counts[name] ?? 0
  const reasons: ReasonCode[] = []
  if (c('accountsPerDevice24h') >= limits.accountsPerDevice || c('accountsPerFingerprint24h') >= limits.accountsPerFingerprint) reasons.push('multi_account')
  if ((c('devicesPerFingerprint24h') >= limits.devicesPerFingerprint && c('accountsPerFingerprint24h') >= limits.devicesPerFingerprint) || c('accountsPerIp1h') >= limits.accountsPerIp) {
    reasons.push('click_farm')
  }
  if (c('incentiveAccountsPerDevice7d') >= limits.incentiveAccountsPerDevice || c('incentiveAccountsPerFingerprint7d') >= limits.incentiveAccountsPerDevice) reasons.push('coupon_abuse')
  if (c('orderAccountsPerDevice1h') >= limits.orderAccountsPerDevice || c('orderAccountsPerFingerprint1h') >= limits.orderAccountsPerDevice) reasons.push('brushing')
  if (c('eventsPerDevice1m') >= limits.actionsPerMinute || c('eventsPerAccount1m') >= limits.actionsPerMinute) reasons.push('velocity')
  if (firstSighting && c('devicesPerAccount7d') >= limits.devicesPerAccount) reasons.push('new_device')
  if (c('newDevicesPerNetwork10m') >= limits.newDevicesPerNetwork) reasons.push('key_churn')
  if (c('devicesPerTrace24h') >= 2) reasons.push('replayed_behavior')
  return reasons
}

/**
 * The store observations for one sighting. A verified or observed key (device, IP): one
 * set. A claimed key: its set on this network, and its set of established devices' claims,
 * which only an established device adds to (the others count it).
 */
function observationsFor(input: VelocityInput, [count, key, member]: [CountName, string, string]): LinkObservation[] {
  const { windowMs, claimedKey } = LINKS[count]
  const kind = linkKind(input.siteKey, count, input.action)
  if (!claimedKey) return [{ kind, key, member, windowMs }]
  return [
    { kind: `${kind}@net`, key: `${key}@${input.network}`, member, windowMs },
    { kind: `${kind}@est`, key, member, windowMs, ...(input.established ? {} : { countOnly: true }) },
  ]
}

export async function assessVelocity(links: LinkStore, input: VelocityInput, action: ActionPolicy, limits: Limits): Promise<VelocityResult> {
  const seen = sightings(input, action)
  const grouped = seen.map((sighting) => observationsFor(input, sighting))
  const values = await links.observe(grouped.flat(), input.at)
  const counts: Counts = {}
  let next = 0
  seen.forEach(([count], i) => {
    const n = grouped[i]!.length
    // A trace has several sketch keys under one count: the count is the largest.
    counts[count] = Math.max(counts[count] ?? 0, ...values.slice(next, next + n))
    next += n
  })
  return { counts, reasons: velocityReasons(counts, limits, input.firstSighting) }
}

/** Records a denied token against the client's network. */
export async function recordDenial(links: LinkStore, siteKey: string, ip: string, eventId: string, at: number): Promise<void> {
  await links.observe([{ kind: linkKind(siteKey, 'deniesPerNetwork1h', ''), key: networkOf(ip), member: eventId, windowMs: LINKS.deniesPerNetwork1h.windowMs }], at)
}

/** Denied tokens from the client's network in the last hour. */
export function recentDenials(links: LinkStore, siteKey: string, ip: string, at: number): Promise<number> {
  return links.count(linkKind(siteKey, 'deniesPerNetwork1h', ''), networkOf(ip), LINKS.deniesPerNetwork1h.windowMs, at)
}

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
 */
import type { ReasonCode } from '@vigil-risk/core/protocol/reasons'
import { networkOf } from '../net/ip'
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
  eventsPerDevice1m: { relation: 'evt:dev', windowMs: MINUTE },
  eventsPerAccount1m: { relation: 'evt:acc', windowMs: MINUTE },
  devicesPerFingerprint24h: { relation: 'dev:fp', windowMs: DAY },
  accountsPerDevice24h: { relation: 'acc:dev', windowMs: DAY },
  accountsPerFingerprint24h: { relation: 'acc:fp', windowMs: DAY },
  devicesPerAccount7d: { relation: 'dev:acc', windowMs: WEEK },
  accountsPerIp1h: { relation: 'acc:ip', windowMs: HOUR },
  incentiveAccountsPerDevice7d: { relation: 'inc:dev', windowMs: WEEK },
  incentiveAccountsPerFingerprint7d: { relation: 'inc:fp', windowMs: WEEK },
  orderAccountsPerDevice1h: { relation: 'ord:dev', windowMs: HOUR },
  orderAccountsPerFingerprint1h: { relation: 'ord:fp', windowMs: HOUR },
  newDevicesPerNetwork10m: { relation: 'newdev:net', windowMs: 10 * MINUTE },
  /** Devices that sent a trace with this sketch key; a trace has several keys: the count is the largest. */
  devicesPerTrace24h: { relation: 'dev:trace', windowMs: DAY },
  /** Denied tokens per network: makes the next challenges from it harder (difficulty.ts). */
  deniesPerNetwork1h: { relation: 'deny:net', windowMs: HOUR },
} as const

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
}

export interface VelocityResult {
  counts: Counts
  reasons: ReasonCode[]
}

/** The (count, key, member) triples one collect adds. */
function sightings(input: VelocityInput, action: ActionPolicy): Array<[CountName, string, string]> {
  const { deviceId, visitorId, account, ip, eventId } = input
  const out: Array<[CountName, string, string]> = [['eventsPerDevice1m', deviceId, eventId]]
  if (input.firstSighting) out.push(['newDevicesPerNetwork10m', networkOf(ip), deviceId])
  for (const key of input.traceKeys) out.push(['devicesPerTrace24h', key, deviceId])
  if (visitorId) out.push(['devicesPerFingerprint24h', visitorId, deviceId])
  if (!account) return out
  out.push(['accountsPerDevice24h', deviceId, account], ['devicesPerAccount7d', account, deviceId], ['accountsPerIp1h', ip, account], ['eventsPerAccount1m', account, eventId])
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

export async function assessVelocity(links: LinkStore, input: VelocityInput, action: ActionPolicy, limits: Limits): Promise<VelocityResult> {
  const seen = sightings(input, action)
  const observations: LinkObservation[] = seen.map(([count, key, member]) => ({ kind: linkKind(input.siteKey, count, input.action), key, member, windowMs: LINKS[count].windowMs }))
  const values = await links.observe(observations, input.at)
  const counts: Counts = {}
  seen.forEach(([count], i) => (counts[count] = Math.max(counts[count] ?? 0, values[i]!)))
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

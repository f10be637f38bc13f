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
 */
import type { ReasonCode } from '@vigil-risk/core/protocol/reasons'
import type { CollectEvent, LinkObservation, LinkStore } from '../stores/types'
import type { ActionPolicy, Limits } from './policy'

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR
const WEEK = 7 * DAY

/** Who did what, when: the fields a collect's event starts with (stores/types.ts). */
export interface VelocityInput extends Pick<CollectEvent, 'at' | 'siteKey' | 'action' | 'deviceId' | 'visitorId' | 'account' | 'ip'> {
  /** The token id: makes each collect one member of the per-minute event sets. */
  eventId: string
  /** True when this collect is the device's first sighting. */
  firstSighting: boolean
}

export type Counts = Record<string, number>

export interface VelocityResult {
  counts: Counts
  reasons: ReasonCode[]
}

/** Builds the observations for one collect; names are what the counts are reported as. */
export function observations(input: VelocityInput, action: ActionPolicy): Array<LinkObservation & { name: string }> {
  const { siteKey: s, deviceId, visitorId, account, ip, eventId } = input
  const out: Array<LinkObservation & { name: string }> = [
    { name: 'eventsPerDevice1m', kind: `${s}:evt:dev`, key: deviceId, member: eventId, windowMs: MINUTE },
  ]
  if (visitorId) out.push({ name: 'devicesPerFingerprint24h', kind: `${s}:dev:fp`, key: visitorId, member: deviceId, windowMs: DAY })
  if (account) {
    out.push(
      { name: 'accountsPerDevice24h', kind: `${s}:acc:dev`, key: deviceId, member: account, windowMs: DAY },
      { name: 'devicesPerAccount7d', kind: `${s}:dev:acc`, key: account, member: deviceId, windowMs: WEEK },
      { name: 'accountsPerIp1h', kind: `${s}:acc:ip`, key: ip, member: account, windowMs: HOUR },
      { name: 'eventsPerAccount1m', kind: `${s}:evt:acc`, key: account, member: eventId, windowMs: MINUTE },
    )
    if (visitorId) out.push({ name: 'accountsPerFingerprint24h', kind: `${s}:acc:fp`, key: visitorId, member: account, windowMs: DAY })
    if (action.incentive) {
      out.push({ name: 'incentiveAccountsPerDevice7d', kind: `${s}:inc:dev:${input.action}`, key: deviceId, member: account, windowMs: WEEK })
      if (visitorId) out.push({ name: 'incentiveAccountsPerFingerprint7d', kind: `${s}:inc:fp:${input.action}`, key: visitorId, member: account, windowMs: WEEK })
    }
    if (action.order) {
      out.push({ name: 'orderAccountsPerDevice1h', kind: `${s}:ord:dev`, key: deviceId, member: account, windowMs: HOUR })
      if (visitorId) out.push({ name: 'orderAccountsPerFingerprint1h', kind: `${s}:ord:fp`, key: visitorId, member: account, windowMs: HOUR })
    }
  }
  return out
}

/** The reasons the counts add up to, under the site's limits. */
export function velocityReasons(counts: Counts, limits: Limits, firstSighting: boolean): ReasonCode[] {
  const c = (name: string): number => counts[name] ?? 0
  const reasons: ReasonCode[] = []
  if (c('accountsPerDevice24h') >= limits.accountsPerDevice || c('accountsPerFingerprint24h') >= limits.accountsPerFingerprint) reasons.push('multi_account')
  if ((c('devicesPerFingerprint24h') >= limits.devicesPerFingerprint && c('accountsPerFingerprint24h') >= limits.devicesPerFingerprint) || c('accountsPerIp1h') >= limits.accountsPerIp) {
    reasons.push('click_farm')
  }
  if (c('incentiveAccountsPerDevice7d') >= limits.incentiveAccountsPerDevice || c('incentiveAccountsPerFingerprint7d') >= limits.incentiveAccountsPerDevice) reasons.push('coupon_abuse')
  if (c('orderAccountsPerDevice1h') >= limits.orderAccountsPerDevice || c('orderAccountsPerFingerprint1h') >= limits.orderAccountsPerDevice) reasons.push('brushing')
  if (c('eventsPerDevice1m') >= limits.actionsPerMinute || c('eventsPerAccount1m') >= limits.actionsPerMinute) reasons.push('velocity')
  if (firstSighting && c('devicesPerAccount7d') >= limits.devicesPerAccount) reasons.push('new_device')
  return reasons
}

export async function assessVelocity(links: LinkStore, input: VelocityInput, action: ActionPolicy, limits: Limits): Promise<VelocityResult> {
  const obs = observations(input, action)
  const values = await links.observe(obs, input.at)
  const counts: Counts = {}
  obs.forEach((o, i) => (counts[o.name] = values[i]!))
  return { counts, reasons: velocityReasons(counts, limits, input.firstSighting) }
}

/**
 * Per-site, per-action policy: where the verdict thresholds sit, which actions are
 * incentives (coupons, sign-up bonuses) or orders, the velocity and linking limits, and
 * reason weights. Everything has a default; a site overrides what it needs in
 * sites.json under "policy" (docs/operations.md).
 */
import { REASON_CODES, type ReasonCode } from '@vigil-risk/core/protocol/reasons'

export interface ActionPolicy {
  /** Scores at or above this ask for review (step-up). */
  review: number
  /** Scores at or above this are denied. */
  deny: number
  /** An incentive (coupon, bonus, referral): one per person, so several accounts on a device is abuse. */
  incentive: boolean
  /** An order: a burst of orders from linked accounts is brushing. */
  order: boolean
}

/** Linking and velocity limits: a reason fires when a count reaches its limit. */
export interface Limits {
  /** multi_account: distinct accounts on one device in 24 h… */
  accountsPerDevice: number
  /** …or on one fingerprint in 24 h. */
  accountsPerFingerprint: number
  /** click_farm: one fingerprint on this many device keys in 24 h, with as many accounts… */
  devicesPerFingerprint: number
  /** …or this many accounts behind one IP in an hour. */
  accountsPerIp: number
  /** coupon_abuse: distinct accounts claiming one incentive from one device or fingerprint in 7 days. */
  incentiveAccountsPerDevice: number
  /** brushing: distinct accounts ordering from one device or fingerprint in an hour. */
  orderAccountsPerDevice: number
  /** velocity: tokens for one device, or one account, in a minute. */
  actionsPerMinute: number
  /** new_device: an account seen on this many devices in 7 days, the newest just now. */
  devicesPerAccount: number
}

export interface RateLimits {
  /** Challenges and collects per client IP per minute (generous: offices and carriers share IPs). */
  ipPerMinute: number
  /** Collects per device per minute. */
  devicePerMinute: number
  /** Siteverify calls per IP per minute. */
  siteverifyPerMinute: number
}

export interface SitePolicy {
  default: ActionPolicy
  actions: Record<string, Partial<ActionPolicy>>
  limits: Limits
  rateLimits: RateLimits
  weights: Partial<Record<ReasonCode, number>>
}

const DEFAULT_LIMITS: Limits = {
  accountsPerDevice: 3,
  accountsPerFingerprint: 4,
  devicesPerFingerprint: 5,
  accountsPerIp: 10,
  incentiveAccountsPerDevice: 2,
  orderAccountsPerDevice: 3,
  actionsPerMinute: 20,
  devicesPerAccount: 3,
}

export const DEFAULT_RATE_LIMITS: RateLimits = { ipPerMinute: 600, devicePerMinute: 60, siteverifyPerMinute: 6000 }

const INCENTIVE = /coupon|promo|voucher|bonus|referral|reward|signup|sign-up|register/i
const ORDER = /checkout|order|purchase|payment|pay\b/i

export type PolicyConfig = Partial<{
  review: number
  deny: number
  actions: Record<string, Partial<ActionPolicy>>
  limits: Partial<Limits>
  rateLimits: Partial<RateLimits>
  weights: Partial<Record<ReasonCode, number>>
}>

export function makePolicy(config: PolicyConfig = {}): SitePolicy {
  const review = config.review ?? 0.3
  const deny = config.deny ?? 0.7
  if (!(review > 0 && review < deny && deny <= 1)) throw new Error(`policy: need 0 < review (${review}) < deny (${deny}) ≤ 1`)
  for (const [reason, weight] of Object.entries(config.weights ?? {})) {
    if (!(REASON_CODES as readonly string[]).includes(reason)) throw new Error(`policy: unknown reason "${reason}" in weights`)
    if (typeof weight !== 'number' || !(weight >= 0 && weight <= 1)) throw new Error(`policy: the weight of ${reason} must be a number from 0 to 1`)
  }
  return {
    default: { review, deny, incentive: false, order: false },
    actions: config.actions ?? {},
    limits: { ...DEFAULT_LIMITS, ...config.limits },
    rateLimits: { ...DEFAULT_RATE_LIMITS, ...config.rateLimits },
    weights: config.weights ?? {},
  }
}

/** The policy for one action: the site default, what the action name implies, and the site's override. */
export function actionPolicy(policy: SitePolicy, action: string): ActionPolicy {
  return {
    ...policy.default,
    incentive: INCENTIVE.test(action),
    order: ORDER.test(action),
    ...policy.actions[action],
  }
}

/**
 * Per-site, per-action policy: where the verdict thresholds sit, which actions are
 * incentives (coupons, sign-up bonuses) or orders, which require platform evidence, the
 * velocity and linking limits, reason weights and how much verified evidence is trusted.
 * Everything has a default; a site overrides what it needs in sites.json under "policy"
 * (docs/operations.md).
 */
import { REASON_CODES, type ReasonCode } from '@vigil-risk/core/protocol/reasons'
import { PROBE_NAMES, type ProbeName } from '@vigil-risk/core/protocol/probes'
import { POW_MAX_BITS } from '@vigil-risk/core/protocol/pow'
import { EVIDENCE_KINDS, isEvidenceKind, type EvidenceKind } from '@vigil-risk/core/protocol/evidence'
import { LINK_COUNT_CAP } from '../stores/types'

export interface ActionPolicy {
  /** Scores at or above this ask for review (step-up). */
  review: number
  /** Scores at or above this are denied. */
  deny: number
  /** An incentive (coupon, bonus, referral): one per person, so several accounts on a device is abuse. */
  incentive: boolean
  /** An order: a burst of orders from linked accounts is brushing. */
  order: boolean
  /**
   * Sign-in, sign-up, incentives, orders, payments: a first-seen device that shows no
   * interaction and solved no proof of work is never allowed here (unproven_device).
   */
  sensitive: boolean
  /**
   * Platform evidence this action needs (attestation_missing without it): `true` for any
   * kind, a list for some (`["app_attest", "play_integrity"]`: only from the apps), or false.
   */
  requireAttestation: boolean | readonly EvidenceKind[]
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
  /** key_churn: new device keys first seen from one network (IPv4 /24, IPv6 /64) in 10 minutes. */
  newDevicesPerNetwork: number
}

/**
 * Proof of work, in leading zero bits of SHA-256 (each bit doubles the work; 17 bits is
 * about 0.1 s in a desktop browser, docs/protocol.md). Chosen per challenge from what the
 * collector knows before the collect.
 */
interface ProofOfWork {
  /** A device with no good history (or none named). */
  newDevice: number
  /** A device whose earlier tokens were allowed and never denied. */
  returning: number
  /** Added when the client's network asked for more than `busyPerMinute` challenges in the last minute… */
  busy: number
  busyPerMinute: number
  /** …and when it earned `badDenies` denies in the last hour. */
  bad: number
  badDenies: number
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
  proofOfWork: ProofOfWork
  /** The probes every challenge asks for (core/src/protocol/probes.ts). */
  probes: ProbeName[]
  /** Share of the risk each verified kind of evidence takes away (engine.ts TRUST_WEIGHTS). */
  trust: Partial<Record<EvidenceKind, number>>
}

const DEFAULT_POW: ProofOfWork = { newDevice: 17, returning: 0, busy: 2, busyPerMinute: 120, bad: 2, badDenies: 5 }

const DEFAULT_LIMITS: Limits = {
  accountsPerDevice: 3,
  accountsPerFingerprint: 4,
  devicesPerFingerprint: 5,
  accountsPerIp: 10,
  incentiveAccountsPerDevice: 2,
  orderAccountsPerDevice: 3,
  actionsPerMinute: 20,
  devicesPerAccount: 3,
  newDevicesPerNetwork: 20,
}

export const DEFAULT_RATE_LIMITS: RateLimits = { ipPerMinute: 600, devicePerMinute: 60, siteverifyPerMinute: 6000 }

const INCENTIVE = /coupon|promo|voucher|bonus|referral|reward|signup|sign-up|register/i
const ORDER = /checkout|order|purchase|payment|pay\b/i
const SENSITIVE = /login|log-in|signin|sign-in|signup|sign-up|register|password|account|coupon|promo|voucher|bonus|referral|reward|checkout|order|purchase|payment|pay\b|withdraw|transfer/i

export type PolicyConfig = Partial<{
  review: number
  deny: number
  /** The site-wide default; an action overrides it under `actions`. */
  requireAttestation: boolean | EvidenceKind[]
  actions: Record<string, Partial<ActionPolicy>>
  limits: Partial<Limits>
  rateLimits: Partial<RateLimits>
  weights: Partial<Record<ReasonCode, number>>
  proofOfWork: Partial<ProofOfWork>
  probes: ProbeName[]
  trust: Partial<Record<EvidenceKind, number>>
}>

function checkRequirement(value: unknown, where: string): void {
  if (value === undefined || typeof value === 'boolean') return
  if (!Array.isArray(value) || value.length === 0 || !value.every((k) => typeof k === 'string' && isEvidenceKind(k))) {
    throw new Error(`policy: ${where}requireAttestation must be true, false or a list of ${EVIDENCE_KINDS.join(', ')}`)
  }
}

function checkWeights(weights: Record<string, unknown>, known: readonly string[], what: string): void {
  for (const [name, weight] of Object.entries(weights)) {
    if (!known.includes(name)) throw new Error(`policy: unknown ${what} "${name}"`)
    if (typeof weight !== 'number' || !(weight >= 0 && weight <= 1)) throw new Error(`policy: the ${what} of ${name} must be a number from 0 to 1`)
  }
}

export function makePolicy(config: PolicyConfig = {}): SitePolicy {
  const review = config.review ?? 0.3
  const deny = config.deny ?? 0.7
  if (!(review > 0 && review < deny && deny <= 1)) throw new Error(`policy: need 0 < review (${review}) < deny (${deny}) ≤ 1`)
  checkWeights(config.weights ?? {}, REASON_CODES, 'reason weight')
  checkWeights(config.trust ?? {}, EVIDENCE_KINDS, 'evidence trust')
  checkRequirement(config.requireAttestation, '')
  for (const [name, action] of Object.entries(config.actions ?? {})) checkRequirement(action.requireAttestation, `actions["${name}"].`)
  const proofOfWork = { ...DEFAULT_POW, ...config.proofOfWork }
  for (const [name, value] of Object.entries(proofOfWork)) {
    const bits = name !== 'busyPerMinute' && name !== 'badDenies'
    if (!Number.isInteger(value) || value < 0 || (bits && value > POW_MAX_BITS)) {
      throw new Error(`policy: proofOfWork.${name} must be a whole number${bits ? ` from 0 to ${POW_MAX_BITS}` : ' ≥ 0'}`)
    }
    // Compared with a link count (denials per network), which saturates at the cap.
    if (name === 'badDenies' && value >= LINK_COUNT_CAP) throw new Error(`policy: proofOfWork.badDenies must be below ${LINK_COUNT_CAP}`)
  }
  const limits = { ...DEFAULT_LIMITS, ...config.limits }
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isInteger(value) || value < 1 || value >= LINK_COUNT_CAP) throw new Error(`policy: limits.${name} must be a whole number from 1 to ${LINK_COUNT_CAP - 1}`)
  }
  const probes = config.probes ?? [...PROBE_NAMES]
  for (const probe of probes) if (!(PROBE_NAMES as readonly string[]).includes(probe)) throw new Error(`policy: unknown probe "${probe}"`)
  return {
    default: { review, deny, incentive: false, order: false, sensitive: false, requireAttestation: config.requireAttestation ?? false },
    actions: config.actions ?? {},
    limits,
    rateLimits: { ...DEFAULT_RATE_LIMITS, ...config.rateLimits },
    weights: config.weights ?? {},
    proofOfWork,
    probes,
    trust: config.trust ?? {},
  }
}

/** The kinds of evidence that satisfy an action's requirement (none: not required). */
export function requiredEvidence(action: ActionPolicy): readonly EvidenceKind[] {
  const required = action.requireAttestation
  return required === true ? EVIDENCE_KINDS : required === false ? [] : required
}

/** The policy for one action: the site default, what the action name implies, and the site's override. */
export function actionPolicy(policy: SitePolicy, action: string): ActionPolicy {
  return {
    ...policy.default,
    incentive: INCENTIVE.test(action),
    order: ORDER.test(action),
    sensitive: SENSITIVE.test(action),
    ...policy.actions[action],
  }
}

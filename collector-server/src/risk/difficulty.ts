/**
 * How much proof of work a challenge asks for, from what the collector knows before the
 * collect (site policy `proofOfWork`, docs/operations.md): a device with a clean history
 * (allowed before, never denied) does little or none; an unknown one does the default; a
 * network asking for many challenges, or earning denies, does more. The claimed device id
 * is bound into the challenge, so claiming a good device's id only helps the holder of its
 * key.
 */
import { POW_MAX_BITS } from '@vigil-risk/core/protocol/pow'
import type { AppContext } from '../context'
import type { Site } from '../config/sites'
import type { ChallengeTerms } from '../verify/challenge'
import { networkOf } from '../net/ip'
import { recentDenials } from './velocity'

const MINUTE = 60_000

export async function challengeTerms(ctx: AppContext, site: Site, ip: string, deviceId: string | undefined): Promise<ChallengeTerms> {
  const pow = site.policy.proofOfWork
  const now = ctx.clock.now()
  const [device, asked, denies] = await Promise.all([
    deviceId ? ctx.store.devices.get(deviceId) : null,
    ctx.store.rateLimits.hit(`${site.siteKey}:challenges:${networkOf(ip)}`, MINUTE, now),
    recentDenials(ctx.store.links, site.siteKey, ip, now),
  ])
  const trusted = device !== null && device.allowed > 0 && device.denied === 0 && device.lastVerdict === 'allow'
  let bits = trusted ? pow.returning : pow.newDevice
  if (asked.count > pow.busyPerMinute) bits += pow.busy
  if (denies >= pow.badDenies) bits += pow.bad
  return { difficulty: Math.min(POW_MAX_BITS, bits), deviceId: deviceId ?? null, probes: [...site.policy.probes] }
}

/**
 * Verdict tokens: a JWT signed with the collector's Ed25519 key (JWS, alg EdDSA, kid),
 * sealed for the site (JWE dir + A256GCM under a key derived from the site's seal secret), so
 * the browser that carries the token cannot read its score or reasons. docs/tokens.md.
 */
import { sign } from 'node:crypto'
import { SIGN_ALG, type JwsHeader, type Verdict, type VerdictClaims } from '@vigil-risk/core/protocol/token'
import type { CollectPayload } from '@vigil-risk/core/protocol/schema'
import { TEST_SCORES } from '../config/test-keys'
import { b64u, deriveSealKey, randomPooled, sealCompact } from './seal'
import type { SigningKey } from '../config/keyring'
import type { Site } from '../config/sites'

export type { VerdictClaims } from '@vigil-risk/core/protocol/token'

/** Seal keys by site and secret: HKDF once per secret, not per token. */
const sealKeys = new Map<string, Buffer>()
function sealKeyOf(siteKey: string, secret: string): Buffer {
  const id = `${siteKey}\u0000${secret}`
  let key = sealKeys.get(id)
  if (!key) {
    if (sealKeys.size >= 1024) sealKeys.clear()
    key = deriveSealKey(secret, siteKey)
    sealKeys.set(id, key)
  }
  return key
}

/**
 * A token id (jti, the event's id): the issue time in ms as 9 base-36 digits, which sort as
 * they count, then 80 random bits. Ids issued together sort together, so a new id goes
 * into the index page recent ids are on (the events' `id`, redeemed tokens' nonces) rather
 * than onto a random page of it that the next commit must write. The time is no secret:
 * the claims carry it (`iat`).
 */
export const newTokenId = (now: number): string => Math.floor(now).toString(36).padStart(9, '0') + randomPooled(10).toString('base64url')

export function signJwt(key: SigningKey, claims: VerdictClaims): string {
  const header: JwsHeader = { alg: SIGN_ALG, typ: 'JWT', kid: key.kid }
  const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(claims))}`
  return `${input}.${b64u(sign(null, Buffer.from(input, 'ascii'), key.privateKey))}`
}

/** Signs the claims and seals them under the site's current seal secret (`now`, epoch ms: rotation). */
export function issueToken(key: SigningKey, site: Site, claims: VerdictClaims, now: number): string {
  return sealCompact(signJwt(key, claims), sealKeyOf(site.siteKey, site.sealingSecret(now)), site.siteKey)
}

/** A test key's token (config/test-keys.ts): the key's fixed verdict, no reasons, and `test: true`. */
export function issueTestToken(
  key: SigningKey,
  site: Site,
  verdict: Verdict,
  { payload, hostname, now, issuer }: { payload: CollectPayload; hostname: string; now: number; issuer: string },
): { token: string; expiresAt: number } {
  const iat = Math.floor(now / 1000)
  const claims: VerdictClaims = {
    iss: issuer,
    aud: site.siteKey,
    sub: payload.device.id,
    act: payload.action,
    score: TEST_SCORES[verdict],
    verdict,
    reasons: [],
    hst: hostname,
    iat,
    exp: iat + site.tokenTtlS,
    jti: newTokenId(now),
    ...(payload.account ? { acc: payload.account, asl: site.accountSalt } : {}),
    bhv: { server: null, client: null, model: '' },
    test: true,
  }
  return { token: issueToken(key, site, claims, now), expiresAt: claims.exp * 1000 }
}

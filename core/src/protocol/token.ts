/**
 * The verdict token (docs/tokens.md): a JWT signed with the collector's Ed25519 key
 * (JWS, alg EdDSA, kid), sealed for the site (JWE, dir + A256GCM, under a key derived
 * from the site secret with HKDF-SHA256). The collector issues it; vigil/verify, any
 * JOSE library and siteverify read it.
 */

export type Verdict = 'allow' | 'review' | 'deny'
export const VERDICTS: readonly Verdict[] = ['allow', 'review', 'deny']

export const SEAL_ALG = 'dir'
export const SEAL_ENC = 'A256GCM'
export const SIGN_ALG = 'EdDSA'
/** HKDF-SHA256 salt for the site's seal key; the info is the site key. */
export const SEAL_KDF_SALT = 'vigil/token-seal/v1'

/** Verdict tokens never live longer than this (seconds), whatever the collector is told. */
export const TOKEN_MAX_TTL_S = 300

export interface JweHeader {
  alg: typeof SEAL_ALG
  enc: typeof SEAL_ENC
  cty: 'JWT'
  /** The site key: tells siteverify which site's secret opens the seal. */
  kid: string
}

export interface JwsHeader {
  alg: typeof SIGN_ALG
  typ: 'JWT'
  kid: string
}

/** The behaviour classifier's scores: the collector's re-score (it counts) and the page's hint; null = too little behaviour. */
export interface BehaviorClaim {
  server: number | null
  client: number | null
  model: string
}

export interface VerdictClaims {
  iss: string
  /** The site key. */
  aud: string
  /** The device id. */
  sub: string
  /** The action the token was obtained for. */
  act: string
  /** Risk, 0–1. */
  score: number
  verdict: Verdict
  reasons: string[]
  /** The hostname of the page that obtained the token. */
  hst: string
  iat: number
  exp: number
  jti: string
  /** Salted hash of the account the page named, if any (bind the token to your account). */
  acc?: string
  /** The site's account salt `acc` was made with (public; present with `acc`). */
  asl?: string
  bhv: BehaviorClaim
  /** Minted by a test key (fixed verdict): verifiers refuse it unless told to accept test tokens. */
  test?: true
}

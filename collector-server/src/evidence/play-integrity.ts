/**
 * Google Play Integrity: Google says whether the request comes from the genuine app
 * installed from Play (app recognition), on a genuine, certified Android device (device
 * integrity), by a user who got it from Play (licensing).
 *
 * The token is a JWE (A256KW, A256GCM) around a JWS (ES256). Decrypted and verified here,
 * with the app's own keys from Play Console (a *classic* request, nonce = the payload's
 * attestation nonce), or decoded by Google's server API (google-decode.ts: needs network
 * access and a service account; the only way for *standard* requests). Either way the
 * verdict is then checked the same: the nonce is this payload's (so it carries our
 * challenge), the package is one of the site's, the token is fresh, and the app, device
 * and licence verdicts meet the site's bar. docs/webview.md maps each outcome to a reason.
 */
import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { compactDecrypt, compactVerify } from 'jose'
import { failed, unverified, verified, type Verification } from './outcome'
import { googleDecoder, type DecodeResult, type GoogleDecoder } from './google-decode'

const DEVICE_LEVELS = ['MEETS_BASIC_INTEGRITY', 'MEETS_DEVICE_INTEGRITY', 'MEETS_STRONG_INTEGRITY'] as const
type DeviceLevel = (typeof DEVICE_LEVELS)[number]

/** sites.json: `attestation.playIntegrity`. */
export interface PlayIntegrityConfig {
  /** The apps' package names. */
  packageNames: string[]
  /** Local decoding (classic requests): Play Console's response decryption key (base64, AES-256)… */
  decryptionKey?: string
  /** …and its response verification key (base64 DER SubjectPublicKeyInfo, EC P-256). */
  verificationKey?: string
  /** Or decode through Google's server API (network access; classic and standard requests). */
  google?: {
    /** A service account's JSON key file, with access to the Play Integrity API for the app. */
    serviceAccountFile: string
    /** Default https://playintegrity.googleapis.com. */
    apiUrl?: string
  }
  /** How old a token may be, seconds (default 120, the challenge's lifetime). */
  maxAgeS?: number
  /** The device verdict required (default MEETS_DEVICE_INTEGRITY). */
  deviceIntegrity?: DeviceLevel
  /** Require appLicensingVerdict LICENSED (default true). */
  requireLicensed?: boolean
  /** If set, the app's signing certificate SHA-256 digest (as Play reports it) must be one of these. */
  certificateDigests?: string[]
}

export interface PlayIntegritySettings {
  packageNames: readonly string[]
  decode: (token: string) => Promise<DecodeResult>
  maxAgeMs: number
  deviceIntegrity: DeviceLevel
  requireLicensed: boolean
  certificateDigests: readonly string[] | null
}

/** Tokens are minted by Google's servers; a little clock difference is not staleness. */
const FUTURE_SKEW_MS = 30_000

function localDecoder(decryptionKey: KeyObject, verificationKey: KeyObject): PlayIntegritySettings['decode'] {
  return async (token) => {
    try {
      const { plaintext } = await compactDecrypt(token, decryptionKey, { keyManagementAlgorithms: ['A256KW'], contentEncryptionAlgorithms: ['A256GCM'] })
      const { payload } = await compactVerify(new TextDecoder().decode(plaintext), verificationKey, { algorithms: ['ES256'] })
      return { verdict: JSON.parse(new TextDecoder().decode(payload)) as unknown }
    } catch (err) {
      return { bad: err instanceof Error ? err.message.slice(0, 200) : 'does not decode' }
    }
  }
}

export function playIntegritySettings(config: PlayIntegrityConfig, where: string, readFile: (path: string) => string = (p) => readFileSync(p, 'utf8')): PlayIntegritySettings {
  if (typeof config !== 'object' || config === null) throw new Error(`${where}: must be an object`)
  if (!Array.isArray(config.packageNames) || config.packageNames.length === 0 || !config.packageNames.every((p) => typeof p === 'string' && /^[A-Za-z][\w.]{0,254}$/.test(p))) {
    throw new Error(`${where}.packageNames must list the apps' package names`)
  }
  let decode: PlayIntegritySettings['decode']
  if (config.google !== undefined) {
    const decoder: GoogleDecoder = googleDecoder(config.google, readFile, `${where}.google`)
    decode = (token) => decoder(token, config.packageNames[0]!)
  } else {
    let decryptionKey: KeyObject
    let verificationKey: KeyObject
    try {
      const raw = Buffer.from(String(config.decryptionKey), 'base64')
      if (raw.length !== 32) throw new Error('not 32 bytes')
      decryptionKey = createSecretKey(raw)
    } catch {
      throw new Error(`${where}.decryptionKey must be Play Console's base64 AES-256 key (or configure google)`)
    }
    try {
      verificationKey = createPublicKey({ key: Buffer.from(String(config.verificationKey), 'base64'), format: 'der', type: 'spki' })
      if (verificationKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') throw new Error('not P-256')
    } catch {
      throw new Error(`${where}.verificationKey must be Play Console's base64 EC P-256 public key`)
    }
    decode = localDecoder(decryptionKey, verificationKey)
  }
  const maxAgeS = config.maxAgeS ?? 120
  if (typeof maxAgeS !== 'number' || !(maxAgeS >= 1 && maxAgeS <= 3600)) throw new Error(`${where}.maxAgeS must be 1–3600 seconds`)
  const deviceIntegrity = config.deviceIntegrity ?? 'MEETS_DEVICE_INTEGRITY'
  if (!DEVICE_LEVELS.includes(deviceIntegrity)) throw new Error(`${where}.deviceIntegrity must be one of ${DEVICE_LEVELS.join(', ')}`)
  const digests = config.certificateDigests
  if (digests !== undefined && (!Array.isArray(digests) || !digests.every((d) => typeof d === 'string'))) throw new Error(`${where}.certificateDigests must be a list of strings`)
  return {
    packageNames: config.packageNames,
    decode,
    maxAgeMs: maxAgeS * 1000,
    deviceIntegrity,
    requireLicensed: config.requireLicensed ?? true,
    certificateDigests: digests ?? null,
  }
}

interface IntegrityVerdict {
  requestDetails?: { requestPackageName?: unknown; nonce?: unknown; requestHash?: unknown; timestampMillis?: unknown }
  appIntegrity?: { appRecognitionVerdict?: unknown; packageName?: unknown; certificateSha256Digest?: unknown }
  deviceIntegrity?: { deviceRecognitionVerdict?: unknown }
  accountDetails?: { appLicensingVerdict?: unknown }
}

const unpadded = (s: unknown): string | null => (typeof s === 'string' ? s.replace(/=+$/, '') : null)

/** Checks a Play Integrity token against this payload's nonce and the site's settings. */
export async function verifyPlayIntegrity(token: string, nonce: string, settings: PlayIntegritySettings, now: number): Promise<Verification> {
  const decoded = await settings.decode(token)
  if ('unavailable' in decoded) return unverified('decode_unavailable', decoded.unavailable)
  if ('bad' in decoded) return failed('bad_token', decoded.bad)
  const v = (decoded.verdict ?? {}) as IntegrityVerdict
  const request = v.requestDetails ?? {}
  // Classic requests echo the nonce, standard ones the request hash: either way, ours.
  if ((unpadded(request.nonce) ?? unpadded(request.requestHash)) !== nonce.replace(/=+$/, '')) return failed('nonce_mismatch', 'the verdict is for another request')
  const requested = request.requestPackageName
  if (typeof requested !== 'string' || !settings.packageNames.includes(requested)) return failed('wrong_package', `requested by ${String(requested)}`)
  const at = Number(request.timestampMillis)
  if (!Number.isFinite(at) || now - at > settings.maxAgeMs || at - now > FUTURE_SKEW_MS) return failed('stale', `minted ${Math.round((now - at) / 1000)} s ago`)
  const app = v.appIntegrity ?? {}
  if (app.appRecognitionVerdict === 'UNEVALUATED') return failed('app_unevaluated', 'Play did not evaluate the app')
  if (app.appRecognitionVerdict !== 'PLAY_RECOGNIZED') return failed('app_unrecognized', `app recognition: ${String(app.appRecognitionVerdict)}`)
  if (app.packageName !== undefined && (typeof app.packageName !== 'string' || !settings.packageNames.includes(app.packageName))) return failed('wrong_package', `the app is ${JSON.stringify(app.packageName)}`)
  if (settings.certificateDigests) {
    const digests = Array.isArray(app.certificateSha256Digest) ? (app.certificateSha256Digest as unknown[]) : []
    if (!digests.some((d) => typeof d === 'string' && settings.certificateDigests!.includes(d))) return failed('app_unrecognized', 'signed with another certificate')
  }
  const device = v.deviceIntegrity?.deviceRecognitionVerdict
  if (!Array.isArray(device) || !device.includes(settings.deviceIntegrity)) return failed('device_integrity', `device: ${Array.isArray(device) && device.length ? device.join(', ') : 'no integrity'}`)
  if (settings.requireLicensed && v.accountDetails?.appLicensingVerdict !== 'LICENSED') return failed('unlicensed', `licensing: ${String(v.accountDetails?.appLicensingVerdict)}`)
  return verified(requested)
}
